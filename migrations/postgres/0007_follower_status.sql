-- The status of each leased follower of the log (the Telegram outbox sender): which instance
-- holds its lease under which epoch, whether it is failing and since when. Written only by the
-- holder, guarded by its epoch; read by `salesbot check` and by the next holder, which waits
-- out a previous holder's last send unless that one released the lease cleanly.
CREATE TABLE follower_status (
    follower         text    PRIMARY KEY,
    instance         text    NOT NULL,
    epoch            bigint  NOT NULL,
    state            text    NOT NULL,
    error            text,
    failing_since_us bigint,
    since_us         bigint  NOT NULL,
    updated_us       bigint  NOT NULL
);
