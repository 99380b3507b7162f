//! Label templates and ZPL II for Zebra-compatible printers: a [`LabelSpec`] (size, resolution,
//! which fields are printed) and a unit's [`LabelData`] become one `^XA ... ^XZ` format, several
//! of them one job. The layout (where each field goes, in printer dots) is computed once here
//! and shared with the preview in `render`, so the preview shows what the printer prints.
//! Pure: no printer is contacted here (`send` does that).
//!
//! Field data escaping: text and QR fields are preceded by `^FH_`, and `^`, `~`, `_` and
//! control bytes are written as `_XX` (hex); the Code 128 field uses ZPL's invocation codes
//! instead (`>0` for `>`), since `^BC` reads `>` as the start of one.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use qrcode::bits::Bits;
use qrcode::types::Version;
use qrcode::{EcLevel, QrCode};

use super::code128;
use super::payload::{Payload, QrSymbol};

/// The narrowest and widest label, in mm. Outside this a spec is refused.
pub const LABEL_WIDTH_MM_MIN: u16 = 10;
pub const LABEL_WIDTH_MM_MAX: u16 = 220;
/// The shortest and longest label, in mm. Outside this a spec is refused.
pub const LABEL_HEIGHT_MM_MIN: u16 = 10;
pub const LABEL_HEIGHT_MM_MAX: u16 = 400;
/// The most extra text lines a spec may name. More are refused.
pub const EXTRA_FIELDS_MAX: usize = 8;
/// The longest extra field name, in bytes. A longer one is refused.
pub const FIELD_NAME_LEN_MAX: usize = 32;
/// The longest value of any printed text field, in characters. A longer one is refused.
pub const FIELD_VALUE_LEN_MAX: usize = 64;
/// The longest QR payload, in bytes. A longer one is refused.
pub const PAYLOAD_LEN_MAX: usize = 1024;
/// The most labels in one job. A larger job is refused; split it.
pub const JOB_LABELS_MAX: usize = 10_000;
/// The largest `^BQ` magnification ZPL accepts.
pub const QR_MAGNIFICATION_MAX: u32 = 10;
/// The widest Code 128 module `^BY` accepts, in dots.
pub const CODE128_MODULE_DOTS_MAX: u32 = 10;
/// Modules of quiet zone kept free on every side of the QR code.
pub const QR_QUIET_MODULES: u32 = 4;
/// Modules of quiet zone kept free left and right of the Code 128.
pub const CODE128_QUIET_MODULES: u32 = 10;

/// The QR error correction level used for printing and preview (ZPL `Q`, 25 %): labels get
/// scuffed.
pub const QR_EC_LEVEL: EcLevel = EcLevel::Q;

/// Printer resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dpi {
    Dpi203,
    Dpi300,
}

impl Dpi {
    /// Printer dots per mm as Zebra counts them (8 and 12).
    pub fn dots_per_mm(self) -> u32 {
        match self {
            Dpi::Dpi203 => 8,
            Dpi::Dpi300 => 12,
        }
    }

    /// 203 or 300; `None` for any other number.
    pub fn from_number(dpi: u32) -> Option<Dpi> {
        match dpi {
            203 => Some(Dpi::Dpi203),
            300 => Some(Dpi::Dpi300),
            _ => None,
        }
    }
}

/// A label template: its size and which fields it prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelSpec {
    pub width_mm: u16,
    pub height_mm: u16,
    pub dpi: Dpi,
    /// The QR code of the unit's payload.
    pub qr: bool,
    /// The SKU as text (the largest line).
    pub sku_text: bool,
    /// The serial as text.
    pub serial_text: bool,
    /// A Code 128 barcode of the serial.
    pub code128: bool,
    /// Names of further text lines, printed as `name: value` from [`LabelData::fields`]
    /// (lot, batch, size, colour, po, ...). A label whose data lacks one is refused.
    pub extra_fields: Vec<String>,
}

/// One unit's values for a label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelData {
    pub sku: String,
    pub serial: String,
    pub payload: Payload,
    /// Values of the spec's extra fields by name.
    pub fields: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("label width {0} mm is outside {LABEL_WIDTH_MM_MIN}-{LABEL_WIDTH_MM_MAX} mm")]
    Width(u16),
    #[error("label height {0} mm is outside {LABEL_HEIGHT_MM_MIN}-{LABEL_HEIGHT_MM_MAX} mm")]
    Height(u16),
    #[error("the label prints nothing; choose at least one of qr, sku, serial, code128 or a field")]
    Empty,
    #[error("{0} extra fields are too many; at most {EXTRA_FIELDS_MAX}")]
    TooManyFields(usize),
    #[error(
        "field name {0:?} must be 1-{FIELD_NAME_LEN_MAX} letters, digits or '_' (such as lot, po)"
    )]
    FieldName(String),
    #[error("field {0:?} is named twice")]
    FieldTwice(String),
    #[error("label for serial {serial:?} has no value for field {name:?}; printing is blocked")]
    FieldMissing { serial: String, name: String },
    #[error("{what} is empty; printing is blocked")]
    ValueEmpty { what: String },
    #[error("{what} has {len} characters; at most {FIELD_VALUE_LEN_MAX} are printed")]
    ValueTooLong { what: String, len: usize },
    #[error("{what} contains control character U+{code:04X}")]
    ValueControl { what: String, code: u32 },
    #[error("QR payload has {0} bytes; at most {PAYLOAD_LEN_MAX}")]
    PayloadTooLong(usize),
    #[error(
        "QR payload character {ch:?} at position {position} is not ASCII; printers' automatic QR mode cannot encode it"
    )]
    PayloadCharacter { ch: char, position: usize },
    #[error(
        "a structured (GS1 QR) payload cannot be printed in ZPL: ^BQ documents no FNC1 mode; use the digital-link strategy for printed labels"
    )]
    Gs1QrInZpl,
    #[error("QR payload does not fit any QR code version: {0}")]
    QrData(String),
    #[error(
        "QR code of {modules} modules does not fit {available_dots} dots with its quiet zone; use a larger label or a shorter payload"
    )]
    QrTooLarge { modules: u32, available_dots: u32 },
    #[error("Code 128 of the serial: {0}")]
    Code128(#[from] code128::Code128Error),
    #[error(
        "Code 128 of {modules} modules does not fit {available_dots} dots with its quiet zones; use a wider label or leave the barcode out"
    )]
    Code128TooWide { modules: u32, available_dots: u32 },
    #[error(
        "the text lines and barcode need {needed_dots} dots of height but the label has {available_dots}"
    )]
    TooTall {
        needed_dots: u32,
        available_dots: u32,
    },
    #[error("a job of {0} labels is too large; at most {JOB_LABELS_MAX}, split it")]
    JobTooLarge(usize),
    #[error("a job needs at least one label")]
    JobEmpty,
}

/// One text line placed on the label.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextLine {
    pub x: u32,
    pub y: u32,
    /// Character height in dots.
    pub height: u32,
    /// The width the line may take, in dots.
    pub width: u32,
    pub text: String,
}

/// Where the QR code goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrPlacement {
    /// The top left corner of the symbol (its quiet zone lies outside).
    pub x: u32,
    pub y: u32,
    /// Dots per module (the `^BQ` magnification).
    pub magnification: u32,
    /// Modules per side.
    pub modules: u32,
}

/// Where the Code 128 goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BarcodePlacement {
    pub x: u32,
    pub y: u32,
    /// Dots per narrow module (`^BY`).
    pub module_dots: u32,
    pub height: u32,
    pub modules: u32,
}

/// Every field of one label in printer dots, origin top left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub width: u32,
    pub height: u32,
    pub qr: Option<QrPlacement>,
    pub lines: Vec<TextLine>,
    pub code128: Option<BarcodePlacement>,
}

fn mm(spec: &LabelSpec, tenths_mm: u32) -> u32 {
    (tenths_mm * spec.dpi.dots_per_mm()).div_ceil(10)
}

impl LabelSpec {
    /// Checks size and field names.
    pub fn validate(&self) -> Result<(), LabelError> {
        if !(LABEL_WIDTH_MM_MIN..=LABEL_WIDTH_MM_MAX).contains(&self.width_mm) {
            return Err(LabelError::Width(self.width_mm));
        }
        if !(LABEL_HEIGHT_MM_MIN..=LABEL_HEIGHT_MM_MAX).contains(&self.height_mm) {
            return Err(LabelError::Height(self.height_mm));
        }
        if self.extra_fields.len() > EXTRA_FIELDS_MAX {
            return Err(LabelError::TooManyFields(self.extra_fields.len()));
        }
        for (i, name) in self.extra_fields.iter().enumerate() {
            let shaped = !name.is_empty()
                && name.len() <= FIELD_NAME_LEN_MAX
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            if !shaped {
                return Err(LabelError::FieldName(name.clone()));
            }
            if self.extra_fields.iter().take(i).any(|n| n == name) {
                return Err(LabelError::FieldTwice(name.clone()));
            }
        }
        let prints = self.qr
            || self.sku_text
            || self.serial_text
            || self.code128
            || !self.extra_fields.is_empty();
        if !prints {
            return Err(LabelError::Empty);
        }
        Ok(())
    }

    /// The label's width and height in dots.
    pub fn dots(&self) -> (u32, u32) {
        let d = self.dpi.dots_per_mm();
        (u32::from(self.width_mm) * d, u32::from(self.height_mm) * d)
    }
}

fn check_text(what: &str, value: &str) -> Result<(), LabelError> {
    if value.is_empty() {
        return Err(LabelError::ValueEmpty {
            what: what.to_owned(),
        });
    }
    let len = value.chars().count();
    if len > FIELD_VALUE_LEN_MAX {
        return Err(LabelError::ValueTooLong {
            what: what.to_owned(),
            len,
        });
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(LabelError::ValueControl {
            what: what.to_owned(),
            code: u32::from(c),
        });
    }
    Ok(())
}

/// Checks a QR payload for printing and returns its modules per side at [`QR_EC_LEVEL`].
pub fn qr_modules(payload: &Payload) -> Result<u32, LabelError> {
    let text = &payload.text;
    if text.is_empty() {
        return Err(LabelError::ValueEmpty {
            what: "QR payload".to_owned(),
        });
    }
    if text.len() > PAYLOAD_LEN_MAX {
        return Err(LabelError::PayloadTooLong(text.len()));
    }
    if let Some((i, ch)) = text.chars().enumerate().find(|(_, c)| !c.is_ascii()) {
        return Err(LabelError::PayloadCharacter {
            ch,
            position: i + 1,
        });
    }
    let code = qr_code(payload)?;
    Ok(u32::try_from(code.width()).unwrap_or(u32::MAX))
}

/// The QR symbol of a payload at [`QR_EC_LEVEL`]: the smallest version that holds the data
/// in byte mode. Byte mode is what every QR encoder can fall back to, so a printer whose
/// automatic mode chooses its segments at least as well needs no more modules, and its symbol
/// does not outgrow the place the layout gives it. A GS1 payload also gets FNC1 in first position; in byte mode
/// GS is the separator as it is (in alphanumeric mode `%` would stand for it).
pub fn qr_code(payload: &Payload) -> Result<QrCode, LabelError> {
    let data = payload.text.as_bytes();
    for version in 1..=40 {
        let mut bits = Bits::new(Version::Normal(version));
        let fnc1 = match payload.symbol {
            QrSymbol::Plain => Ok(()),
            QrSymbol::Gs1 => bits.push_fnc1_first_position(),
        };
        let pushed = fnc1
            .and_then(|()| bits.push_byte_data(data))
            .and_then(|()| bits.push_terminator(QR_EC_LEVEL));
        if pushed.is_ok() {
            return QrCode::with_bits(bits, QR_EC_LEVEL)
                .map_err(|e| LabelError::QrData(e.to_string()));
        }
    }
    Err(LabelError::QrData(format!(
        "{} bytes do not fit the largest version at error correction level Q",
        data.len()
    )))
}

/// The text lines a spec prints for `data`, in order: SKU, serial, extra fields.
fn line_texts(spec: &LabelSpec, data: &LabelData) -> Result<Vec<(String, u32)>, LabelError> {
    let mut lines = Vec::new();
    if spec.sku_text {
        check_text("sku", &data.sku)?;
        lines.push((data.sku.clone(), 35));
    }
    if spec.serial_text {
        check_text("serial", &data.serial)?;
        lines.push((data.serial.clone(), 30));
    }
    for name in &spec.extra_fields {
        let value = data
            .fields
            .get(name)
            .ok_or_else(|| LabelError::FieldMissing {
                serial: data.serial.clone(),
                name: name.clone(),
            })?;
        check_text(name, value)?;
        lines.push((format!("{name}: {value}"), 25));
    }
    Ok(lines)
}

/// Places every field of `spec` for `data`: the Code 128 in a band along the bottom across
/// the whole width (6 mm high), the QR code at the top left as large as the height above the
/// band allows (at most half the width when text is printed too), text lines to its right from
/// the top (SKU 3.5 mm, serial 3 mm, extra lines 2.5 mm high). Margins are 2 mm.
pub fn layout(spec: &LabelSpec, data: &LabelData) -> Result<Layout, LabelError> {
    spec.validate()?;
    let (width, height) = spec.dots();
    let margin = mm(spec, 20);
    let gap = mm(spec, 15);
    let lines = line_texts(spec, data)?;
    let across = width.saturating_sub(2 * margin);

    let mut content_bottom = height.saturating_sub(margin);
    let code128 = if spec.code128 {
        code128::symbols(&data.serial)?;
        let n = data.serial.chars().count();
        let modules = u32::try_from(code128::module_count(n)).unwrap_or(u32::MAX);
        let needed = modules + 2 * CODE128_QUIET_MODULES;
        let module_dots = (across / needed).min(CODE128_MODULE_DOTS_MAX);
        if module_dots == 0 {
            return Err(LabelError::Code128TooWide {
                modules,
                available_dots: across,
            });
        }
        let bar_height = mm(spec, 60);
        let y = content_bottom.saturating_sub(bar_height);
        content_bottom = y.saturating_sub(gap);
        Some(BarcodePlacement {
            x: margin + CODE128_QUIET_MODULES * module_dots,
            y,
            module_dots,
            height: bar_height,
            modules,
        })
    } else {
        None
    };
    let content_height = content_bottom.saturating_sub(margin);

    let mut column_x = margin;
    let qr = if spec.qr {
        let modules = qr_modules(&data.payload)?;
        let side_modules = modules + 2 * QR_QUIET_MODULES;
        let available = content_height.min(if lines.is_empty() { across } else { across / 2 });
        let magnification = (available / side_modules).min(QR_MAGNIFICATION_MAX);
        if magnification == 0 {
            return Err(LabelError::QrTooLarge {
                modules,
                available_dots: available,
            });
        }
        let quiet = QR_QUIET_MODULES * magnification;
        column_x = margin + side_modules * magnification + gap;
        Some(QrPlacement {
            x: margin + quiet,
            y: margin + quiet,
            magnification,
            modules,
        })
    } else {
        None
    };
    let column_width = width.saturating_sub(margin + column_x);

    let mut y = margin;
    let mut placed = Vec::new();
    for (text, tenths) in lines {
        let h = mm(spec, tenths);
        placed.push(TextLine {
            x: column_x,
            y,
            height: h,
            width: column_width,
            text,
        });
        y += h + mm(spec, 10);
    }
    let text_bottom = placed.last().map_or(margin, |l| l.y + l.height);
    if text_bottom > content_bottom || content_bottom <= margin {
        return Err(LabelError::TooTall {
            needed_dots: text_bottom.max(margin + 1) + (height - content_bottom),
            available_dots: height,
        });
    }
    Ok(Layout {
        width,
        height,
        qr,
        lines: placed,
        code128,
    })
}

/// Appends `value` for a field under `^FH_`: `^`, `~`, `_` and control bytes as `_XX`.
fn push_hex_escaped(value: &str, out: &mut String) {
    for c in value.chars() {
        if matches!(c, '^' | '~' | '_') || c.is_ascii_control() {
            let _ = write!(out, "_{:02X}", u32::from(c));
        } else {
            out.push(c);
        }
    }
}

/// Appends `serial` as `^BC` field data in code set B: `>` `^` `~` as invocation codes.
fn push_code128_data(serial: &str, out: &mut String) {
    out.push_str(">:");
    for c in serial.chars() {
        match c {
            '>' => out.push_str(">0"),
            '^' => out.push_str("><"),
            '~' => out.push_str(">="),
            c => out.push(c),
        }
    }
}

/// One label as a ZPL II format, `^XA` to `^XZ`.
pub fn zpl(spec: &LabelSpec, data: &LabelData) -> Result<String, LabelError> {
    if spec.qr && data.payload.symbol == QrSymbol::Gs1 {
        return Err(LabelError::Gs1QrInZpl);
    }
    let layout = layout(spec, data)?;
    let mut out = String::new();
    let _ = write!(out, "^XA^CI28^PW{}^LL{}^LH0,0", layout.width, layout.height);
    if let Some(qr) = &layout.qr {
        let _ = write!(
            out,
            "^FO{},{}^BQN,2,{}^FH_^FDQA,",
            qr.x, qr.y, qr.magnification
        );
        push_hex_escaped(&data.payload.text, &mut out);
        out.push_str("^FS");
    }
    for line in &layout.lines {
        let _ = write!(
            out,
            "^FO{},{}^A0N,{},{}^FB{},1,0,L,0^FH_^FD",
            line.x, line.y, line.height, line.height, line.width
        );
        push_hex_escaped(&line.text, &mut out);
        out.push_str("^FS");
    }
    if let Some(bar) = &layout.code128 {
        let _ = write!(
            out,
            "^FO{},{}^BY{}^BCN,{},N,N,N,N^FD",
            bar.x, bar.y, bar.module_dots, bar.height
        );
        push_code128_data(&data.serial, &mut out);
        out.push_str("^FS");
    }
    out.push_str("^XZ\n");
    Ok(out)
}

/// A print job: one format per label, in order. Nothing is returned unless every label is
/// printable, so a job never prints half.
pub fn zpl_job(spec: &LabelSpec, labels: &[LabelData]) -> Result<String, LabelError> {
    if labels.is_empty() {
        return Err(LabelError::JobEmpty);
    }
    if labels.len() > JOB_LABELS_MAX {
        return Err(LabelError::JobTooLarge(labels.len()));
    }
    let mut out = String::new();
    for data in labels {
        out.push_str(&zpl(spec, data)?);
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::label::payload::{QrStrategy, UnitIds};

    /// A ZPL command: its two-character name with prefix (`^FO`) and the text after it.
    #[derive(Debug, PartialEq, Eq)]
    struct Command {
        name: String,
        args: String,
    }

    /// Splits a format into commands at `^` and `~` (field data has none: they are escaped).
    fn split(zpl: &str) -> Vec<Command> {
        let mut out = Vec::new();
        let mut rest = zpl.trim_end_matches('\n');
        while !rest.is_empty() {
            assert!(rest.starts_with(['^', '~']), "command expected at {rest:?}");
            let end = rest[1..].find(['^', '~']).map_or(rest.len(), |i| i + 1);
            let (cmd, tail) = rest.split_at(end);
            let name_len = if cmd.starts_with("^A0") {
                3
            } else {
                3.min(cmd.len())
            };
            out.push(Command {
                name: cmd[..name_len].to_owned(),
                args: cmd[name_len..].to_owned(),
            });
            rest = tail;
        }
        out
    }

    fn args<'a>(commands: &'a [Command], name: &str) -> Vec<&'a str> {
        commands
            .iter()
            .filter(|c| c.name == name)
            .map(|c| c.args.as_str())
            .collect()
    }

    /// Undoes `^FH_` escaping.
    fn unhex(text: &str) -> String {
        let mut out = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'_' {
                out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    /// A 60 x 30 mm label at 203 dpi printing everything, with a lot line.
    pub(crate) fn spec() -> LabelSpec {
        LabelSpec {
            width_mm: 60,
            height_mm: 30,
            dpi: Dpi::Dpi203,
            qr: true,
            sku_text: true,
            serial_text: true,
            code128: true,
            extra_fields: vec!["lot".into()],
        }
    }

    fn data(serial: &str, payload: &str) -> LabelData {
        LabelData {
            sku: "SHIRT-M".into(),
            serial: serial.into(),
            payload: Payload {
                text: payload.into(),
                symbol: QrSymbol::Plain,
            },
            fields: BTreeMap::from([("lot".to_owned(), "L7".to_owned())]),
        }
    }

    #[test]
    fn a_label_field_by_field() {
        let payload = QrStrategy::DigitalLink {
            domain: "id.example.com".into(),
        }
        .payload(&UnitIds {
            serial: "AB>1",
            gtin: Some("09506000134352"),
            lot: None,
        })
        .unwrap();
        let mut d = data("AB>1", "");
        d.payload = payload.clone();
        let out = zpl(&spec(), &d).unwrap();
        assert!(out.ends_with("^XZ\n"));
        let c = split(&out);
        let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "^XA", "^CI", "^PW", "^LL", "^LH", // header
                "^FO", "^BQ", "^FH", "^FD", "^FS", // QR
                "^FO", "^A0", "^FB", "^FH", "^FD", "^FS", // SKU
                "^FO", "^A0", "^FB", "^FH", "^FD", "^FS", // serial
                "^FO", "^A0", "^FB", "^FH", "^FD", "^FS", // lot
                "^FO", "^BY", "^BC", "^FD", "^FS", // Code 128
                "^XZ",
            ]
        );
        assert_eq!(args(&c, "^CI"), ["28"]);
        assert_eq!(args(&c, "^PW"), ["480"]);
        assert_eq!(args(&c, "^LL"), ["240"]);
        let qr = args(&c, "^BQ")[0];
        let fields: Vec<&str> = qr.split(',').collect();
        assert_eq!(fields[..2], ["N", "2"]);
        let mag: u32 = fields[2].parse().unwrap();
        assert!((1..=10).contains(&mag));
        assert!(args(&c, "^FH").iter().all(|a| *a == "_"));
        let fd = args(&c, "^FD");
        assert_eq!(fd[0], format!("QA,{}", payload.text));
        assert_eq!(fd[1], "SHIRT-M");
        assert_eq!(fd[2], "AB>1");
        assert_eq!(fd[3], "lot: L7");
        assert_eq!(fd[4], ">:AB>01");
        assert_eq!(args(&c, "^A0")[0], "N,28,28");
        let bc: Vec<&str> = args(&c, "^BC")[0].split(',').collect();
        assert_eq!(bc[0], "N");
        assert_eq!(bc[2..], ["N", "N", "N", "N"]);
        // Every placed field lies on the label.
        let layout = layout(&spec(), &d).unwrap();
        let qr = layout.qr.unwrap();
        assert!(qr.x + (qr.modules + QR_QUIET_MODULES) * qr.magnification <= 480);
        for line in &layout.lines {
            assert!(
                line.x + line.width <= 480 && line.y + line.height <= 240,
                "{line:?}"
            );
        }
        let bar = layout.code128.unwrap();
        assert!(bar.x + (bar.modules + CODE128_QUIET_MODULES) * bar.module_dots <= 480);
        assert!(bar.y + bar.height <= 240);
    }

    #[test]
    fn carets_tildes_and_underscores_survive_escaping() {
        let payload = "https://x.example/q/a^b~c_d%5E";
        let mut d = data("S_1", payload);
        d.sku = "SKU^~_".into();
        let out = zpl(&spec(), &d).unwrap();
        let c = split(&out);
        let fd = args(&c, "^FD");
        assert_eq!(fd[0], "QA,https://x.example/q/a_5Eb_7Ec_5Fd%5E");
        assert_eq!(unhex(fd[0]), format!("QA,{payload}"));
        assert_eq!(unhex(fd[1]), "SKU^~_");
        assert_eq!(unhex(fd[2]), "S_1");
        // Code 128 data takes no ^FH: '_' is itself there.
        assert_eq!(fd[4], ">:S_1");
    }

    #[test]
    fn dpi_300_and_several_labels_in_one_job() {
        let mut s = spec();
        s.dpi = Dpi::Dpi300;
        let job = zpl_job(
            &s,
            &[
                data("S1", "https://b.example/q/S1"),
                data("S2", "https://b.example/q/S2"),
            ],
        )
        .unwrap();
        assert_eq!(job.matches("^XA").count(), 2);
        assert_eq!(job.matches("^XZ\n").count(), 2);
        let formats: Vec<&str> = job.split_inclusive("^XZ\n").collect();
        assert_eq!(formats.len(), 2);
        assert!(formats[1].contains("^FDQA,https://b.example/q/S2^FS"));
        let c = split(formats[0]);
        assert_eq!(args(&c, "^PW"), ["720"]);
        assert_eq!(args(&c, "^LL"), ["360"]);
        assert_eq!(zpl_job(&s, &[]), Err(LabelError::JobEmpty));
        let one = data("S1", "https://b.example/q/S1");
        let many = vec![one; JOB_LABELS_MAX + 1];
        assert_eq!(
            zpl_job(&s, &many),
            Err(LabelError::JobTooLarge(JOB_LABELS_MAX + 1))
        );
    }

    #[test]
    fn refusals() {
        let ok = data("S1", "https://b.example/q/S1");
        let cases: Vec<(LabelSpec, LabelData, LabelError)> = vec![
            (
                LabelSpec {
                    width_mm: 9,
                    ..spec()
                },
                ok.clone(),
                LabelError::Width(9),
            ),
            (
                LabelSpec {
                    height_mm: 401,
                    ..spec()
                },
                ok.clone(),
                LabelError::Height(401),
            ),
            (
                LabelSpec {
                    qr: false,
                    sku_text: false,
                    serial_text: false,
                    code128: false,
                    extra_fields: vec![],
                    ..spec()
                },
                ok.clone(),
                LabelError::Empty,
            ),
            (
                LabelSpec {
                    extra_fields: vec!["lot no".into()],
                    ..spec()
                },
                ok.clone(),
                LabelError::FieldName("lot no".into()),
            ),
            (
                LabelSpec {
                    extra_fields: vec!["lot".into(), "lot".into()],
                    ..spec()
                },
                ok.clone(),
                LabelError::FieldTwice("lot".into()),
            ),
            (
                LabelSpec {
                    extra_fields: vec!["po".into()],
                    ..spec()
                },
                ok.clone(),
                LabelError::FieldMissing {
                    serial: "S1".into(),
                    name: "po".into(),
                },
            ),
            (
                spec(),
                LabelData {
                    sku: String::new(),
                    ..ok.clone()
                },
                LabelError::ValueEmpty { what: "sku".into() },
            ),
            (
                spec(),
                LabelData {
                    sku: "A\nB".into(),
                    ..ok.clone()
                },
                LabelError::ValueControl {
                    what: "sku".into(),
                    code: 10,
                },
            ),
            (
                spec(),
                data("S1", "https://b.example/q/é"),
                LabelError::PayloadCharacter {
                    ch: 'é',
                    position: 21,
                },
            ),
            (
                spec(),
                LabelData {
                    payload: Payload {
                        text: "0109506000134352215".into(),
                        symbol: QrSymbol::Gs1,
                    },
                    ..ok.clone()
                },
                LabelError::Gs1QrInZpl,
            ),
            (
                // QR only: 10 mm less 2 mm margins is 48 dots for 81 + 8 modules.
                LabelSpec {
                    width_mm: 20,
                    height_mm: 10,
                    sku_text: false,
                    serial_text: false,
                    code128: false,
                    extra_fields: vec![],
                    ..spec()
                },
                data("S1", &format!("https://b.example/q/{}", "x".repeat(300))),
                LabelError::QrTooLarge {
                    modules: 81,
                    available_dots: 48,
                },
            ),
            (
                // 40 characters: 11 * 42 + 13 modules and 20 of quiet zone in 208 dots.
                LabelSpec {
                    width_mm: 30,
                    ..spec()
                },
                data(&"9".repeat(40), "https://b.example/q/S1"),
                LabelError::Code128TooWide {
                    modules: 475,
                    available_dots: 208,
                },
            ),
            (
                // Three lines end at dot 104; then a gap of 12, the 48-dot bar and the margin.
                LabelSpec {
                    height_mm: 10,
                    qr: false,
                    ..spec()
                },
                ok.clone(),
                LabelError::TooTall {
                    needed_dots: 180,
                    available_dots: 80,
                },
            ),
        ];
        for (s, d, expected) in cases {
            assert_eq!(zpl(&s, &d), Err(expected), "{s:?}");
        }
    }

    proptest::proptest! {
        // Each case encodes a QR code of up to 200 bytes: 64 cases keep the suite quick.
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        /// No field value can add or end a ZPL command: whatever the SKU, serial, lot and
        /// payload hold, the format has the same commands, and each field reads back.
        #[test]
        fn field_values_cannot_inject_commands(
            sku in "[^\\p{Cc}]{1,64}",
            serial in "[ -~]{1,20}",
            lot in "[^\\p{Cc}]{1,59}",
            payload in "[ -~]{1,200}",
        ) {
            let mut d = data(&serial, &payload);
            d.sku = sku.clone();
            d.fields.insert("lot".into(), lot.clone());
            let mut s = spec();
            s.width_mm = 100;
            s.height_mm = 60;
            let out = zpl(&s, &d).unwrap();
            let c = split(&out);
            let names: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
            proptest::prop_assert_eq!(names.len(), 34, "{}", out);
            let fd = args(&c, "^FD");
            proptest::prop_assert_eq!(unhex(fd[0]), format!("QA,{payload}"));
            proptest::prop_assert_eq!(unhex(fd[1]), sku);
            proptest::prop_assert_eq!(unhex(fd[2]), serial.clone());
            proptest::prop_assert_eq!(unhex(fd[3]), format!("lot: {lot}"));
            let mut code128 = String::new();
            let mut chars = fd[4].strip_prefix(">:").unwrap().chars();
            while let Some(c) = chars.next() {
                code128.push(match c {
                    '>' => match chars.next() {
                        Some('0') => '>',
                        Some('<') => '^',
                        Some('=') => '~',
                        other => panic!("invocation code >{other:?} in {out}"),
                    },
                    c => c,
                });
            }
            proptest::prop_assert_eq!(code128, serial);
        }
    }
}
