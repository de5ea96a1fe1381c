-- Counters shared by every user (per product and day, per day) get one row per event
-- partition: each projector partition then writes only its own rows, so partitions never wait
-- on each other's row locks. Readers sum over `shard`. Rows written before this migration
-- become shard 0, which keeps every sum unchanged.
ALTER TABLE product_days ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE product_days DROP CONSTRAINT product_days_pkey,
    ADD PRIMARY KEY (product_id, day, shard);
ALTER TABLE product_days ALTER COLUMN shard DROP DEFAULT;

ALTER TABLE product_sales_days ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE product_sales_days DROP CONSTRAINT product_sales_days_pkey,
    ADD PRIMARY KEY (product_id, day, currency, shard);
ALTER TABLE product_sales_days ALTER COLUMN shard DROP DEFAULT;

ALTER TABLE business_days ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE business_days DROP CONSTRAINT business_days_pkey,
    ADD PRIMARY KEY (day, shard);
ALTER TABLE business_days ALTER COLUMN shard DROP DEFAULT;

ALTER TABLE sales_days ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE sales_days DROP CONSTRAINT sales_days_pkey,
    ADD PRIMARY KEY (day, currency, shard);
ALTER TABLE sales_days ALTER COLUMN shard DROP DEFAULT;
