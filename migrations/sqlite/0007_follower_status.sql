-- The status of each leased follower of the log (the Telegram outbox sender); see the Postgres
-- migration of the same number.
CREATE TABLE follower_status (
    follower         TEXT    PRIMARY KEY,
    instance         TEXT    NOT NULL,
    epoch            INTEGER NOT NULL,
    state            TEXT    NOT NULL,
    error            TEXT,
    failing_since_us INTEGER,
    since_us         INTEGER NOT NULL,
    updated_us       INTEGER NOT NULL
);
