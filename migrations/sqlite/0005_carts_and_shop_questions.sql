-- Carts and shop questions (issue 13; `day` is TEXT, YYYY-MM-DD, here), read by `/admin/analytics/carts` and
-- `/admin/analytics/shop-questions` (docs/metrics.md, "Carts" and "Shop questions"). Two new
-- projections, `carts` and `questions`: their checkpoints start at 0, so the projector folds the
-- whole log into them once after this migration (or `salesbot rebuild carts questions`).

-- carts: each user's cart and session as of their latest event, which the next batch folds on
-- from. `lines` is a JSON array of {product_id, quantity, unit_price_minor, currency}.
CREATE TABLE cart_users (
    user_id          TEXT    PRIMARY KEY,
    session_start_us INTEGER,
    last_activity_us INTEGER  NOT NULL,
    carted           INTEGER NOT NULL,
    ordered          INTEGER NOT NULL,
    lines            TEXT    NOT NULL
);

-- carts: one row per session in which the shopper put something in the cart, as of the
-- session's latest event; `ended_us` is when the user's next session started (an open session
-- also ends 30 minutes after `last_activity_us`). `items` and `lines` are the cart then.
CREATE TABLE cart_sessions (
    user_id          TEXT    NOT NULL,
    started_us       INTEGER  NOT NULL,
    day              TEXT    NOT NULL,
    last_activity_us INTEGER  NOT NULL,
    ordered          INTEGER NOT NULL,
    ended_us         INTEGER,
    items            INTEGER  NOT NULL,
    lines            TEXT    NOT NULL,
    PRIMARY KEY (user_id, started_us)
);
CREATE INDEX cart_sessions_day ON cart_sessions (day);

-- questions: ShopQuestionAsked per topic and day, one row per event partition (`shard`, as in
-- 0004): readers sum over it.
CREATE TABLE shop_question_days (
    topic     TEXT     NOT NULL,
    day       TEXT     NOT NULL,
    shard     INTEGER NOT NULL,
    questions INTEGER   NOT NULL,
    PRIMARY KEY (topic, day, shard)
);
CREATE INDEX shop_question_days_day ON shop_question_days (day);

-- questions: when each user first asked a shop question.
CREATE TABLE shop_question_users (
    user_id        TEXT   PRIMARY KEY,
    first_asked_us INTEGER NOT NULL
);
