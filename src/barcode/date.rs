//! Calendar dates as GS1 values carry them: YYMMDD with the GS1 century rule, YYYYMMDD, and
//! the DD=00 "end of month" form. The reference "today" is always an argument; nothing here
//! reads a clock.

use std::fmt;

/// How many years before the reference year a two-digit year may reach (GS1 century rule).
pub const CENTURY_YEARS_BACK: i32 = 49;
/// How many years after the reference year a two-digit year may reach (GS1 century rule).
pub const CENTURY_YEARS_AHEAD: i32 = 50;

/// A calendar date. `year` is the full year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

impl Date {
    /// A date from its parts; use [`Date::is_valid`] to check that the day exists.
    pub const fn new(year: i32, month: u8, day: u8) -> Self {
        Date { year, month, day }
    }

    /// True when the month is 1-12 and the day exists in it.
    pub fn is_valid(&self) -> bool {
        days_in_month(self.year, self.month).is_some_and(|n| self.day >= 1 && self.day <= n)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Gregorian leap year.
pub fn is_leap_year(year: i32) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

/// The number of days in `month` of `year`, or `None` for a month outside 1-12.
pub fn days_in_month(year: i32, month: u8) -> Option<u8> {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => Some(31),
        4 | 6 | 9 | 11 => Some(30),
        2 if is_leap_year(year) => Some(29),
        2 => Some(28),
        _ => None,
    }
}

/// The full year for a two-digit year: the one year within [`CENTURY_YEARS_BACK`] years before
/// to [`CENTURY_YEARS_AHEAD`] years after `reference_year` that ends in `yy`.
pub fn century_year(yy: u8, reference_year: i32) -> i32 {
    let earliest = reference_year.saturating_sub(CENTURY_YEARS_BACK);
    let offset = (i32::from(yy) - earliest).rem_euclid(100);
    earliest.saturating_add(offset)
}

/// Why date digits are not a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateProblem {
    /// Not all characters are digits.
    NotDigits,
    /// The month is outside 01-12.
    Month(u8),
    /// DD=00, where the AI needs a real day.
    ZeroDay,
    /// The day does not exist in that month.
    Day { day: u8, days: u8 },
}

impl fmt::Display for DateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateProblem::NotDigits => write!(f, "a date must be digits"),
            DateProblem::Month(m) => write!(f, "month {m:02} does not exist"),
            DateProblem::ZeroDay => write!(f, "day 00 is not allowed for this AI"),
            DateProblem::Day { day, days } => {
                write!(f, "day {day:02} does not exist (the month has {days} days)")
            }
        }
    }
}

fn two_digits(d: &[u8]) -> Option<u8> {
    match d {
        [a, b] if a.is_ascii_digit() && b.is_ascii_digit() => Some((a - b'0') * 10 + (b - b'0')),
        _ => None,
    }
}

fn finish(year: i32, month: u8, day: u8, zero_day_allowed: bool) -> Result<Date, DateProblem> {
    let days = days_in_month(year, month).ok_or(DateProblem::Month(month))?;
    if day == 0 {
        return if zero_day_allowed {
            Ok(Date::new(year, month, days))
        } else {
            Err(DateProblem::ZeroDay)
        };
    }
    if day > days {
        return Err(DateProblem::Day { day, days });
    }
    Ok(Date::new(year, month, day))
}

/// Reads six digits YYMMDD. With `zero_day_allowed`, DD=00 means the last day of the month and
/// the returned date carries that day.
pub fn parse_yymmdd(
    digits: &[u8],
    reference_year: i32,
    zero_day_allowed: bool,
) -> Result<Date, DateProblem> {
    let (yy, mm, dd) = match digits {
        [y0, y1, m0, m1, d0, d1] => (
            two_digits(&[*y0, *y1]),
            two_digits(&[*m0, *m1]),
            two_digits(&[*d0, *d1]),
        ),
        _ => (None, None, None),
    };
    let (Some(yy), Some(mm), Some(dd)) = (yy, mm, dd) else {
        return Err(DateProblem::NotDigits);
    };
    finish(century_year(yy, reference_year), mm, dd, zero_day_allowed)
}

/// Reads eight digits YYYYMMDD; the day must exist.
pub fn parse_yyyymmdd(digits: &[u8]) -> Result<Date, DateProblem> {
    let [c0, c1, y0, y1, m0, m1, d0, d1] = digits else {
        return Err(DateProblem::NotDigits);
    };
    let (Some(cc), Some(yy), Some(mm), Some(dd)) = (
        two_digits(&[*c0, *c1]),
        two_digits(&[*y0, *y1]),
        two_digits(&[*m0, *m1]),
        two_digits(&[*d0, *d1]),
    ) else {
        return Err(DateProblem::NotDigits);
    };
    finish(i32::from(cc) * 100 + i32::from(yy), mm, dd, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn century_rule() {
        let cases: &[(u8, i32, i32)] = &[
            (26, 2026, 2026),
            (76, 2026, 2076),
            (77, 2026, 1977),
            (0, 2026, 2000),
            (99, 2026, 1999),
            (49, 2000, 2049),
            (50, 2000, 2050),
            (51, 2000, 1951),
            (0, 2070, 2100),
            (20, 2070, 2120),
            (21, 2070, 2021),
        ];
        for &(yy, reference, want) in cases {
            assert_eq!(century_year(yy, reference), want, "{yy} in {reference}");
        }
    }

    fn check(digits: &str, reference: i32, zero_ok: bool, expected: Result<Date, DateProblem>) {
        assert_eq!(
            parse_yymmdd(digits.as_bytes(), reference, zero_ok),
            expected,
            "{digits}"
        );
    }

    #[test]
    fn yymmdd_cases() {
        let ok = |y, m, d| Ok(Date::new(y, m, d));
        check("270101", 2026, false, ok(2027, 1, 1));
        check("240229", 2026, false, ok(2024, 2, 29));
        check(
            "250229",
            2026,
            false,
            Err(DateProblem::Day { day: 29, days: 28 }),
        );
        // 2000 is a leap year, 2100 is not: the century rule decides.
        check("000229", 2026, false, ok(2000, 2, 29));
        check(
            "000229",
            2080,
            false,
            Err(DateProblem::Day { day: 29, days: 28 }),
        );
        check("271300", 2026, true, Err(DateProblem::Month(13)));
        check("270000", 2026, true, Err(DateProblem::Month(0)));
        check("270200", 2026, true, ok(2027, 2, 28));
        check("280200", 2026, true, ok(2028, 2, 29));
        check("270200", 2026, false, Err(DateProblem::ZeroDay));
        check(
            "270431",
            2026,
            false,
            Err(DateProblem::Day { day: 31, days: 30 }),
        );
        check("27043", 2026, false, Err(DateProblem::NotDigits));
        check("27043A", 2026, false, Err(DateProblem::NotDigits));
    }

    #[test]
    fn yyyymmdd_cases() {
        assert_eq!(parse_yyyymmdd(b"19000228"), Ok(Date::new(1900, 2, 28)));
        assert_eq!(
            parse_yyyymmdd(b"19000229"),
            Err(DateProblem::Day { day: 29, days: 28 })
        );
        assert_eq!(parse_yyyymmdd(b"20000229"), Ok(Date::new(2000, 2, 29)));
        assert_eq!(parse_yyyymmdd(b"20000200"), Err(DateProblem::ZeroDay));
        assert_eq!(parse_yyyymmdd(b"2000020"), Err(DateProblem::NotDigits));
    }

    #[test]
    fn validity_and_display() {
        assert!(Date::new(2024, 2, 29).is_valid());
        assert!(!Date::new(2023, 2, 29).is_valid());
        assert!(!Date::new(2023, 0, 1).is_valid());
        assert_eq!(Date::new(2027, 1, 5).to_string(), "2027-01-05");
    }
}
