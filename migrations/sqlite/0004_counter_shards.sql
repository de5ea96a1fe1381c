-- Counters shared by every user (per product and day, per day) get one row per event
-- partition, as on Postgres (see there). SQLite cannot change a primary key in place, so each
-- table is copied into its new shape; existing rows become shard 0.
CREATE TABLE product_days_new (
    product_id       TEXT    NOT NULL,
    day              TEXT    NOT NULL,
    views            INTEGER NOT NULL,
    price_inquiries  INTEGER NOT NULL,
    spec_requests    INTEGER NOT NULL,
    purchase_intents INTEGER NOT NULL,
    shard            INTEGER NOT NULL,
    PRIMARY KEY (product_id, day, shard)
);
INSERT INTO product_days_new
    SELECT product_id, day, views, price_inquiries, spec_requests, purchase_intents, 0
    FROM product_days;
DROP TABLE product_days;
ALTER TABLE product_days_new RENAME TO product_days;
CREATE INDEX product_days_day ON product_days (day);

CREATE TABLE product_sales_days_new (
    product_id    TEXT    NOT NULL,
    day           TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    orders        INTEGER NOT NULL,
    units         INTEGER NOT NULL,
    revenue_minor INTEGER NOT NULL,
    shard         INTEGER NOT NULL,
    PRIMARY KEY (product_id, day, currency, shard)
);
INSERT INTO product_sales_days_new
    SELECT product_id, day, currency, orders, units, revenue_minor, 0 FROM product_sales_days;
DROP TABLE product_sales_days;
ALTER TABLE product_sales_days_new RENAME TO product_sales_days;
CREATE INDEX product_sales_days_day ON product_sales_days (day);

CREATE TABLE business_days_new (
    day      TEXT    NOT NULL,
    messages INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    replies  INTEGER NOT NULL,
    shard    INTEGER NOT NULL,
    PRIMARY KEY (day, shard)
);
INSERT INTO business_days_new SELECT day, messages, sessions, replies, 0 FROM business_days;
DROP TABLE business_days;
ALTER TABLE business_days_new RENAME TO business_days;

CREATE TABLE sales_days_new (
    day           TEXT    NOT NULL,
    currency      TEXT    NOT NULL,
    orders        INTEGER NOT NULL,
    revenue_minor INTEGER NOT NULL,
    shard         INTEGER NOT NULL,
    PRIMARY KEY (day, currency, shard)
);
INSERT INTO sales_days_new SELECT day, currency, orders, revenue_minor, 0 FROM sales_days;
DROP TABLE sales_days;
ALTER TABLE sales_days_new RENAME TO sales_days;
