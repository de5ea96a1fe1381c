-- Carts and shop questions (issue 13), read by `/admin/analytics/carts` and
-- `/admin/analytics/shop-questions` (docs/metrics.md, "Carts" and "Shop questions"). Two new
-- projections, `carts` and `questions`: their checkpoints start at 0, so the projector folds the
-- whole log into them once after this migration (or `salesbot rebuild carts questions`).

-- carts: each user's cart and session as of their latest event, which the next batch folds on
-- from. `lines` is a JSON array of {product_id, quantity, unit_price_minor, currency}.
CREATE TABLE cart_users (
    user_id          text    PRIMARY KEY,
    session_start_us bigint,
    last_activity_us bigint  NOT NULL,
    carted           integer NOT NULL,
    ordered          integer NOT NULL,
    lines            text    NOT NULL
);

-- carts: one row per session in which the shopper put something in the cart, as of the
-- session's latest event; `ended_us` is when the user's next session started (an open session
-- also ends 30 minutes after `last_activity_us`). `items` and `lines` are the cart then.
CREATE TABLE cart_sessions (
    user_id          text    NOT NULL,
    started_us       bigint  NOT NULL,
    day              date    NOT NULL,
    last_activity_us bigint  NOT NULL,
    ordered          integer NOT NULL,
    ended_us         bigint,
    items            bigint  NOT NULL,
    lines            text    NOT NULL,
    PRIMARY KEY (user_id, started_us)
);
CREATE INDEX cart_sessions_day ON cart_sessions (day);

-- questions: ShopQuestionAsked per topic and day, one row per event partition (`shard`, as in
-- 0004): readers sum over it.
CREATE TABLE shop_question_days (
    topic     text     NOT NULL,
    day       date     NOT NULL,
    shard     smallint NOT NULL,
    questions bigint   NOT NULL,
    PRIMARY KEY (topic, day, shard)
);
CREATE INDEX shop_question_days_day ON shop_question_days (day);

-- questions: when each user first asked a shop question.
CREATE TABLE shop_question_users (
    user_id        text   PRIMARY KEY,
    first_asked_us bigint NOT NULL
);
