-- The event log: one row per event, in global order. Never updated, never deleted (except by
-- `salesbot reset`). Personal payload fields live sealed in `personal`, under `key_id`.
-- SQLite has one writer, so positions commit in order.
CREATE TABLE events (
    global_position INTEGER PRIMARY KEY,
    event_id        BLOB    NOT NULL UNIQUE,
    stream_id       TEXT    NOT NULL,
    stream_version  INTEGER NOT NULL CHECK (stream_version > 0),
    event_type      TEXT    NOT NULL,
    schema_version  INTEGER NOT NULL,
    occurred_at     TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL,
    correlation_id  BLOB    NOT NULL,
    causation_id    BLOB,
    payload         TEXT    NOT NULL,
    key_id          BLOB,
    personal        BLOB,
    UNIQUE (stream_id, stream_version)
);

CREATE TABLE log_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT INTO log_head (id, position) VALUES (1, 0);

CREATE TABLE user_keys (
    key_id       BLOB PRIMARY KEY,
    user_id      TEXT NOT NULL,
    wrapped_key  BLOB,
    created_at   TEXT NOT NULL,
    destroyed_at TEXT
);
CREATE UNIQUE INDEX user_keys_live_user ON user_keys (user_id) WHERE wrapped_key IS NOT NULL;

CREATE TABLE snapshots (
    stream_id      TEXT    PRIMARY KEY,
    stream_version INTEGER NOT NULL,
    key_id         BLOB,
    state          BLOB    NOT NULL,
    updated_at     TEXT    NOT NULL
);

CREATE TABLE store_settings (
    name  TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
