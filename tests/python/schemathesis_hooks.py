"""Schemathesis hooks for the salesbot admin API (loaded with SCHEMATHESIS_HOOKS).

OpenAPI 3.0 cannot say how parameters depend on each other, so the spec says it in words
(in the descriptions of `days`, `from` and `to`) and this hook says it to the generator: a
request schemathesis generates as valid is brought within those rules, and only those,
before it is sent. Requests generated as invalid are sent as they are.

The period rules (query-api/src/period.rs):
- `days`, or `from`/`to`, not both; `to` needs a `from`, and `from` alone runs to today;
- `from` is not after `to`, and a period is at most 3660 days;
- the period and the one of the same length before it lie between 0001-01-01 and 9999-12-31,
  days taken in REPORT_TIMEZONE (UTC for the harness: tests/spec_conformance.rs).
"""

import datetime as dt

import schemathesis

PERIOD_PATHS = {
    "/admin/dashboard",
    "/admin/analytics/conversion",
    "/admin/analytics/funnel",
    "/admin/analytics/products",
    "/admin/analytics/carts",
    "/admin/analytics/shop-questions",
}
MAX_DAYS = 3660
FIRST_DAY = dt.date(1, 1, 1)
LAST_DAY = dt.date(9999, 12, 31)
# A period that keeps every rule, for generated values that cannot be mended.
SAFE_DAY = dt.date(2000, 1, 1)


def report_day(value):
    """The UTC day of a date or date-time, or None when it is outside years 1-9999."""
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value)
        at = dt.datetime.fromisoformat(value.replace("z", "Z"))
        return (at.replace(tzinfo=None) - at.utcoffset()).date()
    except (ValueError, OverflowError, TypeError):
        return None


def within_rules(query, today):
    """`query` changed as little as it takes to keep the period rules."""
    if query.get("days") is not None and (
        query.get("from") is not None or query.get("to") is not None
    ):
        del query["days"]
    if query.get("from") is None:
        query.pop("to", None)
        return query
    start = report_day(query["from"])
    end = report_day(query["to"]) if query.get("to") is not None else today
    if start is None or end is None:
        start = end = SAFE_DAY
    if start > end:
        start, end = end, start
    if (end - start).days + 1 > MAX_DAYS:
        end = start + dt.timedelta(days=MAX_DAYS - 1)
    length = (end - start).days + 1
    if (start - FIRST_DAY).days < length or end > LAST_DAY:
        start = end = SAFE_DAY
    if (start, end) != (report_day(query["from"]), report_day(query.get("to") or today.isoformat())):
        query["from"], query["to"] = start.isoformat(), end.isoformat()
    return query


@schemathesis.hook
def map_case(ctx, case):
    meta = case.meta
    if (
        case.operation.path in PERIOD_PATHS
        and meta is not None
        and meta.generation.mode.is_positive
        and case.query
    ):
        today = dt.datetime.now(dt.timezone.utc).date()
        case.query = within_rules(dict(case.query), today)
    return case
