//! Pure barcode interpretation: the bytes a scanner sent become the identifiers the scan path
//! needs (serial, GTIN, lot), plus the check-character schemes and serial format rules.
//! No I/O, no tonic or sled types: everything here is a function of its arguments.

pub mod check;
pub mod serial_rule;

pub use serial_rule::{
    Charset, CheckScheme, FormatViolation, RuleError, SERIAL_LEN_MAX, SerialRule,
};

/// The longest raw scan accepted, in bytes. A longer one is refused with INVALID_ARGUMENT
/// before anything is written (the largest 2D symbols carry about 3 KB).
pub const RAW_SCAN_LEN_MAX: usize = 4096;

/// What a scan was read as.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanIdentifiers {
    pub gtin: Option<String>,
    pub serial: Option<String>,
    pub lot: Option<String>,
    /// Noise that was cleaned up on the way (a trailing CR, a BOM); shown to the operator.
    pub warnings: Vec<String>,
}

/// Why a scan could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    #[error("scan is empty")]
    Empty,
    #[error("scan is not valid UTF-8 at byte {0}")]
    NotUtf8(usize),
    #[error(
        "control character 0x{byte:02X} at position {position} is not allowed in a plain serial"
    )]
    ControlCharacter { byte: u8, position: usize },
}

/// Reads a scan as a plain serial, dropping the line ending scanners append.
pub fn interpret_scan(raw: &[u8]) -> Result<ScanIdentifiers, BarcodeError> {
    let mut warnings = Vec::new();
    let mut end = raw.len();
    while end > 0 && matches!(raw[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    if end != raw.len() {
        warnings.push("trailing line ending removed".to_owned());
    }
    let data = &raw[..end];
    if data.is_empty() {
        return Err(BarcodeError::Empty);
    }
    let text = std::str::from_utf8(data).map_err(|e| BarcodeError::NotUtf8(e.valid_up_to()))?;
    if let Some((i, b)) = data.iter().enumerate().find(|(_, b)| b.is_ascii_control()) {
        return Err(BarcodeError::ControlCharacter {
            byte: *b,
            position: i + 1,
        });
    }
    Ok(ScanIdentifiers {
        serial: Some(text.to_owned()),
        warnings,
        ..ScanIdentifiers::default()
    })
}
