-- What is wrong with a partition, as its worker reports it with each heartbeat (issue 15):
-- `stream_gap` while the stream lacks events the store holds (they are applied from the store),
-- `interrupted` while the worker cannot follow the stream. NULL when all is well. `/admin/health`
-- and `salesbot check` report a partition with a fault as degraded (docs/architecture.md,
-- "Projecting").
ALTER TABLE projector_heartbeats ADD COLUMN fault TEXT;
