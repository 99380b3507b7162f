//! Civil-time formatting for messages and dates: Unix milliseconds to a UTC calendar date and
//! time, and back, without a time-zone database. Pure integer arithmetic.

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of each 400-year era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// (year, month, day) to days since 1970-01-01.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix milliseconds as (year, month, day, hour, minute, second, millisecond), UTC.
fn civil_time(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let (y, mo, d) = civil_from_days(ms.div_euclid(86_400_000));
    let of_day = ms.rem_euclid(86_400_000);
    let (h, mi) = (of_day / 3_600_000, of_day % 3_600_000 / 60_000);
    (y, mo, d, h, mi, of_day % 60_000 / 1000, of_day % 1000)
}

/// `2026-11-23 08:30:05 UTC` for Unix milliseconds.
pub fn format_utc(ms: i64) -> String {
    let (y, mo, d, h, mi, s, _) = civil_time(ms);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// `2026-11-23T08:30:05.123Z` (RFC 3339, UTC, milliseconds) for Unix milliseconds.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let (y, mo, d, h, mi, s, milli) = civil_time(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z")
}

/// The UTC calendar date of Unix milliseconds, as the barcode layer wants it.
pub fn date_utc(ms: i64) -> crate::barcode::Date {
    let (y, m, d) = civil_from_days(ms.div_euclid(1000).div_euclid(86_400));
    crate::barcode::Date::new(
        i32::try_from(y).unwrap_or(i32::MAX),
        u8::try_from(m).unwrap_or(1),
        u8::try_from(d).unwrap_or(1),
    )
}

/// `date` plus `months` calendar months, the day clamped to the end of a shorter month
/// (2026-01-31 + 1 month = 2026-02-28).
pub fn add_months(date: crate::barcode::Date, months: u32) -> crate::barcode::Date {
    let index = i64::from(date.year) * 12 + i64::from(date.month) - 1 + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).unwrap_or(i32::MAX);
    let month = u8::try_from(index.rem_euclid(12) + 1).unwrap_or(12);
    let last = crate::barcode::date::days_in_month(year, month).unwrap_or(28);
    crate::barcode::Date::new(year, month, date.day.min(last))
}

/// The current time in Unix milliseconds (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_across_leap_years_and_eras() {
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(
            days_from_civil(2024, 2, 29) + 1,
            days_from_civil(2024, 3, 1)
        );
        assert_eq!(format_utc(1_795_422_605_000), "2026-11-23 08:30:05 UTC");
        assert_eq!(
            format_rfc3339_ms(1_795_422_605_042),
            "2026-11-23T08:30:05.042Z"
        );
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339_ms(-1), "1969-12-31T23:59:59.999Z");
        use crate::barcode::Date;
        assert_eq!(
            add_months(Date::new(2026, 1, 31), 1),
            Date::new(2026, 2, 28)
        );
        assert_eq!(
            add_months(Date::new(2023, 12, 31), 2),
            Date::new(2024, 2, 29)
        );
        assert_eq!(
            add_months(Date::new(2026, 11, 23), 24),
            Date::new(2028, 11, 23)
        );
        assert_eq!(
            add_months(Date::new(2026, 11, 23), 0),
            Date::new(2026, 11, 23)
        );
    }
}
