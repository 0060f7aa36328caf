//! Timestamps (RFC 3339, kept as UTC) and durations, without a clock.

use std::fmt;

/// Longest duration a policy may write: 100,000 days.
pub const MAX_DURATION_SECONDS: i64 = 100_000 * 86_400;
/// Longest calendar duration a policy may write: 3,000 months (250 years).
pub const MAX_DURATION_MONTHS: i64 = 3_000;

/// A snapshot's duration, `7d`, `12h`, `30m` or `45s`, in seconds; `None`
/// when it is not one or is longer than [`MAX_DURATION_SECONDS`].
pub fn parse_duration(text: &str) -> Option<i64> {
    let (digits, unit) = text.split_at(text.len().saturating_sub(1));
    let per_unit = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return None,
    };
    digits
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .and_then(|n| n.checked_mul(per_unit))
        .filter(|s| *s <= MAX_DURATION_SECONDS)
}

/// An instant, in UTC, to the nanosecond.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    seconds: i64,
    nanos: u32,
}

impl Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub fn unix_seconds(self) -> i64 {
        self.seconds
    }

    /// The nanoseconds past [`Timestamp::unix_seconds`].
    pub fn nanos(self) -> u32 {
        self.nanos
    }

    /// The instant `seconds` (and `nanos`) after 1970-01-01T00:00:00Z, if it falls in years 0–9999.
    pub fn from_unix(seconds: i64, nanos: u32) -> Option<Timestamp> {
        let in_range = (MIN_SECONDS..=MAX_SECONDS).contains(&seconds);
        (nanos < 1_000_000_000 && in_range).then_some(Timestamp { seconds, nanos })
    }

    /// The instant `seconds` later (or earlier), if it stays in years 0–9999.
    pub fn add_seconds(self, seconds: i64) -> Option<Timestamp> {
        Timestamp::from_unix(self.seconds.checked_add(seconds)?, self.nanos)
    }

    /// The instant `months` calendar months later (or earlier): the same
    /// day of the month and time of day, or the month's last day when it is
    /// shorter (a month after 31 January is the end of February), if it
    /// stays in years 0–9999.
    pub fn add_months(self, months: i64) -> Option<Timestamp> {
        let days = self.seconds.div_euclid(86_400);
        let time_of_day = self.seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        let index = (y.checked_mul(12)?)
            .checked_add(m - 1)?
            .checked_add(months)?;
        let (year, month) = (index.div_euclid(12), index.rem_euclid(12) + 1);
        if !(0..=9999).contains(&year) {
            return None;
        }
        let day = d.min(days_in_month(year, month));
        let seconds = days_from_civil(year, month, day) * 86_400 + time_of_day;
        Timestamp::from_unix(seconds, self.nanos)
    }

    /// Whole seconds from `earlier` to `self` (negative when before).
    pub fn seconds_since(self, earlier: Timestamp) -> i64 {
        self.seconds.saturating_sub(earlier.seconds)
    }

    /// Parses RFC 3339: `2026-11-22T10:00:00Z`, `2026-11-22T11:00:00.5+01:00`.
    pub fn parse(text: &str) -> Result<Timestamp, &'static str> {
        let b = text.as_bytes();
        let num = |range: std::ops::Range<usize>| -> Result<i64, &'static str> {
            let part = b.get(range).ok_or("too short for an RFC 3339 timestamp")?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return Err("expected a timestamp like 2026-11-22T10:00:00Z");
            }
            Ok(part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
        };
        let sep = |at: usize, allowed: &[u8]| -> Result<(), &'static str> {
            match b.get(at) {
                Some(c) if allowed.contains(c) => Ok(()),
                _ => Err("expected a timestamp like 2026-11-22T10:00:00Z"),
            }
        };
        let year = num(0..4)?;
        sep(4, b"-")?;
        let month = num(5..7)?;
        sep(7, b"-")?;
        let day = num(8..10)?;
        sep(10, b"Tt ")?;
        let hour = num(11..13)?;
        sep(13, b":")?;
        let minute = num(14..16)?;
        sep(16, b":")?;
        let second = num(17..19)?;
        if !(1..=12).contains(&month) {
            return Err("the month is not between 01 and 12");
        }
        if day < 1 || day > days_in_month(year, month) {
            return Err("that day does not exist in that month");
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err("the time of day is out of range");
        }
        let mut at = 19;
        let mut nanos: u32 = 0;
        if b.get(at) == Some(&b'.') {
            at += 1;
            let start = at;
            while b.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            let digits = at - start;
            if digits == 0 || digits > 9 {
                return Err("fractional seconds need 1 to 9 digits");
            }
            let frac = num(start..at)?;
            nanos = (frac * 10_i64.pow((9 - digits) as u32)) as u32;
        }
        let offset = match b.get(at) {
            Some(b'Z' | b'z') if at + 1 == b.len() => 0,
            Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() => {
                sep(at + 3, b":")?;
                let oh = num(at + 1..at + 3)?;
                let om = num(at + 4..at + 6)?;
                if oh > 23 || om > 59 {
                    return Err("the UTC offset is out of range");
                }
                let minutes = oh * 60 + om;
                if sign == b'+' { minutes } else { -minutes }
            }
            _ => return Err("expected `Z` or an offset like `+01:00` at the end"),
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset * 60;
        Timestamp::from_unix(seconds, nanos).ok_or("the instant falls outside years 0000 to 9999")
    }

    /// `2026-12-01`, for messages.
    pub fn date(self) -> String {
        let (y, m, d) = civil_from_days(self.seconds.div_euclid(86_400));
        format!("{y:04}-{m:02}-{d:02}")
    }
}

/// `0000-01-01T00:00:00Z`, the first instant RFC 3339 can write.
const MIN_SECONDS: i64 = -62_167_219_200;
/// `9999-12-31T23:59:59Z`, the last.
const MAX_SECONDS: i64 = 253_402_300_799;

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC with `Z`; fractional seconds only when present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.seconds.div_euclid(86_400);
        let secs = self.seconds.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            secs / 3_600,
            secs % 3_600 / 60,
            secs % 60
        )?;
        if self.nanos > 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn months_count_on_the_calendar() {
        let at = |t: &str| Timestamp::parse(t).expect("valid");
        let plus = |t: &str, m: i64| at(t).add_months(m).map(|x| x.to_string());
        assert_eq!(
            plus("2026-01-31T10:00:00Z", 1).as_deref(),
            Some("2026-02-28T10:00:00Z")
        );
        assert_eq!(
            plus("2028-01-31T10:00:00Z", 1).as_deref(),
            Some("2028-02-29T10:00:00Z")
        );
        assert_eq!(
            plus("2026-03-31T00:00:00Z", -1).as_deref(),
            Some("2026-02-28T00:00:00Z")
        );
        assert_eq!(
            plus("2026-11-22T10:00:00.5Z", 12).as_deref(),
            Some("2027-11-22T10:00:00.5Z")
        );
        assert_eq!(
            plus("2028-02-29T00:00:00Z", 12).as_deref(),
            Some("2029-02-28T00:00:00Z")
        );
        assert_eq!(
            plus("2026-12-15T00:00:00Z", 1).as_deref(),
            Some("2027-01-15T00:00:00Z")
        );
        assert_eq!(
            plus("2026-01-15T00:00:00Z", -13).as_deref(),
            Some("2024-12-15T00:00:00Z")
        );
        assert_eq!(plus("9999-12-01T00:00:00Z", 1), None);
        assert_eq!(plus("0000-01-01T00:00:00Z", -1), None);
    }

    use super::*;

    fn round_trip(text: &str) -> String {
        Timestamp::parse(text).unwrap().to_string()
    }

    #[test]
    fn parses_and_prints_utc() {
        assert_eq!(round_trip("2026-11-22T10:00:00Z"), "2026-11-22T10:00:00Z");
        assert_eq!(
            round_trip("2026-11-22T11:30:00+01:30"),
            "2026-11-22T10:00:00Z"
        );
        assert_eq!(
            round_trip("2024-02-29t00:00:00.250z"),
            "2024-02-29T00:00:00.25Z"
        );
        assert_eq!(round_trip("1969-12-31T23:59:59Z"), "1969-12-31T23:59:59Z");
        assert_eq!(round_trip("0000-01-01T00:00:00Z"), "0000-01-01T00:00:00Z");
        assert_eq!(round_trip("9999-12-31T23:59:59Z"), "9999-12-31T23:59:59Z");
        assert_eq!(
            Timestamp::parse("2026-12-01T00:00:00Z").unwrap().date(),
            "2026-12-01"
        );
    }

    #[test]
    fn refuses_impossible_instants() {
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-31T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T10:00:00",
            "2026-11-22",
            "2026-11-22T10:00:00+0100",
            "2026-11-22T10:00:00.Z",
            "0000-01-01T00:00:00+00:01",
            "yesterday",
            "",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_range_ends_where_rfc_3339_does() {
        assert_eq!(
            Timestamp::parse("0000-01-01T00:00:00Z")
                .unwrap()
                .unix_seconds(),
            MIN_SECONDS
        );
        assert_eq!(
            Timestamp::parse("9999-12-31T23:59:59Z")
                .unwrap()
                .unix_seconds(),
            MAX_SECONDS
        );
        assert!(Timestamp::from_unix(MAX_SECONDS + 1, 0).is_none());
        assert!(Timestamp::from_unix(MIN_SECONDS - 1, 0).is_none());
    }

    #[test]
    fn civil_dates_round_trip_over_centuries() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
