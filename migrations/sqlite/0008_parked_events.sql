-- Events the projector could not decode (a newer release wrote them, their key row is
-- missing, they are damaged), and the events of the same stream after them, parked rather than
-- retried forever or skipped (issue 15). The checkpoint moves past them; they are applied, in
-- order, once they decode, and the row goes in the same transaction. `/admin/health` answers
-- 503 naming the partition while any is here; `salesbot check` and `GET /admin/parked-events`
-- show them with the reason (docs/architecture.md, "Parked events").
CREATE TABLE parked_events (
    global_position INTEGER PRIMARY KEY,
    partition       INTEGER NOT NULL,
    stream_id       TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    -- The projections that had not applied the event when it was parked (comma-separated).
    projections     TEXT NOT NULL,
    reason          TEXT NOT NULL,
    parked_us       INTEGER NOT NULL
);
CREATE INDEX parked_events_partition ON parked_events (partition, global_position);

-- When each partition's caught_up_to last moved: a partition whose worker heartbeats but
-- makes no progress while events wait is stalled too.
ALTER TABLE projector_heartbeats ADD COLUMN moved_us INTEGER NOT NULL DEFAULT 0;
