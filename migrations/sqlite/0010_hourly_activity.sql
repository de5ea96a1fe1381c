-- hourly (`day` is TEXT, YYYY-MM-DD, here): each user's messages per hour (issue 16, part 6), read by `/admin/analytics/hourly`
-- (docs/metrics.md, "Hourly activity"; docs/projections.md walks through how this projection
-- was added). `hour_us` is the start of the hour in REPORT_TIMEZONE, as a UTC instant in
-- microseconds; `day` is that hour's calendar day there, for the period filter. One row per
-- user and hour with at least one MessageReceived: active users of an hour are its rows,
-- messages their sum.
--
-- A new projection: this migration creates its table empty and gives it no checkpoints. The
-- projector leaves it alone until `salesbot rebuild hourly` has filled it from the log and
-- given it checkpoints (on a database with no checkpoints at all, a first start, it is
-- projected from the start like every other).
CREATE TABLE hourly_activity (
    user_id  TEXT    NOT NULL,
    hour_us  INTEGER NOT NULL,
    day      TEXT    NOT NULL,
    messages INTEGER NOT NULL,
    PRIMARY KEY (user_id, hour_us)
);
CREATE INDEX hourly_activity_day ON hourly_activity (day);
