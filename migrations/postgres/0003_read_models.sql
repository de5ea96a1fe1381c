-- Read models, folded from the log by the projector (projector/src). Every table belongs to one
-- projection, which `salesbot rebuild` can rebuild alone. Times are microseconds since the Unix
-- epoch; `day` is the calendar day in REPORT_TIMEZONE; money is integer minor units, kept apart
-- per currency. User-level rows are deleted when a user is erased; aggregates stay.

-- How far each projection has applied each partition's events (exactly-once: a batch and these
-- rows commit together; `stream_seq` is where the partition's JetStream consumer resumes).
CREATE TABLE projection_checkpoints (
    projection text    NOT NULL,
    partition  integer NOT NULL,
    position   bigint  NOT NULL,
    stream_seq bigint  NOT NULL DEFAULT 0,
    updated_us bigint  NOT NULL,
    PRIMARY KEY (projection, partition)
);

-- Which worker owns a partition, and when it last said so (a dead worker goes stale).
CREATE TABLE projector_heartbeats (
    partition     integer PRIMARY KEY,
    worker        text    NOT NULL,
    heartbeat_us  bigint  NOT NULL,
    caught_up_to  bigint  NOT NULL,
    pending       bigint  NOT NULL
);

-- Live projector workers (each heartbeats; partitions are shared out among the live ones).
CREATE TABLE projector_workers (
    worker        text    PRIMARY KEY,
    heartbeat_us  bigint  NOT NULL
);

-- What the read models were built with; a change needs `salesbot rebuild`.
CREATE TABLE projection_settings (
    name  text PRIMARY KEY,
    value text NOT NULL
);

-- funnel: per user and day, the first time each stage was reached that day.
CREATE TABLE funnel_user_days (
    user_id         text    NOT NULL,
    day             date    NOT NULL,
    first_message_us  bigint,
    first_view_us     bigint,
    first_consider_us bigint,
    first_intent_us   bigint,
    first_order_us    bigint,
    PRIMARY KEY (user_id, day)
);
CREATE INDEX funnel_user_days_day ON funnel_user_days (day);

-- funnel: value of purchase intents and orders per user, day and currency.
CREATE TABLE funnel_value_days (
    user_id            text   NOT NULL,
    day                date   NOT NULL,
    currency           text   NOT NULL,
    intent_value_minor bigint NOT NULL,
    order_value_minor  bigint NOT NULL,
    PRIMARY KEY (user_id, day, currency)
);
CREATE INDEX funnel_value_days_day ON funnel_value_days (day);

-- products: event counts per product and day.
CREATE TABLE product_days (
    product_id      text   NOT NULL,
    day             date   NOT NULL,
    views           bigint NOT NULL,
    price_inquiries bigint NOT NULL,
    spec_requests   bigint NOT NULL,
    purchase_intents bigint NOT NULL,
    PRIMARY KEY (product_id, day)
);
CREATE INDEX product_days_day ON product_days (day);

-- products: orders, units and revenue per product, day and currency.
CREATE TABLE product_sales_days (
    product_id    text   NOT NULL,
    day           date   NOT NULL,
    currency      text   NOT NULL,
    orders        bigint NOT NULL,
    units         bigint NOT NULL,
    revenue_minor bigint NOT NULL,
    PRIMARY KEY (product_id, day, currency)
);
CREATE INDEX product_sales_days_day ON product_sales_days (day);

-- products: which users viewed or meant to buy a product on a day (interest-to-action %).
CREATE TABLE product_user_days (
    product_id text    NOT NULL,
    day        date    NOT NULL,
    user_id    text    NOT NULL,
    viewed     integer NOT NULL,
    intended   integer NOT NULL,
    PRIMARY KEY (product_id, day, user_id)
);
CREATE INDEX product_user_days_day ON product_user_days (day);

-- users: one row per user.
CREATE TABLE users (
    user_id          text    PRIMARY KEY,
    channel          text    NOT NULL,
    username         text,
    display_name     text,
    first_seen_us    bigint  NOT NULL,
    last_seen_us     bigint  NOT NULL,
    first_seen_day   date    NOT NULL,
    messages         bigint  NOT NULL,
    sessions         bigint  NOT NULL,
    product_views    bigint  NOT NULL,
    stage            integer NOT NULL,
    budget_minor     bigint,
    budget_currency  text,
    category         text,
    orders           bigint  NOT NULL,
    last_position    bigint  NOT NULL
);
CREATE INDEX users_last_seen ON users (last_seen_us);
CREATE INDEX users_first_seen_day ON users (first_seen_day);

-- users: per user and product (favourites, distinct products viewed).
CREATE TABLE user_products (
    user_id    text   NOT NULL,
    product_id text   NOT NULL,
    views      bigint NOT NULL,
    intents    bigint NOT NULL,
    units      bigint NOT NULL,
    PRIMARY KEY (user_id, product_id)
);

-- users: orders and revenue per user and currency.
CREATE TABLE user_sales (
    user_id       text   NOT NULL,
    currency      text   NOT NULL,
    orders        bigint NOT NULL,
    revenue_minor bigint NOT NULL,
    PRIMARY KEY (user_id, currency)
);

-- conversations: every message in and reply out, per user.
CREATE TABLE conversation_messages (
    user_id         text    NOT NULL,
    global_position bigint  NOT NULL,
    occurred_us     bigint  NOT NULL,
    direction       text    NOT NULL,
    text            text,
    intent          text,
    sentiment       text,
    product_id      text,
    PRIMARY KEY (user_id, global_position)
);

-- business: per day counters.
CREATE TABLE business_days (
    day      date   PRIMARY KEY,
    messages bigint NOT NULL,
    sessions bigint NOT NULL,
    replies  bigint NOT NULL
);

-- business: orders and revenue per day and currency.
CREATE TABLE sales_days (
    day           date   NOT NULL,
    currency      text   NOT NULL,
    orders        bigint NOT NULL,
    revenue_minor bigint NOT NULL,
    PRIMARY KEY (day, currency)
);
