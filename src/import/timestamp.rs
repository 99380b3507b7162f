//! The import file's timestamps: RFC 3339 (`2026-11-23T10:00:00Z`, `...T10:00:00.250+01:00`)
//! or a plain date (`2026-11-23`, midnight UTC), to Unix milliseconds. Pure integer
//! arithmetic over `domain::time`'s civil-date conversion; no date crate, no clock.

use crate::barcode::date::days_in_month;
use crate::domain::time::days_from_civil;

/// The earliest year accepted. An earlier timestamp is refused.
pub const YEAR_MIN: i64 = 1970;
/// The latest year accepted. A later timestamp is refused.
pub const YEAR_MAX: i64 = 9999;

fn number(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Unix milliseconds of `text`, or why it is not a timestamp this importer reads.
pub fn parse_timestamp_ms(text: &str) -> Result<i64, &'static str> {
    const SHAPE: &str = "expected RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23)";
    let date = text.get(..10).ok_or(SHAPE)?;
    let rest = text.get(10..).ok_or(SHAPE)?;
    let b = date.as_bytes();
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return Err(SHAPE);
    }
    let year = date.get(..4).and_then(number).ok_or(SHAPE)?;
    let month = date.get(5..7).and_then(number).ok_or(SHAPE)?;
    let day = date.get(8..10).and_then(number).ok_or(SHAPE)?;
    if !(YEAR_MIN..=YEAR_MAX).contains(&year) {
        return Err("the year is outside 1970-9999");
    }
    let month = u8::try_from(month).map_err(|_| "the month does not exist")?;
    let last =
        days_in_month(i32::try_from(year).unwrap_or(0), month).ok_or("the month does not exist")?;
    if day < 1 || day > i64::from(last) {
        return Err("the day does not exist in that month");
    }
    let days = days_from_civil(year, u32::from(month), u32::try_from(day).unwrap_or(1));
    let midnight_ms = days * 86_400_000;
    if rest.is_empty() {
        return Ok(midnight_ms);
    }
    let time = rest.strip_prefix(['T', 't']).ok_or(SHAPE)?;
    let t = time.as_bytes();
    if t.len() < 9 || t.get(2) != Some(&b':') || t.get(5) != Some(&b':') {
        return Err("the time must be HH:MM:SS followed by Z or an offset");
    }
    let hour = time.get(..2).and_then(number).ok_or(SHAPE)?;
    let minute = time.get(3..5).and_then(number).ok_or(SHAPE)?;
    let second = time.get(6..8).and_then(number).ok_or(SHAPE)?;
    if hour > 23 || minute > 59 || second > 59 {
        return Err("the time of day does not exist (leap seconds are not accepted)");
    }
    let mut tail = time.get(8..).unwrap_or_default();
    let mut millis = 0;
    if let Some(fraction) = tail.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return Err("fractional seconds need 1 to 9 digits");
        }
        let (frac, after) = fraction.split_at(digits);
        // Milliseconds: the first three digits, padded; the rest is truncated.
        let padded = format!("{frac:0<3}");
        millis = padded.get(..3).and_then(number).unwrap_or(0);
        tail = after;
    }
    let offset_minutes = match tail {
        "Z" | "z" => 0,
        _ => {
            let sign = match tail.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err("the time needs Z or an offset such as +01:00"),
            };
            let o = tail.get(1..).unwrap_or_default();
            if o.len() != 5 || o.as_bytes().get(2) != Some(&b':') {
                return Err("the offset must be +HH:MM or -HH:MM");
            }
            let oh = o
                .get(..2)
                .and_then(number)
                .ok_or("the offset must be +HH:MM or -HH:MM")?;
            let om = o
                .get(3..)
                .and_then(number)
                .ok_or("the offset must be +HH:MM or -HH:MM")?;
            if oh > 23 || om > 59 {
                return Err("the offset does not exist");
            }
            sign * (oh * 60 + om)
        }
    };
    let ms = midnight_ms + ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + millis;
    Ok(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::time::format_rfc3339_ms;

    #[test]
    fn accepted_forms() {
        let cases: &[(&str, &str)] = &[
            ("2026-11-23", "2026-11-23T00:00:00.000Z"),
            ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00.000Z"),
            ("2026-11-23t10:00:00z", "2026-11-23T10:00:00.000Z"),
            ("2026-11-23T10:00:00.25Z", "2026-11-23T10:00:00.250Z"),
            ("2026-11-23T10:00:00.123456789Z", "2026-11-23T10:00:00.123Z"),
            ("2026-11-23T10:00:00+01:00", "2026-11-23T09:00:00.000Z"),
            ("2026-01-01T00:30:00+01:00", "2025-12-31T23:30:00.000Z"),
            ("2026-11-23T23:00:00-02:30", "2026-11-24T01:30:00.000Z"),
            ("2024-02-29", "2024-02-29T00:00:00.000Z"),
            ("1970-01-01", "1970-01-01T00:00:00.000Z"),
        ];
        for (text, expected) in cases {
            let ms = parse_timestamp_ms(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(format_rfc3339_ms(ms), *expected, "{text}");
        }
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:01Z"), Ok(1000));
    }

    #[test]
    fn refused_forms() {
        let cases: &[(&str, &str)] = &[
            (
                "",
                "expected RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23)",
            ),
            (
                "23/11/2026",
                "expected RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23)",
            ),
            (
                "2026-11-2",
                "expected RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23)",
            ),
            ("2026-13-01", "the month does not exist"),
            ("2025-02-29", "the day does not exist in that month"),
            ("2026-04-31", "the day does not exist in that month"),
            ("2026-11-00", "the day does not exist in that month"),
            ("1969-12-31", "the year is outside 1970-9999"),
            (
                "2026-11-23 10:00:00Z",
                "expected RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23)",
            ),
            (
                "2026-11-23T10:00Z",
                "the time must be HH:MM:SS followed by Z or an offset",
            ),
            (
                "2026-11-23T10:00:00",
                "the time must be HH:MM:SS followed by Z or an offset",
            ),
            (
                "2026-11-23T24:00:00Z",
                "the time of day does not exist (leap seconds are not accepted)",
            ),
            (
                "2026-12-31T23:59:60Z",
                "the time of day does not exist (leap seconds are not accepted)",
            ),
            (
                "2026-11-23T10:00:00.Z",
                "fractional seconds need 1 to 9 digits",
            ),
            (
                "2026-11-23T10:00:00+0100",
                "the offset must be +HH:MM or -HH:MM",
            ),
            ("2026-11-23T10:00:00+24:00", "the offset does not exist"),
            (
                "2026-11-23T10:00:00UTC",
                "the time needs Z or an offset such as +01:00",
            ),
            (
                "2026-11-23T1é:00:00Z",
                "the time must be HH:MM:SS followed by Z or an offset",
            ),
            (
                "２026-11-23",
                "expected RFC 3339 (2026-11-23T10:00:00Z) or a date (2026-11-23)",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_timestamp_ms(text), Err(*expected), "{text}");
        }
    }
}
