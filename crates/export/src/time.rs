//! Times as the table keeps them: microseconds since the Unix epoch, UTC.
//! Civil dates by Howard Hinnant's `days_from_civil` / `civil_from_days`
//! (proleptic Gregorian), so that no date library is needed.

use std::fmt;

/// Microseconds in a day.
const DAY_US: i64 = 86_400_000_000;
/// The first microsecond past 9999-12-31: later times are not dates that
/// a partition name or an engine's timestamp can hold.
const END_US: i64 = 253_402_300_800_000_000;

/// Why a `--since`/`--until` value is not a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeError {
    input: String,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a time: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS[.frac]] with Z or ±HH:MM",
            self.input
        )
    }
}

impl std::error::Error for TimeError {}

/// Milliseconds since the epoch (a transcript's `started_unix_ms`) as
/// microseconds, if they fall before the year 10000.
pub fn unix_ms_to_us(ms: u64) -> Option<i64> {
    i64::try_from(ms).ok()?.checked_mul(1000).filter(|us| *us < END_US)
}

/// Parses `YYYY-MM-DD` (midnight UTC) or an RFC 3339 time
/// (`2026-05-01T12:30:00Z`, `2026-05-01 12:30:00.5+02:00`; seconds and
/// fraction optional) into microseconds since the epoch.
pub fn parse_time(input: &str) -> Result<i64, TimeError> {
    parse(input.trim())
        .filter(|us| (0..END_US).contains(us))
        .ok_or_else(|| TimeError { input: input.to_owned() })
}

fn parse(s: &str) -> Option<i64> {
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let sep = |at: usize, any: &[u8]| s.as_bytes().get(at).is_some_and(|b| any.contains(b));
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    if !sep(4, b"-") || !sep(7, b"-") || !(1..=12).contains(&month) {
        return None;
    }
    if day < 1 || day > days_in_month(year, month as u32) {
        return None;
    }
    let date_us = days_from_civil(year, month as u32, day as u32) * DAY_US;
    if s.len() == 10 {
        return Some(date_us);
    }
    if !sep(10, b"Tt ") || !sep(13, b":") {
        return None;
    }
    let (hour, minute) = (digits(11, 2)?, digits(14, 2)?);
    let mut at = 16;
    let mut second = 0;
    let mut micros = 0;
    if sep(at, b":") {
        second = digits(at + 1, 2)?;
        at += 3;
        if sep(at, b".,") {
            at += 1;
            let frac: String = s[at..].chars().take_while(char::is_ascii_digit).collect();
            if frac.is_empty() {
                return None;
            }
            at += frac.len();
            let six: String = frac.chars().chain(std::iter::repeat('0')).take(6).collect();
            micros = six.parse().ok()?;
        }
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let offset_s = match s.get(at..)? {
        "Z" | "z" => 0,
        rest if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
            let (h, m) = (digits(at + 1, 2)?, digits(at + 4, 2)?);
            if !sep(at + 3, b":") || h > 23 || m > 59 {
                return None;
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return None,
    };
    let seconds = hour * 3600 + minute * 60 + second - offset_s;
    Some(date_us + seconds * 1_000_000 + micros)
}

fn days_in_month(year: i64, month: u32) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `YYYY-MM-DD` of a time (UTC): the name of its partition.
pub fn date(us: i64) -> String {
    let (y, m, d) = civil_from_days(us.div_euclid(DAY_US));
    format!("{y:04}-{m:02}-{d:02}")
}

/// RFC 3339 with microseconds: `2026-05-01T12:30:00.000000Z`.
pub fn rfc3339(us: i64) -> String {
    let in_day = us.rem_euclid(DAY_US);
    let (s, micros) = (in_day / 1_000_000, in_day % 1_000_000);
    format!("{}T{:02}:{:02}:{:02}.{micros:06}Z", date(us), s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected values computed by hand (and with `date -u -d @…`).
    #[test]
    fn dates_and_times_round_trip() {
        assert_eq!(date(0), "1970-01-01");
        // 2000-02-29 is day 11016 (leap day of a leap century).
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(date(11_016 * DAY_US), "2000-02-29");
        assert_eq!(date(-1), "1969-12-31");
        // 1_777_637_400 s = 2026-05-01T12:10:00Z.
        assert_eq!(rfc3339(1_777_637_400_000_000 + 42), "2026-05-01T12:10:00.000042Z");
        for days in [-719_468, -1, 0, 59, 60, 365, 10_957, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn parses_dates_and_rfc3339_times() {
        let day = 1_777_593_600_000_000; // 2026-05-01T00:00:00Z
        assert_eq!(parse_time("2026-05-01"), Ok(day));
        assert_eq!(parse_time("2026-05-01T12:10Z"), Ok(day + 43_800_000_000));
        assert_eq!(parse_time("2026-05-01T12:10:00Z"), Ok(day + 43_800_000_000));
        assert_eq!(parse_time("2026-05-01 12:10:00.5Z"), Ok(day + 43_800_500_000));
        assert_eq!(parse_time("2026-05-01T14:10:00.000001+02:00"), Ok(day + 43_800_000_001));
        assert_eq!(parse_time("2026-05-01T00:00:00-00:30"), Ok(day + 1_800_000_000));
        for bad in [
            "",
            "2026-5-1",
            "2026-02-29",
            "2026-13-01",
            "2026-05-01T",
            "2026-05-01T25:00Z",
            "2026-05-01T12:00",
            "2026-05-01T12:00:00.Z",
            "2026-05-01T12:00+2",
            "1969-12-31",
            "10000-01-01",
            "２０２６-05-01",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn milliseconds_past_year_9999_are_no_time() {
        assert_eq!(unix_ms_to_us(1_000), Some(1_000_000));
        assert_eq!(unix_ms_to_us(253_402_300_800_000), None);
        assert_eq!(unix_ms_to_us(u64::MAX), None);
    }
}
