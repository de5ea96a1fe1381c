-- The event log: one row per event, in global order. Never updated, never deleted (except by
-- `salesbot reset`). Personal payload fields live sealed in `personal`, under `key_id`.
CREATE TABLE events (
    global_position bigint      PRIMARY KEY,
    event_id        uuid        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    recorded_at     timestamptz NOT NULL,
    correlation_id  uuid        NOT NULL,
    causation_id    uuid,
    payload         jsonb       NOT NULL,
    key_id          uuid,
    personal        bytea,
    CONSTRAINT events_event_id_key UNIQUE (event_id),
    CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

-- The last global position handed out. Its row lock serialises appends so that positions
-- commit in order (docs/decisions/0001-global-order.md).
CREATE TABLE log_head (
    id       boolean PRIMARY KEY DEFAULT true CHECK (id),
    position bigint  NOT NULL
);
INSERT INTO log_head (id, position) VALUES (true, 0);

-- Per-user data keys, wrapped by the master key. Erasing a user sets wrapped_key to NULL.
CREATE TABLE user_keys (
    key_id       uuid        PRIMARY KEY,
    user_id      text        NOT NULL,
    wrapped_key  bytea,
    created_at   timestamptz NOT NULL,
    destroyed_at timestamptz
);
CREATE UNIQUE INDEX user_keys_live_user ON user_keys (user_id) WHERE wrapped_key IS NOT NULL;

-- The latest folded state of a stream, sealed with the user's key.
CREATE TABLE snapshots (
    stream_id      text        PRIMARY KEY,
    stream_version bigint      NOT NULL,
    key_id         uuid,
    state          bytea       NOT NULL,
    updated_at     timestamptz NOT NULL
);

-- Small facts about this database, e.g. a value sealed with the master key to recognise it.
CREATE TABLE store_settings (
    name  text  PRIMARY KEY,
    value bytea NOT NULL
);
