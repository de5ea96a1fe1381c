-- Read models, folded from the log by the projector (projector/src). Every table belongs to one
-- projection, which `salesbot rebuild` can rebuild alone. Times are microseconds since the Unix
-- epoch; `day` is the calendar day in REPORT_TIMEZONE (TEXT, YYYY-MM-DD, here); money is integer minor units, kept apart
-- per currency. User-level rows are deleted when a user is erased; aggregates stay.

-- How far each projection has applied each partition's events (exactly-once: a batch and these
-- rows commit together; `stream_seq` is where the partition's JetStream consumer resumes).
CREATE TABLE projection_checkpoints (
    projection TEXT    NOT NULL,
    partition  INTEGER NOT NULL,
    position   INTEGER  NOT NULL,
    stream_seq INTEGER  NOT NULL DEFAULT 0,
    updated_us INTEGER  NOT NULL,
    PRIMARY KEY (projection, partition)
);

-- Which worker owns a partition, and when it last said so (a dead worker goes stale).
CREATE TABLE projector_heartbeats (
    partition     INTEGER PRIMARY KEY,
    worker        TEXT    NOT NULL,
    heartbeat_us  INTEGER  NOT NULL,
    caught_up_to  INTEGER  NOT NULL,
    pending       INTEGER  NOT NULL
);

-- Live projector workers (each heartbeats; partitions are shared out among the live ones).
CREATE TABLE projector_workers (
    worker        TEXT    PRIMARY KEY,
    heartbeat_us  INTEGER  NOT NULL
);

-- What the read models were built with; a change needs `salesbot rebuild`.
CREATE TABLE projection_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- funnel: per user and day, the first time each stage was reached that day.
CREATE TABLE funnel_user_days (
    user_id         TEXT    NOT NULL,
    day             TEXT    NOT NULL,
    first_message_us  INTEGER,
    first_view_us     INTEGER,
    first_consider_us INTEGER,
    first_intent_us   INTEGER,
    first_order_us    INTEGER,
    PRIMARY KEY (user_id, day)
);
CREATE INDEX funnel_user_days_day ON funnel_user_days (day);

-- funnel: value of purchase intents and orders per user, day and currency.
CREATE TABLE funnel_value_days (
    user_id            TEXT   NOT NULL,
    day                TEXT   NOT NULL,
    currency           TEXT   NOT NULL,
    intent_value_minor INTEGER NOT NULL,
    order_value_minor  INTEGER NOT NULL,
    PRIMARY KEY (user_id, day, currency)
);
CREATE INDEX funnel_value_days_day ON funnel_value_days (day);

-- products: event counts per product and day.
CREATE TABLE product_days (
    product_id      TEXT   NOT NULL,
    day             TEXT   NOT NULL,
    views           INTEGER NOT NULL,
    price_inquiries INTEGER NOT NULL,
    spec_requests   INTEGER NOT NULL,
    purchase_intents INTEGER NOT NULL,
    PRIMARY KEY (product_id, day)
);
CREATE INDEX product_days_day ON product_days (day);

-- products: orders, units and revenue per product, day and currency.
CREATE TABLE product_sales_days (
    product_id    TEXT   NOT NULL,
    day           TEXT   NOT NULL,
    currency      TEXT   NOT NULL,
    orders        INTEGER NOT NULL,
    units         INTEGER NOT NULL,
    revenue_minor INTEGER NOT NULL,
    PRIMARY KEY (product_id, day, currency)
);
CREATE INDEX product_sales_days_day ON product_sales_days (day);

-- products: which users viewed or meant to buy a product on a day (interest-to-action %).
CREATE TABLE product_user_days (
    product_id TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    viewed     INTEGER NOT NULL,
    intended   INTEGER NOT NULL,
    PRIMARY KEY (product_id, day, user_id)
);
CREATE INDEX product_user_days_day ON product_user_days (day);

-- users: one row per user.
CREATE TABLE users (
    user_id          TEXT    PRIMARY KEY,
    channel          TEXT    NOT NULL,
    username         TEXT,
    display_name     TEXT,
    first_seen_us    INTEGER  NOT NULL,
    last_seen_us     INTEGER  NOT NULL,
    first_seen_day   TEXT    NOT NULL,
    messages         INTEGER  NOT NULL,
    sessions         INTEGER  NOT NULL,
    product_views    INTEGER  NOT NULL,
    stage            INTEGER NOT NULL,
    budget_minor     INTEGER,
    budget_currency  TEXT,
    category         TEXT,
    orders           INTEGER  NOT NULL,
    last_position    INTEGER  NOT NULL
);
CREATE INDEX users_last_seen ON users (last_seen_us);
CREATE INDEX users_first_seen_day ON users (first_seen_day);

-- users: per user and product (favourites, distinct products viewed).
CREATE TABLE user_products (
    user_id    TEXT   NOT NULL,
    product_id TEXT   NOT NULL,
    views      INTEGER NOT NULL,
    intents    INTEGER NOT NULL,
    units      INTEGER NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

-- users: orders and revenue per user and currency.
CREATE TABLE user_sales (
    user_id       TEXT   NOT NULL,
    currency      TEXT   NOT NULL,
    orders        INTEGER NOT NULL,
    revenue_minor INTEGER NOT NULL,
    PRIMARY KEY (user_id, currency)
);

-- conversations: every message in and reply out, per user.
CREATE TABLE conversation_messages (
    user_id         TEXT    NOT NULL,
    global_position INTEGER  NOT NULL,
    occurred_us     INTEGER  NOT NULL,
    direction       TEXT    NOT NULL,
    text            TEXT,
    intent          TEXT,
    sentiment       TEXT,
    product_id      TEXT,
    PRIMARY KEY (user_id, global_position)
);

-- business: per day counters.
CREATE TABLE business_days (
    day      TEXT   PRIMARY KEY,
    messages INTEGER NOT NULL,
    sessions INTEGER NOT NULL,
    replies  INTEGER NOT NULL
);

-- business: orders and revenue per day and currency.
CREATE TABLE sales_days (
    day           TEXT   NOT NULL,
    currency      TEXT   NOT NULL,
    orders        INTEGER NOT NULL,
    revenue_minor INTEGER NOT NULL,
    PRIMARY KEY (day, currency)
);
