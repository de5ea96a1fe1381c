//! Report periods: `days=7|14|30|90`, or `from`/`to` (ISO 8601), as whole days in
//! `REPORT_TIMEZONE`, and the period of the same length just before (for changes).

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::ApiError;

/// The lengths `days=` accepts.
pub const DAY_CHOICES: [i64; 4] = [7, 14, 30, 90];
/// Without `days`, `from` or `to`.
pub const DEFAULT_DAYS: i64 = 30;
/// The longest `from`/`to` range (ten years).
pub const MAX_DAYS: i64 = 3_660;
/// The first and last day a period (and the one before it) may cover: the years RFC 3339 dates
/// can be written in and common date types hold, so every date the API answers with is one a
/// client can parse.
pub const FIRST_DAY: NaiveDate = NaiveDate::from_ymd_opt(1, 1, 1).expect("a valid date");
pub const LAST_DAY: NaiveDate = NaiveDate::from_ymd_opt(9999, 12, 31).expect("a valid date");

/// Whole days `from..=to` in the report time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Period {
    /// From the query parameters, `today` being the current day in the report time zone.
    pub fn parse(
        days: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        tz: Tz,
        now: DateTime<Utc>,
    ) -> Result<Period, ApiError> {
        let today = now.with_timezone(&tz).date_naive();
        match (days, from, to) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(ApiError::bad_request(
                "give either `days` or `from`/`to`, not both",
            )),
            (Some(days), None, None) => {
                let n: i64 = days
                    .parse()
                    .ok()
                    .filter(|n| DAY_CHOICES.contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "`days` must be one of 7, 14, 30 or 90 (got `{}`)",
                            clip(days)
                        ))
                    })?;
                Ok(Period::last(n, today))
            }
            (None, None, None) => Ok(Period::last(DEFAULT_DAYS, today)),
            (None, None, Some(_)) => Err(ApiError::bad_request("`to` needs a `from`")),
            (None, Some(from), to) => {
                let from = parse_day(from, "from", tz)?;
                let to = match to {
                    Some(to) => parse_day(to, "to", tz)?,
                    None => today,
                };
                if from > to {
                    return Err(ApiError::bad_request(format!(
                        "`from` ({from}) is after `to` ({to})"
                    )));
                }
                let period = Period { from, to };
                if period.days() > MAX_DAYS {
                    return Err(ApiError::bad_request(format!(
                        "a period is at most {MAX_DAYS} days (got {})",
                        period.days()
                    )));
                }
                if to > LAST_DAY || period.previous().from < FIRST_DAY {
                    return Err(ApiError::bad_request(format!(
                        "a period and the one of the same length before it lie between \
                         {FIRST_DAY} and {LAST_DAY} in {tz} (got {from} to {to})"
                    )));
                }
                Ok(period)
            }
        }
    }

    /// The `n` days ending with `today`.
    pub fn last(n: i64, today: NaiveDate) -> Period {
        Period {
            from: today - Duration::days(n - 1),
            to: today,
        }
    }

    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of the same length ending the day before this one starts. [`Period::parse`]
    /// keeps it after [`FIRST_DAY`]; at the very start of chrono's calendar it would stop there
    /// rather than panic.
    pub fn previous(&self) -> Period {
        let back = |day: NaiveDate, n: i64| {
            day.checked_sub_days(Days::new(n.unsigned_abs()))
                .unwrap_or(NaiveDate::MIN)
        };
        let to = back(self.from, 1);
        Period {
            from: back(to, self.days() - 1),
            to,
        }
    }

    /// Every day of the period, in order.
    pub fn each_day(&self) -> impl Iterator<Item = NaiveDate> {
        let from = self.from;
        (0..self.days()).map(move |i| from + Duration::days(i))
    }
}

/// A date (`2026-11-01`) or a date-time with an offset (`2026-11-01T09:30:00Z`), whose day in
/// the report time zone is taken: RFC 3339's `full-date` and `date-time`, as the spec's `date`
/// and `date-time` formats say, so years have exactly four digits (chrono alone would also take
/// `-262144-01-01`, whose previous period is before the start of its calendar).
fn parse_day(value: &str, name: &str, tz: Tz) -> Result<NaiveDate, ApiError> {
    if is_full_date(value)
        && let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d")
    {
        return Ok(day);
    }
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(at.with_timezone(&tz).date_naive());
    }
    Err(ApiError::bad_request(format!(
        "`{name}` must be an ISO 8601 date (2026-11-01) or date-time (2026-11-01T09:30:00Z), \
         got `{}`",
        clip(value)
    )))
}

/// `YYYY-MM-DD`, digits only.
fn is_full_date(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == 10
        && bytes.iter().enumerate().all(|(i, b)| match i {
            4 | 7 => *b == b'-',
            _ => b.is_ascii_digit(),
        })
}

/// At most 40 characters of a bad value, for an error message.
pub(crate) fn clip(value: &str) -> String {
    let mut clipped: String = value.chars().take(40).collect();
    if clipped.len() < value.len() {
        clipped.push('…');
    }
    clipped
}

/// The period as the API shows it.
pub fn period_info(period: Period, tz: Tz) -> crate::types::PeriodInfo {
    crate::types::PeriodInfo {
        from: period.from,
        to: period.to,
        days: period.days(),
        timezone: tz.name().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T03:00:00Z")
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("valid")
    }

    #[test]
    fn days_end_today_in_the_report_time_zone() {
        let p = Period::parse(Some("7"), None, None, chrono_tz::UTC, now()).expect("ok");
        assert_eq!((p.from, p.to), (day("2026-11-19"), day("2026-11-25")));
        // 03:00 UTC is still the 24th in New York.
        let ny =
            Period::parse(Some("7"), None, None, chrono_tz::America::New_York, now()).expect("ok");
        assert_eq!(ny.to, day("2026-11-24"));
        assert_eq!(
            ny.previous(),
            Period {
                from: day("2026-11-11"),
                to: day("2026-11-17")
            }
        );
        let default = Period::parse(None, None, None, chrono_tz::UTC, now()).expect("ok");
        assert_eq!(default.days(), 30);
    }

    #[test]
    fn from_and_to_take_dates_and_date_times() {
        let p = Period::parse(
            None,
            Some("2026-11-01"),
            Some("2026-11-02T01:00:00+02:00"),
            chrono_tz::UTC,
            now(),
        )
        .expect("ok");
        assert_eq!((p.from, p.to), (day("2026-11-01"), day("2026-11-01")));
        let open =
            Period::parse(None, Some("2026-11-20"), None, chrono_tz::UTC, now()).expect("ok");
        assert_eq!(open.to, day("2026-11-25"));
        assert_eq!(open.each_day().count(), 6);
    }

    #[test]
    fn bad_periods_are_refused_with_a_reason() {
        let bad = |d: Option<&str>, f: Option<&str>, t: Option<&str>| {
            Period::parse(d, f, t, chrono_tz::UTC, now())
                .expect_err("refused")
                .message
        };
        assert!(bad(Some("5"), None, None).contains("7, 14, 30 or 90"));
        assert!(bad(Some("x"), None, None).contains("7, 14, 30 or 90"));
        assert!(bad(Some("7"), Some("2026-11-01"), None).contains("not both"));
        assert!(bad(None, Some("2026-11-02"), Some("2026-11-01")).contains("after"));
        assert!(bad(None, Some("yesterday"), None).contains("ISO 8601"));
        assert!(bad(None, None, Some("2026-11-01")).contains("needs a `from`"));
        assert!(bad(None, Some("1900-01-01"), None).contains("at most"));
        assert!(bad(Some(&"9".repeat(10_000)), None, None).len() < 200);
        assert!(bad(Some(" 7"), None, None).contains("7, 14, 30 or 90"));
        for extreme in ["-262144-01-01", "+262143-12-31", "20260-01-01", "2026-1-01"] {
            assert!(
                bad(None, Some(extreme), Some(extreme)).contains("ISO 8601"),
                "{extreme}"
            );
        }
    }

    #[test]
    fn periods_and_their_previous_ones_stay_in_years_1_to_9999() {
        let first = Period::parse(
            None,
            Some("0001-01-10"),
            Some("0001-01-19T00:00:00+14:00"),
            chrono_tz::UTC,
            now(),
        )
        .expect("ok");
        assert_eq!(first.days(), 9);
        let previous = first.previous();
        assert_eq!((previous.from, previous.to), (FIRST_DAY, day("0001-01-09")));
        let bad = |f: &str, t: &str| {
            Period::parse(None, Some(f), Some(t), chrono_tz::UTC, now())
                .expect_err("refused")
                .message
        };
        assert!(bad("0001-01-09", "0001-01-17").contains("0001-01-01"));
        assert!(bad("0000-06-01", "0000-06-02").contains("0001-01-01"));
        assert!(
            bad("9999-12-31T23:00:00-01:00", "9999-12-31T23:00:00-01:00").contains("9999-12-31")
        );
        let edge = Period {
            from: NaiveDate::MIN,
            to: NaiveDate::MIN,
        };
        assert_eq!(edge.previous().to, NaiveDate::MIN);
    }
}
