//! Input timestamps: parsing the timestamps found in API test results, access logs and
//! entitlement exports into UTC milliseconds, and formatting them as RFC 3339.
//!
//! [`Timestamp::parse`] accepts, after trimming whitespace:
//! - RFC 3339 date-times with `T`, `t` or a space between date and time, 0 to 9 fractional
//!   digits, and an offset of `Z`, `z`, `±hh:mm` or `±hhmm`. A missing offset or a trailing
//!   ` UTC` means UTC.
//! - A date alone (`2026-11-30`), which is midnight UTC.
//! - The compact form `20131102T010628Z`.
//! - An epoch number without sign, such as `1764490500` or `1764490500123.5`. An integer part
//!   below 100_000_000_000 is seconds, anything larger is milliseconds. The cut-over works
//!   because 1e11 seconds is in the year 5138 and 1e11 milliseconds is in 1973.
//!
//! Fractions finer than a millisecond are truncated. Results must lie between
//! 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z.

use std::fmt;

use chrono::{Datelike, NaiveDate};

const MILLIS_PER_SECOND: i64 = 1_000;
const MILLIS_PER_MINUTE: i64 = 60 * MILLIS_PER_SECOND;
const MILLIS_PER_HOUR: i64 = 60 * MILLIS_PER_MINUTE;
const MILLIS_PER_DAY: i64 = 24 * MILLIS_PER_HOUR;

/// Epoch numbers whose integer part is below this are seconds, and all others milliseconds.
const EPOCH_SECONDS_LIMIT: u64 = 100_000_000_000;

/// 0000-01-01T00:00:00Z in epoch milliseconds.
const MIN_MILLIS: i64 = days_from_civil(0, 1, 1) * MILLIS_PER_DAY;

/// 9999-12-31T23:59:59.999Z in epoch milliseconds.
const MAX_MILLIS: i64 = days_from_civil(10_000, 1, 1) * MILLIS_PER_DAY - 1;

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub i64);

/// Error for text that [`Timestamp::parse`] does not accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid timestamp {input:?}: {reason}; expected an RFC 3339 timestamp such as \
     2026-11-30T08:15:00Z, or epoch seconds/milliseconds"
)]
pub struct TimestampError {
    input: String,
    reason: &'static str,
}

impl TimestampError {
    /// Returns the rejected text, cut to 64 characters.
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Returns why the text was rejected, without the text, for messages that
    /// show the value elsewhere (redacted).
    pub fn reason(&self) -> &'static str {
        self.reason
    }
}

/// Error for text that [`parse_duration`] does not accept.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: {reason}; expected a whole number followed by s, m, h or d, \
     such as 120s, 15m, 2h or 90d"
)]
pub struct DurationError {
    input: String,
    reason: &'static str,
}

impl DurationError {
    /// Returns the rejected text, cut to 64 characters.
    pub fn input(&self) -> &str {
        &self.input
    }
}

/// Keeps error messages short when a whole log line lands in a timestamp field.
fn shorten_for_error(text: &str) -> String {
    text.chars().take(64).collect()
}

impl Timestamp {
    /// Parses an input timestamp in one of the forms listed in the module documentation.
    pub fn parse(text: &str) -> Result<Timestamp, TimestampError> {
        let trimmed = text.trim();
        if let Some(millis) = parse_common_utc(trimmed.as_bytes()) {
            return Ok(Timestamp(millis));
        }
        parse_other(trimmed)
            .map(Timestamp)
            .map_err(|reason| TimestampError {
                input: shorten_for_error(text),
                reason: reason.message(),
            })
    }

    /// Converts a JSON epoch number with the same seconds/milliseconds cut-over as
    /// [`Timestamp::parse`]; returns `None` for negative, non-finite or out-of-range values.
    ///
    /// Sub-millisecond parts are truncated, except that values within a few ulps of a whole
    /// millisecond snap to it. So `1764490500.123`, stored as 1764490500.1229999065, gives
    /// `.123` like the text `"1764490500.123"` does.
    pub fn from_epoch_number(n: f64) -> Option<Timestamp> {
        if !n.is_finite() || n < 0.0 {
            return None;
        }
        let millis = if n < EPOCH_SECONDS_LIMIT as f64 {
            let scaled = n * 1_000.0;
            let nearest = scaled.round();
            if (scaled - nearest).abs() <= scaled * 4.0 * f64::EPSILON {
                nearest
            } else {
                scaled.floor()
            }
        } else {
            n.floor()
        };
        if millis > MAX_MILLIS as f64 {
            return None;
        }
        // Both bounds are checked, so the cast is exact.
        Some(Timestamp(millis as i64))
    }

    /// Formats as `2026-11-30T08:15:00Z`, adding `.123` milliseconds only when non-zero.
    ///
    /// Years outside 0000–9999, which `parse` never returns, get a sign and at least four
    /// digits (`+10000-01-01T00:00:00Z`, `-0001-12-31T00:00:00Z`).
    pub fn to_rfc3339(self) -> String {
        let mut out = String::with_capacity(24);
        self.write_rfc3339(&mut out)
            .expect("writing to a String cannot fail");
        out
    }

    /// Adds `s` seconds, saturating at the limits of `i64` milliseconds.
    pub fn plus_seconds(self, s: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(s.saturating_mul(MILLIS_PER_SECOND)))
    }

    fn write_rfc3339(self, out: &mut impl fmt::Write) -> fmt::Result {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let millis_of_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let hour = millis_of_day / MILLIS_PER_HOUR;
        let minute = millis_of_day % MILLIS_PER_HOUR / MILLIS_PER_MINUTE;
        let second = millis_of_day % MILLIS_PER_MINUTE / MILLIS_PER_SECOND;
        let millis = millis_of_day % MILLIS_PER_SECOND;

        if !(0..=9999).contains(&year) {
            write!(
                out,
                "{year:+05}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}"
            )?;
            if millis != 0 {
                write!(out, ".{millis:03}")?;
            }
            return out.write_char('Z');
        }

        // Hand-built without `write!`, because reports may format a timestamp for every row.
        let mut buffer = *b"0000-00-00T00:00:00.000Z";
        put_digits(&mut buffer[0..4], year);
        put_digits(&mut buffer[5..7], i64::from(month));
        put_digits(&mut buffer[8..10], i64::from(day));
        put_digits(&mut buffer[11..13], hour);
        put_digits(&mut buffer[14..16], minute);
        put_digits(&mut buffer[17..19], second);
        let text: &[u8] = if millis == 0 {
            buffer[19] = b'Z';
            &buffer[..20]
        } else {
            put_digits(&mut buffer[20..23], millis);
            &buffer
        };
        out.write_str(std::str::from_utf8(text).expect("the buffer contains only ASCII"))
    }
}

impl fmt::Display for Timestamp {
    /// Formats like [`Timestamp::to_rfc3339`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::with_capacity(24);
        self.write_rfc3339(&mut text)?;
        f.pad(&text)
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;

    /// Parses like [`Timestamp::parse`].
    fn from_str(text: &str) -> Result<Timestamp, TimestampError> {
        Timestamp::parse(text)
    }
}

/// Parses a duration such as `120s`, `15m`, `2h` or `90d` into seconds.
///
/// Surrounding whitespace is trimmed. Negative values, a missing number or unit, other units
/// and values that overflow an `i64` of seconds are rejected.
pub fn parse_duration(text: &str) -> Result<i64, DurationError> {
    let error = |reason| DurationError {
        input: shorten_for_error(text),
        reason,
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(error("the text is empty"));
    }
    if trimmed.starts_with('-') {
        return Err(error("negative durations are not allowed"));
    }
    let unit_start = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| error("the unit is missing"))?;
    let (number, unit) = trimmed.split_at(unit_start);
    if number.is_empty() {
        return Err(error("the number is missing"));
    }
    let seconds_per_unit: i64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(error("unknown unit")),
    };
    // `number` contains only ASCII digits, so parsing fails only on overflow.
    let value: i64 = number
        .parse()
        .map_err(|_| error("the value is too large"))?;
    value
        .checked_mul(seconds_per_unit)
        .ok_or_else(|| error("the value is too large"))
}

/// Reason a timestamp was rejected; its message goes into [`TimestampError`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rejection {
    Empty,
    Format,
    Negative,
    FractionTooLong,
    NoSuchDate,
    TimeOutOfRange,
    OffsetOutOfRange,
    YearOutOfRange,
}

impl Rejection {
    fn message(self) -> &'static str {
        match self {
            Rejection::Empty => "the text is empty",
            Rejection::Format => "unrecognized format",
            Rejection::Negative => "negative epoch values are not allowed",
            Rejection::FractionTooLong => "more than 9 fractional digits",
            Rejection::NoSuchDate => "no such date",
            Rejection::TimeOutOfRange => "time of day out of range",
            Rejection::OffsetOutOfRange => "UTC offset out of range",
            Rejection::YearOutOfRange => "outside the years 0000 to 9999",
        }
    }
}

/// Parses `YYYY-MM-DDTHH:MM:SS(.f{1,9})?Z`, the shape of almost every log timestamp, without
/// chrono. Returns `None` for anything else, including leap seconds, so that
/// [`parse_other`] decides and explains.
fn parse_common_utc(bytes: &[u8]) -> Option<i64> {
    let len = bytes.len();
    let head: &[u8; 19] = bytes.get(..19)?.try_into().ok()?;
    if len < 20
        || bytes[len - 1] != b'Z'
        || head[4] != b'-'
        || head[7] != b'-'
        || head[10] != b'T'
        || head[13] != b':'
        || head[16] != b':'
    {
        return None;
    }

    let year = two_digits(head, 0)? * 100 + two_digits(head, 2)?;
    let month = two_digits(head, 5)?;
    let day = two_digits(head, 8)?;
    let hour = two_digits(head, 11)?;
    let minute = two_digits(head, 14)?;
    let second = two_digits(head, 17)?;
    let millis = match len {
        20 => 0,
        22..=30 if bytes[19] == b'.' => fraction_millis(&bytes[20..len - 1])?,
        _ => return None,
    };

    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }

    let seconds_of_day = hour * 3_600 + minute * 60 + second;
    Some(
        days_since_epoch(year, month, day) * MILLIS_PER_DAY
            + i64::from(seconds_of_day) * MILLIS_PER_SECOND
            + millis,
    )
}

fn two_digits(bytes: &[u8; 19], at: usize) -> Option<u32> {
    let tens = bytes[at].wrapping_sub(b'0');
    let ones = bytes[at + 1].wrapping_sub(b'0');
    (tens <= 9 && ones <= 9).then(|| u32::from(tens * 10 + ones))
}

/// Milliseconds from 1 to 9 fractional digits, truncating the rest.
#[inline]
fn fraction_millis(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 9 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digit = |position: usize| digits.get(position).map_or(0, |d| i64::from(d - b'0'));
    Some(digit(0) * 100 + digit(1) * 10 + digit(2))
}

fn is_leap_year(year: u32) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a valid date in the years 0 to 9999. Unsigned arithmetic
/// avoids the sign corrections of `div_euclid` in [`days_from_civil`] on the fast path.
#[inline]
fn days_since_epoch(year: u32, month: u32, day: u32) -> i64 {
    const DAYS_BEFORE_MONTH: [u32; 13] = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    // Counting from the year -400, which is a leap year like 0, keeps every term positive.
    let shifted_year = year + 400;
    let full_years = shifted_year - 1;
    let leap_days_before = full_years / 4 - full_years / 100 + full_years / 400;
    let leap_day_this_year = u32::from(month > 2 && is_leap_year(year));
    let days_from_minus_400 = 365 * shifted_year
        + leap_days_before
        + DAYS_BEFORE_MONTH[month as usize]
        + leap_day_this_year
        + day;
    const MINUS_400_TO_EPOCH: i64 = days_from_civil(-400, 1, 1);
    i64::from(days_from_minus_400) + MINUS_400_TO_EPOCH
}

/// Days since 1970-01-01 of a proleptic Gregorian date, counted in 400-year eras of 146_097
/// days (Howard Hinnant's `days_from_civil`). The tests check it against chrono.
const fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`]: `(year, month, day)` of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month as u32, day as u32)
}

/// Writes `value` as zero-padded decimal digits filling `slot`.
fn put_digits(slot: &mut [u8], mut value: i64) {
    for byte in slot.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Parses every accepted form other than the fast path's, with chrono as the calendar.
fn parse_other(text: &str) -> Result<i64, Rejection> {
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        return Err(Rejection::Empty);
    }
    if is_epoch_number(bytes) {
        return parse_epoch_text(text);
    }
    if bytes[0] == b'-' && is_epoch_number(&bytes[1..]) {
        return Err(Rejection::Negative);
    }
    parse_calendar(bytes)
}

/// Returns whether `bytes` is `digits` or `digits.digits`.
fn is_epoch_number(bytes: &[u8]) -> bool {
    let (integer, fraction) = match bytes.iter().position(|&b| b == b'.') {
        Some(dot) => (&bytes[..dot], Some(&bytes[dot + 1..])),
        None => (bytes, None),
    };
    let all_digits = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    all_digits(integer) && fraction.is_none_or(all_digits)
}

fn parse_epoch_text(text: &str) -> Result<i64, Rejection> {
    let (integer, fraction) = text.split_once('.').unwrap_or((text, ""));
    // Only ASCII digits reach here, so parsing fails only on overflow.
    let integer: u64 = integer.parse().map_err(|_| Rejection::YearOutOfRange)?;
    let millis = if integer < EPOCH_SECONDS_LIMIT {
        let fraction = if fraction.is_empty() {
            0
        } else {
            let digits = &fraction.as_bytes()[..fraction.len().min(3)];
            fraction_millis(digits).expect("checked by is_epoch_number")
        };
        // Below 1e11 the product stays below 1e14.
        integer as i64 * MILLIS_PER_SECOND + fraction
    } else {
        i64::try_from(integer).map_err(|_| Rejection::YearOutOfRange)?
    };
    if millis > MAX_MILLIS {
        return Err(Rejection::YearOutOfRange);
    }
    Ok(millis)
}

/// Byte cursor for [`parse_calendar`].
struct Cursor<'a> {
    bytes: &'a [u8],
    position: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn eat(&mut self, expected: u8) -> bool {
        let found = self.peek() == Some(expected);
        if found {
            self.position += 1;
        }
        found
    }

    fn expect(&mut self, expected: u8) -> Result<(), Rejection> {
        if self.eat(expected) {
            Ok(())
        } else {
            Err(Rejection::Format)
        }
    }

    fn number(&mut self, width: usize) -> Result<i64, Rejection> {
        let end = self.position + width;
        let digits = self
            .bytes
            .get(self.position..end)
            .ok_or(Rejection::Format)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(Rejection::Format);
        }
        self.position = end;
        Ok(digits
            .iter()
            .fold(0, |value, d| value * 10 + i64::from(d - b'0')))
    }

    fn fraction_millis(&mut self) -> Result<i64, Rejection> {
        let rest = &self.bytes[self.position..];
        let count = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if count == 0 {
            return Err(Rejection::Format);
        }
        if count > 9 {
            return Err(Rejection::FractionTooLong);
        }
        self.position += count;
        Ok(fraction_millis(&rest[..count]).expect("1 to 9 ASCII digits"))
    }

    /// Parses the zone designator, which must end the text, into an offset in minutes.
    fn utc_offset_minutes(&mut self) -> Result<i64, Rejection> {
        let rest = &self.bytes[self.position..];
        let sign = match rest.first() {
            None => return Ok(0),
            Some(b'Z' | b'z') if rest.len() == 1 => return Ok(0),
            Some(b' ') if rest[1..].trim_ascii_start().eq_ignore_ascii_case(b"UTC") => {
                return Ok(0);
            }
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Err(Rejection::Format),
        };
        self.position += 1;
        let hours = self.number(2)?;
        self.eat(b':');
        let minutes = self.number(2)?;
        if self.peek().is_some() {
            return Err(Rejection::Format);
        }
        if hours > 23 || minutes > 59 {
            return Err(Rejection::OffsetOutOfRange);
        }
        Ok(sign * (hours * 60 + minutes))
    }
}

/// Parses the RFC 3339 family, the date-only form and the compact form.
///
/// A second of 60 (a leap second) is accepted and lands on the following second, as in
/// chrono's `DateTime::parse_from_rfc3339`.
fn parse_calendar(bytes: &[u8]) -> Result<i64, Rejection> {
    let mut cursor = Cursor { bytes, position: 0 };
    let year = cursor.number(4)?;
    let extended = cursor.eat(b'-');
    let month = cursor.number(2)?;
    if extended {
        cursor.expect(b'-')?;
    }
    let day = cursor.number(2)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month as u32, day as u32)
        .ok_or(Rejection::NoSuchDate)?;
    let days = i64::from(date.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE;
    if cursor.peek().is_none() && extended {
        return Ok(days * MILLIS_PER_DAY);
    }

    match cursor.peek() {
        Some(b'T' | b't') => {}
        Some(b' ') if extended => {}
        _ => return Err(Rejection::Format),
    }
    cursor.position += 1;
    let hour = cursor.number(2)?;
    if extended {
        cursor.expect(b':')?;
    }
    let minute = cursor.number(2)?;
    if extended {
        cursor.expect(b':')?;
    }
    let second = cursor.number(2)?;
    let millis = if cursor.eat(b'.') {
        cursor.fraction_millis()?
    } else {
        0
    };
    let offset_minutes = cursor.utc_offset_minutes()?;
    if hour > 23 || minute > 59 || second > 60 {
        return Err(Rejection::TimeOutOfRange);
    }

    let local = days * MILLIS_PER_DAY
        + hour * MILLIS_PER_HOUR
        + minute * MILLIS_PER_MINUTE
        + second * MILLIS_PER_SECOND
        + millis;
    let utc = local - offset_minutes * MILLIS_PER_MINUTE;
    if !(MIN_MILLIS..=MAX_MILLIS).contains(&utc) {
        return Err(Rejection::YearOutOfRange);
    }
    Ok(utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2026-11-30T08:15:00Z.
    const NOV_30: i64 = 1_796_026_500_000;

    fn parsed(text: &str) -> i64 {
        match Timestamp::parse(text) {
            Ok(timestamp) => timestamp.0,
            Err(error) => panic!("{text:?} was rejected: {error}"),
        }
    }

    fn rejection(text: &str) -> &'static str {
        match Timestamp::parse(text) {
            Ok(timestamp) => panic!("{text:?} was accepted as {timestamp}"),
            Err(error) => error.reason,
        }
    }

    #[test]
    fn reference_instant_is_correct() {
        let chrono_millis = chrono::DateTime::parse_from_rfc3339("2026-11-30T08:15:00Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(NOV_30, chrono_millis);
    }

    #[test]
    fn parse_common_shape() {
        assert_eq!(parsed("2026-11-30T08:15:00Z"), NOV_30);
        assert_eq!(parsed("2026-11-30T08:15:00.123Z"), NOV_30 + 123);
        assert_eq!(parsed("2026-11-30T08:15:00.1Z"), NOV_30 + 100);
        assert_eq!(parsed("2026-11-30T08:15:00.12Z"), NOV_30 + 120);
        assert_eq!(parsed("2026-11-30T08:15:00.123456789Z"), NOV_30 + 123);
        assert_eq!(parsed("2026-11-30T08:15:00.999999Z"), NOV_30 + 999);
        assert_eq!(parsed("1970-01-01T00:00:00Z"), 0);
        assert_eq!(parsed("  2026-11-30T08:15:00Z\n"), NOV_30);
    }

    #[test]
    fn parse_common_shape_calendar_edges() {
        assert_eq!(parsed("2024-02-29T00:00:00Z"), 1_709_164_800_000);
        assert_eq!(parsed("2000-02-29T00:00:00Z"), 951_782_400_000);
        assert_eq!(parsed("0000-01-01T00:00:00Z"), MIN_MILLIS);
        assert_eq!(parsed("9999-12-31T23:59:59.999Z"), MAX_MILLIS);
        assert_eq!(parsed("1969-12-31T23:59:59Z"), -1_000);
    }

    #[test]
    fn parse_offsets() {
        assert_eq!(parsed("2026-11-30T09:15:00+01:00"), NOV_30);
        assert_eq!(parsed("2026-11-30T09:15:00+0100"), NOV_30);
        assert_eq!(parsed("2026-11-30T03:15:00-05:00"), NOV_30);
        assert_eq!(parsed("2026-11-30T03:15:00-0500"), NOV_30);
        assert_eq!(parsed("2026-11-30T13:45:00+05:30"), NOV_30);
        assert_eq!(parsed("2026-11-30T08:15:00+00:00"), NOV_30);
        assert_eq!(parsed("2026-11-30T08:15:00-00:00"), NOV_30);
        assert_eq!(parsed("2026-11-30T09:15:00.250+01:00"), NOV_30 + 250);
        assert_eq!(parsed("2026-11-30T08:15:00z"), NOV_30);
    }

    #[test]
    fn parse_separators_and_utc_suffix() {
        assert_eq!(parsed("2026-11-30 08:15:00Z"), NOV_30);
        assert_eq!(parsed("2026-11-30t08:15:00Z"), NOV_30);
        assert_eq!(parsed("2026-11-30 08:15:00"), NOV_30);
        assert_eq!(parsed("2026-11-30T08:15:00"), NOV_30);
        assert_eq!(parsed("2026-11-30T08:15:00.5"), NOV_30 + 500);
        assert_eq!(parsed("2026-11-30 08:15:00 UTC"), NOV_30);
        assert_eq!(parsed("2026-11-30 08:15:00.042 UTC"), NOV_30 + 42);
    }

    #[test]
    fn parse_date_only_and_compact() {
        assert_eq!(parsed("2026-11-30"), NOV_30 - (8 * 3600 + 15 * 60) * 1000);
        assert_eq!(parsed("20131102T010628Z"), 1_383_354_388_000);
        assert_eq!(parsed("20131102T010628"), 1_383_354_388_000);
        assert_eq!(parsed("20131102T020628+0100"), 1_383_354_388_000);
        assert_eq!(parsed("20131102T010628.5Z"), 1_383_354_388_500);
    }

    #[test]
    fn parse_leap_second_lands_on_next_second() {
        assert_eq!(parsed("2016-12-31T23:59:60Z"), 1_483_228_800_000);
        let chrono_millis = chrono::DateTime::parse_from_rfc3339("2016-12-31T23:59:60Z")
            .unwrap()
            .timestamp_millis();
        assert_eq!(parsed("2016-12-31T23:59:60Z"), chrono_millis);
    }

    #[test]
    fn parse_epoch_seconds() {
        assert_eq!(parsed("1796026500"), NOV_30);
        assert_eq!(parsed("1796026500.123"), NOV_30 + 123);
        assert_eq!(parsed("1796026500.1239"), NOV_30 + 123);
        assert_eq!(parsed("1796026500.5"), NOV_30 + 500);
        assert_eq!(parsed("0"), 0);
        assert_eq!(parsed("0.001"), 1);
        assert_eq!(parsed("99999999999"), 99_999_999_999_000);
    }

    #[test]
    fn parse_epoch_milliseconds() {
        assert_eq!(parsed("1796026500000"), NOV_30);
        assert_eq!(parsed("1796026500123"), NOV_30 + 123);
        assert_eq!(parsed("1796026500123.9"), NOV_30 + 123);
        assert_eq!(parsed("100000000000"), 100_000_000_000);
        assert_eq!(parsed("253402300799999"), MAX_MILLIS);
    }

    #[test]
    fn parse_rejects_garbage() {
        assert_eq!(rejection(""), "the text is empty");
        assert_eq!(rejection("   "), "the text is empty");
        assert_eq!(rejection("yesterday"), "unrecognized format");
        assert_eq!(rejection("2026-11-30T08:15"), "unrecognized format");
        assert_eq!(rejection("2026-11-30T08:15:00ZZ"), "unrecognized format");
        assert_eq!(rejection("2026-11-30T08:15:00.Z"), "unrecognized format");
        assert_eq!(rejection("2026-1-5T01:02:03Z"), "unrecognized format");
        assert_eq!(rejection("+2026-11-30T08:15:00Z"), "unrecognized format");
        assert_eq!(rejection("2026-11-30T08:15:00+01"), "unrecognized format");
        assert_eq!(rejection("2026-11-30T08:15:00 PST"), "unrecognized format");
        assert_eq!(rejection("2026-11-30 UTC"), "unrecognized format");
        assert_eq!(rejection("2026-11-30T08:15:00Z UTC"), "unrecognized format");
        assert_eq!(rejection("20261130 081500"), "unrecognized format");
        assert_eq!(rejection("1.5e9"), "unrecognized format");
        assert_eq!(rejection("12."), "unrecognized format");
        assert_eq!(rejection(".5"), "unrecognized format");
    }

    #[test]
    fn parse_rejects_out_of_range_fields() {
        assert_eq!(rejection("2026-13-01"), "no such date");
        assert_eq!(rejection("2026-00-10"), "no such date");
        assert_eq!(rejection("2026-02-30T00:00:00Z"), "no such date");
        assert_eq!(rejection("2025-02-29T00:00:00Z"), "no such date");
        assert_eq!(rejection("1900-02-29"), "no such date");
        assert_eq!(rejection("2026-04-31"), "no such date");
        assert_eq!(
            rejection("2026-11-30T24:00:00Z"),
            "time of day out of range"
        );
        assert_eq!(
            rejection("2026-11-30T08:60:00Z"),
            "time of day out of range"
        );
        assert_eq!(
            rejection("2026-11-30T08:15:61Z"),
            "time of day out of range"
        );
        assert_eq!(
            rejection("2026-11-30T08:15:00+24:00"),
            "UTC offset out of range"
        );
        assert_eq!(
            rejection("2026-11-30T08:15:00+01:60"),
            "UTC offset out of range"
        );
        assert_eq!(
            rejection("2026-11-30T08:15:00.1234567890Z"),
            "more than 9 fractional digits"
        );
    }

    #[test]
    fn parse_rejects_out_of_range_instants() {
        assert_eq!(rejection("-1"), "negative epoch values are not allowed");
        assert_eq!(
            rejection("-1796026500.5"),
            "negative epoch values are not allowed"
        );
        assert_eq!(
            rejection("253402300800000"),
            "outside the years 0000 to 9999"
        );
        assert_eq!(
            rejection("99999999999999999999999"),
            "outside the years 0000 to 9999"
        );
        assert_eq!(
            rejection("0000-01-01T00:00:00+01:00"),
            "outside the years 0000 to 9999"
        );
        assert_eq!(
            rejection("9999-12-31T23:59:59-01:00"),
            "outside the years 0000 to 9999"
        );
    }

    #[test]
    fn error_message_names_input_and_expected_forms() {
        let error = Timestamp::parse("yesterday").unwrap_err();
        assert_eq!(error.input(), "yesterday");
        assert_eq!(
            error.to_string(),
            "invalid timestamp \"yesterday\": unrecognized format; expected an RFC 3339 \
             timestamp such as 2026-11-30T08:15:00Z, or epoch seconds/milliseconds"
        );
        let long = "x".repeat(200);
        assert_eq!(Timestamp::parse(&long).unwrap_err().input().len(), 64);
    }

    #[test]
    fn from_str_matches_parse() {
        assert_eq!("2026-11-30T08:15:00Z".parse(), Ok(Timestamp(NOV_30)));
        assert!("nope".parse::<Timestamp>().is_err());
    }

    #[test]
    fn from_epoch_number_cut_over() {
        assert_eq!(
            Timestamp::from_epoch_number(1_796_026_500.0),
            Some(Timestamp(NOV_30))
        );
        assert_eq!(
            Timestamp::from_epoch_number(1_796_026_500.123),
            Some(Timestamp(NOV_30 + 123))
        );
        assert_eq!(
            Timestamp::from_epoch_number(1_796_026_500_123.0),
            Some(Timestamp(NOV_30 + 123))
        );
        assert_eq!(
            Timestamp::from_epoch_number(1_796_026_500_123.9),
            Some(Timestamp(NOV_30 + 123))
        );
        assert_eq!(
            Timestamp::from_epoch_number(99_999_999_999.0),
            Some(Timestamp(99_999_999_999_000))
        );
        assert_eq!(
            Timestamp::from_epoch_number(100_000_000_000.0),
            Some(Timestamp(100_000_000_000))
        );
        assert_eq!(Timestamp::from_epoch_number(0.0), Some(Timestamp(0)));
    }

    #[test]
    fn from_epoch_number_rejects() {
        assert_eq!(Timestamp::from_epoch_number(-1.0), None);
        assert_eq!(Timestamp::from_epoch_number(f64::NAN), None);
        assert_eq!(Timestamp::from_epoch_number(f64::INFINITY), None);
        assert_eq!(Timestamp::from_epoch_number(253_402_300_800_000.0), None);
        assert_eq!(Timestamp::from_epoch_number(1e300), None);
    }

    #[test]
    fn format_rfc3339() {
        assert_eq!(Timestamp(NOV_30).to_rfc3339(), "2026-11-30T08:15:00Z");
        assert_eq!(
            Timestamp(NOV_30 + 123).to_rfc3339(),
            "2026-11-30T08:15:00.123Z"
        );
        assert_eq!(
            Timestamp(NOV_30 + 5).to_rfc3339(),
            "2026-11-30T08:15:00.005Z"
        );
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp(-1).to_rfc3339(), "1969-12-31T23:59:59.999Z");
        assert_eq!(Timestamp(MIN_MILLIS).to_rfc3339(), "0000-01-01T00:00:00Z");
        assert_eq!(
            Timestamp(MAX_MILLIS).to_rfc3339(),
            "9999-12-31T23:59:59.999Z"
        );
    }

    #[test]
    fn format_years_outside_four_digits() {
        assert_eq!(
            Timestamp(MAX_MILLIS + 1).to_rfc3339(),
            "+10000-01-01T00:00:00Z"
        );
        assert_eq!(
            Timestamp(MIN_MILLIS - 1).to_rfc3339(),
            "-0001-12-31T23:59:59.999Z"
        );
        assert!(Timestamp(i64::MAX).to_rfc3339().starts_with('+'));
        assert!(Timestamp(i64::MIN).to_rfc3339().starts_with('-'));
    }

    #[test]
    fn display_matches_to_rfc3339() {
        assert_eq!(Timestamp(NOV_30).to_string(), "2026-11-30T08:15:00Z");
        assert_eq!(
            format!("{:>22}", Timestamp(NOV_30)),
            "  2026-11-30T08:15:00Z"
        );
    }

    #[test]
    fn plus_seconds_adds_and_saturates() {
        assert_eq!(
            Timestamp(NOV_30).plus_seconds(60),
            Timestamp(NOV_30 + 60_000)
        );
        assert_eq!(
            Timestamp(NOV_30).plus_seconds(-60),
            Timestamp(NOV_30 - 60_000)
        );
        assert_eq!(Timestamp(0).plus_seconds(i64::MAX), Timestamp(i64::MAX));
        assert_eq!(Timestamp(0).plus_seconds(i64::MIN), Timestamp(i64::MIN));
    }

    #[test]
    fn duration_accepts_units() {
        assert_eq!(parse_duration("120s"), Ok(120));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("2h"), Ok(7_200));
        assert_eq!(parse_duration("90d"), Ok(7_776_000));
        assert_eq!(parse_duration("0s"), Ok(0));
        assert_eq!(parse_duration("  15m\t"), Ok(900));
        assert_eq!(parse_duration("007s"), Ok(7));
    }

    #[test]
    fn duration_rejects() {
        let reason = |text: &str| parse_duration(text).unwrap_err().reason;
        assert_eq!(reason(""), "the text is empty");
        assert_eq!(reason("  "), "the text is empty");
        assert_eq!(reason("-5m"), "negative durations are not allowed");
        assert_eq!(reason("15"), "the unit is missing");
        assert_eq!(reason("m"), "the number is missing");
        assert_eq!(reason("+5m"), "the number is missing");
        assert_eq!(reason("15x"), "unknown unit");
        assert_eq!(reason("15M"), "unknown unit");
        assert_eq!(reason("15 m"), "unknown unit");
        assert_eq!(reason("1.5h"), "unknown unit");
        assert_eq!(reason("2w"), "unknown unit");
        assert_eq!(reason("99999999999999999999s"), "the value is too large");
        assert_eq!(reason("9223372036854775807d"), "the value is too large");
    }

    #[test]
    fn duration_error_message() {
        assert_eq!(
            parse_duration("15x").unwrap_err().to_string(),
            "invalid duration \"15x\": unknown unit; expected a whole number followed by \
             s, m, h or d, such as 120s, 15m, 2h or 90d"
        );
    }

    #[test]
    fn civil_conversion_matches_chrono() {
        for date in [
            "0000-01-01",
            "1600-02-29",
            "1970-01-01",
            "2026-11-30",
            "9999-12-31",
        ] {
            let chrono_date = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
            let days = i64::from(chrono_date.num_days_from_ce()) - UNIX_EPOCH_DAYS_FROM_CE;
            let (year, month, day) = civil_from_days(days);
            assert_eq!(i64::from(chrono_date.year()), year, "{date}");
            assert_eq!(chrono_date.month(), month, "{date}");
            assert_eq!(chrono_date.day(), day, "{date}");
            assert_eq!(
                days_from_civil(year, i64::from(month), i64::from(day)),
                days,
                "{date}"
            );
        }
    }

    proptest! {
        #[test]
        fn rfc3339_round_trips(millis in 0..=MAX_MILLIS) {
            let text = Timestamp(millis).to_rfc3339();
            prop_assert_eq!(Timestamp::parse(&text), Ok(Timestamp(millis)));
        }

        #[test]
        fn format_matches_chrono(millis in MIN_MILLIS..=MAX_MILLIS) {
            let expected = chrono::DateTime::from_timestamp_millis(millis)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            let ours = Timestamp(millis).to_rfc3339();
            // On whole milliseconds, AutoSi prints `.123` or no fraction, as we do.
            prop_assert_eq!(ours, expected);
        }

        #[test]
        fn fast_path_agrees_with_calendar_path(millis in MIN_MILLIS..=MAX_MILLIS) {
            let text = Timestamp(millis).to_rfc3339();
            prop_assert_eq!(parse_common_utc(text.as_bytes()), Some(millis));
            prop_assert_eq!(parse_calendar(text.as_bytes()), Ok(millis));
        }

        #[test]
        fn offset_form_matches_chrono(millis in 0..=MAX_MILLIS - MILLIS_PER_DAY, offset in -1439i32..=1439) {
            let zone = chrono::FixedOffset::east_opt(offset * 60).unwrap();
            let text = chrono::DateTime::from_timestamp_millis(millis)
                .unwrap()
                .with_timezone(&zone)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
            // Offsets that push the local year past 9999 cannot be written with 4 digits.
            prop_assume!(!text.starts_with('+'));
            prop_assert_eq!(Timestamp::parse(&text), Ok(Timestamp(millis)));
        }

        #[test]
        fn epoch_number_text_agrees_with_from_epoch_number(seconds in 0u64..EPOCH_SECONDS_LIMIT, millis in 0u64..1000) {
            let text = format!("{seconds}.{millis:03}");
            let expected = seconds as i64 * 1000 + millis as i64;
            prop_assert_eq!(Timestamp::parse(&text), Ok(Timestamp(expected)));
            let number: f64 = text.parse().unwrap();
            prop_assert_eq!(Timestamp::from_epoch_number(number), Some(Timestamp(expected)));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,40}") {
            let _ = Timestamp::parse(&text);
        }

        #[test]
        fn parse_never_panics_on_near_misses(text in "[0-9]{0,4}-?[0-9]{0,2}-?[0-9]{0,2}[Tt ]?[0-9:.]{0,14}[Zz+ -]?[0-9:UTC]{0,5}") {
            let _ = Timestamp::parse(&text);
        }
    }
}
