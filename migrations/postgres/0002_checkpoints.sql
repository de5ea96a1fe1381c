-- How far a named follower of the log (e.g. the Telegram outbox sender) has got.
CREATE TABLE checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);
