//! Timestamps: RFC 3339 text to epoch milliseconds and back, and window alignment.
//!
//! Input: the `timestamp` text of an event, or milliseconds. Output: `i64`
//! milliseconds since the Unix epoch (sub-millisecond digits are truncated),
//! RFC 3339 UTC text for alerts, and epoch-aligned window starts. The common
//! shape `YYYY-MM-DDTHH:MM:SS[.fff]Z` is parsed by hand (it is most of every
//! input); anything else (offsets, lowercase separators) goes through `jiff`.

const MILLIS_PER_DAY: i64 = 86_400_000;

/// Parses an RFC 3339 timestamp to epoch milliseconds.
pub(crate) fn parse_millis(text: &str) -> Option<i64> {
    fast_parse(text.as_bytes()).or_else(|| {
        let timestamp: jiff::Timestamp = text.parse().ok()?;
        Some(timestamp.as_millisecond())
    })
}

fn digits(bytes: &[u8]) -> Option<i64> {
    let mut value = 0i64;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(byte - b'0');
    }
    Some(value)
}

/// `YYYY-MM-DDTHH:MM:SS[.f+]Z` only; `None` sends the text to the general parser.
fn fast_parse(bytes: &[u8]) -> Option<i64> {
    if bytes.len() < 20 || bytes[bytes.len() - 1] != b'Z' {
        return None;
    }
    if bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let year = digits(&bytes[0..4])?;
    let month = digits(&bytes[5..7])?;
    let day = digits(&bytes[8..10])?;
    let hour = digits(&bytes[11..13])?;
    let minute = digits(&bytes[14..16])?;
    let second = digits(&bytes[17..19])?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let rest = &bytes[19..bytes.len() - 1];
    let mut millis = 0;
    if !rest.is_empty() {
        if rest[0] != b'.' || rest.len() < 2 || rest.len() > 10 {
            return None;
        }
        let fraction = &rest[1..];
        digits(fraction)?;
        let mut scaled = 0i64;
        for index in 0..3 {
            scaled = scaled * 10 + fraction.get(index).map_or(0, |byte| i64::from(byte - b'0'));
        }
        millis = scaled;
    }
    let days = days_from_civil(year, month, day);
    Some(days * MILLIS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 1000 + millis)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// RFC 3339 UTC text of epoch milliseconds: `2026-03-02T10:00:00Z`, with
/// `.mmm` only when the milliseconds are not zero.
pub(crate) fn format_millis(millis: i64) -> String {
    let days = millis.div_euclid(MILLIS_PER_DAY);
    let in_day = millis.rem_euclid(MILLIS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let seconds = in_day / 1000;
    let fraction = in_day % 1000;
    let (hour, minute, second) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if fraction == 0 {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
    } else {
        format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{fraction:03}Z")
    }
}

/// The start of the epoch-aligned tumbling window of `length` containing `time`.
pub(crate) fn window_start(time: i64, length: i64) -> i64 {
    if length <= 0 {
        return time;
    }
    time - time.rem_euclid(length)
}

/// Parses a duration as the language writes it (`500ms`, `90s`, `10m`,
/// `1h`, `7d`, `2w`; `0` alone is zero) to milliseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let text = text.trim();
    if text == "0" {
        return Some(0);
    }
    let split = text.find(|character: char| !character.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let unit = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => return None,
    };
    number.checked_mul(unit)
}

/// A duration as short text (`90s`, `10m`, `24h`, `7d`), for messages.
pub(crate) use crate::ir::duration_text as format_duration;

#[cfg(test)]
mod tests {
    use super::*;

    fn jiff_millis(text: &str) -> i64 {
        text.parse::<jiff::Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap()
    }

    #[test]
    fn fast_path_agrees_with_jiff() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2026-03-02T10:00:00Z",
            "2026-03-02T10:00:00.5Z",
            "2026-03-02T10:00:00.123456789Z",
            "2024-02-29T23:59:59.999Z",
            "2000-12-31T12:34:56.007Z",
            "1969-12-31T23:59:59.250Z",
            "2100-03-01T00:00:00Z",
        ] {
            assert_eq!(
                fast_parse(text.as_bytes()),
                Some(jiff_millis(text)),
                "{text}"
            );
            assert_eq!(parse_millis(text), Some(jiff_millis(text)), "{text}");
        }
    }

    #[test]
    fn other_shapes_use_jiff_and_bad_ones_fail() {
        assert_eq!(
            parse_millis("2026-03-02T11:00:00+01:00"),
            Some(jiff_millis("2026-03-02T10:00:00Z"))
        );
        assert_eq!(parse_millis("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_millis("yesterday"), None);
        assert_eq!(parse_millis("2026-03-02"), None);
        assert_eq!(parse_millis(""), None);
    }

    #[test]
    fn formats_round_trip() {
        for text in [
            "2026-03-02T10:00:00Z",
            "2024-02-29T23:59:59.999Z",
            "1969-12-31T23:59:59.250Z",
        ] {
            assert_eq!(format_millis(parse_millis(text).unwrap()), text);
        }
    }

    #[test]
    fn windows_align_to_the_epoch() {
        let hour = 3_600_000;
        let t = parse_millis("2026-03-02T10:59:59.999Z").unwrap();
        assert_eq!(format_millis(window_start(t, hour)), "2026-03-02T10:00:00Z");
        let edge = parse_millis("2026-03-02T11:00:00Z").unwrap();
        assert_eq!(window_start(edge, hour), edge);
        let week = 7 * 86_400_000;
        // Seven-day windows start on Thursdays (the epoch was a Thursday).
        assert_eq!(format_millis(window_start(t, week)), "2026-02-26T00:00:00Z");
        assert_eq!(window_start(-1, hour), -hour);
        assert_eq!(format_duration(86_400_000), "1d");
        assert_eq!(format_duration(90_000), "90s");
        assert_eq!(parse_duration("24h"), Some(86_400_000));
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("2w"), Some(14 * 86_400_000));
        assert_eq!(parse_duration("0"), Some(0));
        assert_eq!(parse_duration("5"), None);
        assert_eq!(parse_duration("h"), None);
    }
}
