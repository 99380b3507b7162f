//! The recorded-report text format the gateway replays with `--replay FILE` and tests check in:
//! one report per line as hex bytes (`02 38 5D 64 32 ...` or `02385D6432...`), whitespace
//! between bytes allowed, `#` starting a comment to the end of the line, blank lines skipped.
//! Parsing only: reading the file is the caller's.

use std::fmt::{self, Write as _};

use super::HidError;

/// The longest report a replay line may hold, in bytes (HID reports on full- and high-speed
/// USB are far shorter). A longer line is refused with its line number.
pub const REPLAY_REPORT_LEN_MAX: usize = 1024;

/// What is wrong with a replay line. Columns count characters from 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplayProblem {
    NotHex {
        column: usize,
        ch: char,
    },
    /// A hex digit without its pair (bytes are two digits; whitespace may not split one).
    HalfByte {
        column: usize,
    },
    TooLong {
        max: usize,
    },
}

impl fmt::Display for ReplayProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplayProblem::NotHex { column, ch } => {
                write!(f, "{ch:?} at column {column} is not a hex digit")
            }
            ReplayProblem::HalfByte { column } => write!(
                f,
                "hex digit at column {column} has no second digit; write each byte as two digits"
            ),
            ReplayProblem::TooLong { max } => {
                write!(
                    f,
                    "report has more than {max} bytes; split it or check the line"
                )
            }
        }
    }
}

/// The reports of a recording, in order. Lines are numbered from 1.
pub fn parse_replay(text: &str) -> Result<Vec<Vec<u8>>, HidError> {
    let mut reports = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fail = |problem| HidError::Replay {
            line: index + 1,
            problem,
        };
        let content = line.split('#').next().unwrap_or_default();
        let mut report = Vec::new();
        let mut high: Option<(u8, usize)> = None;
        for (i, ch) in content.chars().enumerate() {
            let column = i + 1;
            if ch.is_whitespace() {
                if let Some((_, column)) = high {
                    return Err(fail(ReplayProblem::HalfByte { column }));
                }
                continue;
            }
            // `to_digit(16)` is below 16, so the narrowing cannot lose anything.
            let Some(digit) = ch.to_digit(16).and_then(|d| u8::try_from(d).ok()) else {
                return Err(fail(ReplayProblem::NotHex { column, ch }));
            };
            match high.take() {
                None => high = Some((digit, column)),
                Some((high_digit, _)) => {
                    if report.len() == REPLAY_REPORT_LEN_MAX {
                        return Err(fail(ReplayProblem::TooLong {
                            max: REPLAY_REPORT_LEN_MAX,
                        }));
                    }
                    report.push(high_digit << 4 | digit);
                }
            }
        }
        if let Some((_, column)) = high {
            return Err(fail(ReplayProblem::HalfByte { column }));
        }
        if !report.is_empty() {
            reports.push(report);
        }
    }
    Ok(reports)
}

/// One report as a replay line: uppercase hex bytes separated by spaces.
pub fn format_report_hex(report: &[u8]) -> String {
    let mut line = String::with_capacity(report.len() * 3);
    for (i, byte) in report.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        // Writing to a String cannot fail.
        let _ = write!(line, "{byte:02X}");
    }
    line
}
