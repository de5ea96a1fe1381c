//! Report periods: `days=7|14|30|90`, or `from`/`to` (ISO 8601), as whole days in
//! `REPORT_TIMEZONE`, and the period of the same length just before (for changes).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::error::ApiError;

/// The lengths `days=` accepts.
pub const DAY_CHOICES: [i64; 4] = [7, 14, 30, 90];
/// Without `days`, `from` or `to`.
pub const DEFAULT_DAYS: i64 = 30;
/// The longest `from`/`to` range (ten years).
pub const MAX_DAYS: i64 = 3_660;

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
                    .trim()
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

    /// The period of the same length ending the day before this one starts.
    pub fn previous(&self) -> Period {
        let to = self.from - Duration::days(1);
        Period {
            from: to - Duration::days(self.days() - 1),
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
/// the report time zone is taken.
fn parse_day(value: &str, name: &str, tz: Tz) -> Result<NaiveDate, ApiError> {
    let value = value.trim();
    if let Ok(day) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
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

/// At most 40 characters of a bad value, for an error message.
pub(crate) fn clip(value: &str) -> String {
    let mut clipped: String = value.chars().take(40).collect();
    if clipped.len() < value.len() {
        clipped.push('…');
    }
    clipped
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
    }
}
