//! The gateway's configuration: which scanners it reads, how their reports decode, and the
//! station and action each one's scans are made for. Read from a small JSON file (`--config`);
//! the `--stdin` and `--replay` inputs take their binding from command-line flags instead.
//! Pure: parsing, checking and matching found devices against the configuration. Opening
//! devices is `device.rs`.
//!
//! ```json
//! {
//!   "scanners": [
//!     { "name": "dock-1", "mode": "pos", "vendor_id": "0x0c2e", "product_id": "0x0b87",
//!       "bind": { "station": "DOCK-1", "action": "receive", "sku": "TV-65" } },
//!     { "name": "dock-2", "mode": "keyboard", "vendor_id": "0x05f9", "product_id": "0x2206",
//!       "layout": "de", "bind": { "station": "DOCK-2", "action": "receive" } }
//!   ],
//!   "other_pos_scanners": { "station": "DOCK-1", "action": "receive" }
//! }
//! ```

use serde::Deserialize;

use super::hid::{Decoder, KeyboardConfig, Terminator, layout_by_name};
use crate::barcode::RAW_SCAN_LEN_MAX;
use crate::domain::{self, Action, EntryMode, LOT_LEN_MAX, REF_LEN_MAX, STATION_LEN_MAX};
use crate::proto::v1 as pb;

/// The most scanners one configuration may list. More are refused when the file is read.
pub const SCANNERS_MAX: usize = 64;
/// The longest scanner name, in bytes. A longer one is refused when the file is read.
pub const SCANNER_NAME_LEN_MAX: usize = 64;
/// HID usage page of bar code scanners (HID POS).
pub const USAGE_PAGE_POS: u16 = 0x8C;
/// HID usage page and usage of a keyboard (Generic Desktop / Keyboard).
pub const USAGE_PAGE_GENERIC_DESKTOP: u16 = 0x01;
pub const USAGE_KEYBOARD: u16 = 0x06;

/// Why a configuration or a binding was refused. Messages say what to change.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config is not valid JSON for the gateway: {0}")]
    Json(#[from] serde_json::Error),
    #[error("scanner {scanner:?}: {problem}")]
    Scanner { scanner: String, problem: String },
    #[error("{0}")]
    Binding(String),
    #[error("config lists {0} scanners; at most {SCANNERS_MAX} are allowed")]
    TooManyScanners(usize),
}

/// What every scan of one input is made for: the station and action, and the request fields
/// the action needs (a putaway's location, a pick's order ...). The same fields are the
/// command line's flags for `--stdin` and `--replay`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct BindingConfig {
    /// The station the scans are made at.
    #[arg(long, default_value = "")]
    pub station: String,
    /// receive, putaway, pick, dispatch, return, quarantine or scrap.
    #[arg(long, default_value = "")]
    pub action: String,
    #[serde(default)]
    #[arg(long, env = "USER", default_value = "")]
    pub operator: String,
    /// The item, when the barcode does not name it.
    #[serde(default)]
    #[arg(long, default_value = "")]
    pub sku: String,
    #[serde(default)]
    #[arg(long, default_value = "")]
    pub lot: String,
    /// Putaway: the storage location.
    #[serde(default)]
    #[arg(long, default_value = "")]
    pub location: String,
    /// Pick: the order.
    #[serde(default)]
    #[arg(long, default_value = "")]
    pub order: String,
    /// Dispatch: the shipment.
    #[serde(default)]
    #[arg(long, default_value = "")]
    pub shipment: String,
    /// Return: the customer on the RMA.
    #[serde(default)]
    #[arg(long, default_value = "")]
    pub customer: String,
    /// Return: the RMA reference.
    #[serde(default)]
    #[arg(long, default_value = "")]
    pub rma: String,
    /// Receive: the receipt (ASN or PO) to match units against.
    #[serde(default)]
    #[arg(long, default_value = "")]
    pub receipt: String,
}

/// A checked binding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    pub station: String,
    pub action: Action,
    pub operator: String,
    pub sku: String,
    pub lot: String,
    pub location: String,
    pub order: String,
    pub shipment: String,
    pub customer: String,
    pub rma: String,
    pub receipt: String,
}

/// `receive` → [`Action::Receive`]; any case.
pub fn parse_action(name: &str) -> Option<Action> {
    Action::ALL
        .into_iter()
        .find(|action| action.name().eq_ignore_ascii_case(name))
}

impl BindingConfig {
    /// Checks every field against the server's limits, so that a scan the gateway accepts is
    /// never refused by the server for its shape.
    pub fn check(&self) -> Result<Binding, ConfigError> {
        let fail = |message: String| Err(ConfigError::Binding(message));
        if self.station.is_empty() {
            return fail("station is required: name the station this input scans for".into());
        }
        let Some(action) = parse_action(&self.action) else {
            return fail(format!(
                "action {:?} is not one of receive, putaway, pick, dispatch, return, quarantine, scrap",
                self.action
            ));
        };
        for (what, value, max) in [
            ("station", &self.station, STATION_LEN_MAX),
            ("operator", &self.operator, STATION_LEN_MAX),
            ("location", &self.location, REF_LEN_MAX),
            ("order", &self.order, REF_LEN_MAX),
            ("shipment", &self.shipment, REF_LEN_MAX),
            ("customer", &self.customer, REF_LEN_MAX),
            ("rma", &self.rma, REF_LEN_MAX),
            ("receipt", &self.receipt, REF_LEN_MAX),
        ] {
            if value.len() > max {
                return fail(format!("{what} is longer than {max} bytes"));
            }
        }
        if self.lot.chars().count() > LOT_LEN_MAX {
            return fail(format!("lot is longer than {LOT_LEN_MAX} characters"));
        }
        if !self.sku.is_empty() {
            domain::item::validate_sku(&self.sku)
                .map_err(|e| ConfigError::Binding(e.to_string()))?;
        }
        Ok(Binding {
            station: self.station.clone(),
            action,
            operator: self.operator.clone(),
            sku: self.sku.clone(),
            lot: self.lot.clone(),
            location: self.location.clone(),
            order: self.order.clone(),
            shipment: self.shipment.clone(),
            customer: self.customer.clone(),
            rma: self.rma.clone(),
            receipt: self.receipt.clone(),
        })
    }
}

fn some(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

impl Binding {
    /// The request sent for a scan of `raw` under this binding.
    pub fn request(
        &self,
        event_id: uuid::Uuid,
        raw: Vec<u8>,
        client_time_ms: i64,
    ) -> pb::ScanRequest {
        // The wire name is the domain's with the proto prefix; every action has one.
        let action = pb::Action::from_str_name(&format!("ACTION_{}", self.action.name()))
            .unwrap_or(pb::Action::Unspecified);
        pb::ScanRequest {
            event_id: event_id.to_string(),
            station: self.station.clone(),
            operator: self.operator.clone(),
            action: action.into(),
            raw,
            sku: self.sku.clone(),
            lot: self.lot.clone(),
            entry_mode: pb::EntryMode::Scanned.into(),
            client_time_ms,
            location: self.location.clone(),
            order_id: self.order.clone(),
            shipment_id: self.shipment.clone(),
            customer: self.customer.clone(),
            rma: self.rma.clone(),
            hold_reason: String::new(),
            receipt_id: self.receipt.clone(),
            mfr_serial: String::new(),
            parent: String::new(),
        }
    }

    /// The same scan as the domain sees it, for the offline checks against cached rules.
    pub fn domain_scan(
        &self,
        event_id: uuid::Uuid,
        raw: Vec<u8>,
        client_time_ms: i64,
    ) -> domain::Scan {
        domain::Scan {
            event_id,
            station: self.station.clone(),
            operator: self.operator.clone(),
            action: self.action,
            raw,
            sku: some(&self.sku),
            lot: some(&self.lot),
            entry_mode: EntryMode::Scanned,
            client_time_ms,
            location: some(&self.location),
            order_id: some(&self.order),
            shipment_id: some(&self.shipment),
            customer: some(&self.customer),
            rma: some(&self.rma),
            hold_reason: None,
            receipt_id: some(&self.receipt),
            mfr_serial: None,
            parent: None,
        }
    }
}

/// How a scanner sends its scans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// HID POS (usage page 0x8C) scanned-data reports.
    Pos,
    /// Keyboard-wedge boot reports.
    Keyboard,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TerminatorConfig {
    #[default]
    Enter,
    Tab,
}

/// One scanner as the configuration file lists it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// The name the operator sees on every line about this scanner.
    pub name: String,
    pub mode: Mode,
    /// USB vendor id, hex (`"0x0c2e"`).
    pub vendor_id: String,
    /// USB product id, hex; any product of the vendor when absent.
    #[serde(default)]
    pub product_id: Option<String>,
    /// The device's USB serial number, to tell two scanners of the same model apart.
    #[serde(default)]
    pub serial_number: Option<String>,
    /// Keyboard mode: the host layout the scanner emulates (`us`, `de`, `fr`).
    #[serde(default)]
    pub layout: Option<String>,
    #[serde(default)]
    pub terminator: TerminatorConfig,
    /// Keyboard mode: F8 types GS (a Honeywell option).
    #[serde(default)]
    pub f8_gs: bool,
    /// Keyboard mode: the report id in front of each report, hex, for numbered reports.
    #[serde(default)]
    pub report_id: Option<String>,
    /// Send good-read / bad-read output reports where the vendor's layout is known.
    #[serde(default = "yes")]
    pub feedback: bool,
    pub bind: BindingConfig,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub scanners: Vec<ScannerConfig>,
    /// The binding of HID POS scanners that no entry of `scanners` names; without it they are
    /// reported and left alone.
    #[serde(default)]
    pub other_pos_scanners: Option<BindingConfig>,
}

/// What the gateway needs to know to open a scanner and decode it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecoderSpec {
    pub mode: Mode,
    /// POS: the vendor whose layout decodes the reports (0 for the HID POS example layout).
    pub vendor_id: u16,
    pub keyboard: KeyboardConfig,
}

impl DecoderSpec {
    pub fn pos(vendor_id: u16) -> DecoderSpec {
        DecoderSpec {
            mode: Mode::Pos,
            vendor_id,
            keyboard: KeyboardConfig::default(),
        }
    }

    pub fn decoder(&self) -> Decoder {
        match self.mode {
            Mode::Pos => Decoder::pos_for_vendor(self.vendor_id),
            Mode::Keyboard => Decoder::keyboard(self.keyboard),
        }
    }
}

/// A checked scanner entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scanner {
    pub name: String,
    pub vendor_id: u16,
    pub product_id: Option<u16>,
    pub serial_number: Option<String>,
    pub decoder: DecoderSpec,
    pub feedback: bool,
    pub binding: Binding,
}

/// A checked configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    pub scanners: Vec<Scanner>,
    pub other_pos_scanners: Option<Binding>,
}

/// `"0x0c2e"`, `"0C2E"` → 0x0C2E.
pub fn parse_hex_u16(text: &str) -> Result<u16, String> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    u16::from_str_radix(digits, 16)
        .map_err(|_| format!("{text:?} is not a 16-bit hex number like \"0x0c2e\""))
}

/// `"0x02"` → 2.
pub fn parse_hex_u8(text: &str) -> Result<u8, String> {
    let value = parse_hex_u16(text)?;
    u8::try_from(value).map_err(|_| format!("{text:?} is larger than one byte"))
}

/// The keyboard-wedge settings from their textual form.
pub fn keyboard_config(
    layout: Option<&str>,
    terminator: TerminatorConfig,
    f8_gs: bool,
    report_id: Option<&str>,
) -> Result<KeyboardConfig, String> {
    let layout = match layout {
        None => KeyboardConfig::default().layout,
        Some(name) => layout_by_name(name)
            .ok_or_else(|| format!("layout {name:?} is not one of us, de, fr"))?,
    };
    Ok(KeyboardConfig {
        layout,
        terminator: match terminator {
            TerminatorConfig::Enter => Terminator::Enter,
            TerminatorConfig::Tab => Terminator::Tab,
        },
        f8_is_gs: f8_gs,
        report_id: report_id.map(parse_hex_u8).transpose()?,
    })
}

impl ScannerConfig {
    fn check(&self) -> Result<Scanner, ConfigError> {
        let fail = |problem: String| ConfigError::Scanner {
            scanner: self.name.clone(),
            problem,
        };
        if self.name.is_empty() || self.name.len() > SCANNER_NAME_LEN_MAX {
            return Err(fail(format!(
                "name must be 1 to {SCANNER_NAME_LEN_MAX} bytes"
            )));
        }
        let vendor_id =
            parse_hex_u16(&self.vendor_id).map_err(|e| fail(format!("vendor_id {e}")))?;
        let product_id = self
            .product_id
            .as_deref()
            .map(parse_hex_u16)
            .transpose()
            .map_err(|e| fail(format!("product_id {e}")))?;
        let keyboard = keyboard_config(
            self.layout.as_deref(),
            self.terminator,
            self.f8_gs,
            self.report_id.as_deref(),
        )
        .map_err(fail)?;
        if self.mode == Mode::Pos
            && (self.layout.is_some() || self.report_id.is_some() || self.f8_gs)
        {
            return Err(fail(
                "layout, report_id and f8_gs are keyboard settings; remove them or set \"mode\": \"keyboard\"".into(),
            ));
        }
        let binding = self.bind.check().map_err(|e| fail(e.to_string()))?;
        Ok(Scanner {
            name: self.name.clone(),
            vendor_id,
            product_id,
            serial_number: self.serial_number.clone(),
            decoder: DecoderSpec {
                mode: self.mode,
                vendor_id,
                keyboard,
            },
            feedback: self.feedback,
            binding,
        })
    }
}

impl Config {
    /// Parses and checks a configuration file's text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let file: ConfigFile = serde_json::from_str(text)?;
        if file.scanners.len() > SCANNERS_MAX {
            return Err(ConfigError::TooManyScanners(file.scanners.len()));
        }
        let mut scanners = Vec::with_capacity(file.scanners.len());
        for entry in &file.scanners {
            let scanner = entry.check()?;
            if scanners.iter().any(|s: &Scanner| s.name == scanner.name) {
                return Err(ConfigError::Scanner {
                    scanner: scanner.name,
                    problem: "the name is used twice; give each scanner its own".into(),
                });
            }
            scanners.push(scanner);
        }
        let other_pos_scanners = file
            .other_pos_scanners
            .as_ref()
            .map(BindingConfig::check)
            .transpose()
            .map_err(|e| ConfigError::Binding(format!("other_pos_scanners: {e}")))?;
        Ok(Config {
            scanners,
            other_pos_scanners,
        })
    }
}

/// A HID interface as enumeration reports it; the part of hidapi's `DeviceInfo` matching needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundDevice {
    pub path: String,
    pub vendor_id: u16,
    pub product_id: u16,
    pub serial_number: Option<String>,
    pub usage_page: u16,
    pub usage: u16,
    pub product: String,
}

/// A found interface to open, and as what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    pub name: String,
    pub decoder: DecoderSpec,
    pub feedback: bool,
    pub binding: Binding,
}

/// What the gateway does with a found HID interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceMatch {
    /// Open it as this scanner.
    Open(Box<Opening>),
    /// A HID POS scanner the configuration does not bind: say so once.
    Unbound,
    /// Not a scanner of ours (another device, or another interface of a configured one).
    Ignore,
}

fn interface_fits(mode: Mode, device: &FoundDevice) -> bool {
    match mode {
        Mode::Pos => device.usage_page == USAGE_PAGE_POS,
        Mode::Keyboard => {
            (device.usage_page == USAGE_PAGE_GENERIC_DESKTOP && device.usage == USAGE_KEYBOARD)
                // Enumeration could not read the report descriptor: trust the ids.
                || device.usage_page == 0
        }
    }
}

/// Decides what to do with a found interface: the first configured scanner whose ids (and
/// serial number, when given) match and whose mode fits the interface's usage; else any HID
/// POS interface gets the `other_pos_scanners` binding.
pub fn match_device(config: &Config, device: &FoundDevice) -> DeviceMatch {
    let configured = config.scanners.iter().find(|scanner| {
        scanner.vendor_id == device.vendor_id
            && scanner.product_id.is_none_or(|id| id == device.product_id)
            && scanner
                .serial_number
                .as_ref()
                .is_none_or(|sn| device.serial_number.as_ref() == Some(sn))
            && interface_fits(scanner.decoder.mode, device)
    });
    if let Some(scanner) = configured {
        return DeviceMatch::Open(Box::new(Opening {
            name: scanner.name.clone(),
            decoder: scanner.decoder.clone(),
            feedback: scanner.feedback,
            binding: scanner.binding.clone(),
        }));
    }
    if device.usage_page != USAGE_PAGE_POS {
        return DeviceMatch::Ignore;
    }
    match &config.other_pos_scanners {
        Some(binding) => DeviceMatch::Open(Box::new(Opening {
            name: format!(
                "pos-{:04x}:{:04x}{}",
                device.vendor_id,
                device.product_id,
                device
                    .serial_number
                    .as_ref()
                    .map(|sn| format!("-{sn}"))
                    .unwrap_or_default()
            ),
            decoder: DecoderSpec::pos(device.vendor_id),
            feedback: true,
            binding: binding.clone(),
        })),
        None => DeviceMatch::Unbound,
    }
}

/// The longest scan the gateway takes; a longer one (only `--stdin` can make one) is refused.
pub const SCAN_BYTES_MAX: usize = RAW_SCAN_LEN_MAX;

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"{
      "scanners": [
        { "name": "dock-1", "mode": "pos", "vendor_id": "0x0c2e", "product_id": "0x0b87",
          "bind": { "station": "DOCK-1", "action": "receive", "sku": "TV-65" } },
        { "name": "dock-2", "mode": "keyboard", "vendor_id": "0x05f9", "product_id": "0x2206",
          "layout": "de", "bind": { "station": "DOCK-2", "action": "putaway", "location": "A-01" } }
      ],
      "other_pos_scanners": { "station": "DOCK-9", "action": "RECEIVE" }
    }"#;

    fn found(vendor_id: u16, product_id: u16, usage_page: u16, usage: u16) -> FoundDevice {
        FoundDevice {
            path: "/dev/hidraw0".into(),
            vendor_id,
            product_id,
            serial_number: Some("S1".into()),
            usage_page,
            usage,
            product: "scanner".into(),
        }
    }

    #[test]
    fn the_readme_example_parses_and_matches() {
        let config = Config::parse(EXAMPLE).unwrap();
        assert_eq!(config.scanners.len(), 2);
        assert_eq!(config.scanners[1].decoder.keyboard.layout.name, "de");
        assert_eq!(config.scanners[1].binding.action, Action::Putaway);
        let cases = [
            (found(0x0C2E, 0x0B87, 0x8C, 0x02), Some("dock-1")),
            // The same scanner's keyboard interface is not the POS one.
            (found(0x0C2E, 0x0B87, 0x01, 0x06), None),
            (found(0x05F9, 0x2206, 0x01, 0x06), Some("dock-2")),
            (found(0x05F9, 0x2206, 0, 0), Some("dock-2")),
            (found(0x05F9, 0x2206, 0x01, 0x02), None),
            (found(0x0536, 0x0001, 0x8C, 0x02), Some("pos-0536:0001-S1")),
        ];
        for (device, expected) in cases {
            let got = match match_device(&config, &device) {
                DeviceMatch::Open(opening) => Some(opening.name),
                _ => None,
            };
            assert_eq!(got.as_deref(), expected, "{device:?}");
        }
        let unbound = Config {
            other_pos_scanners: None,
            ..config
        };
        assert_eq!(
            match_device(&unbound, &found(0x0536, 1, 0x8C, 2)),
            DeviceMatch::Unbound
        );
        assert_eq!(
            match_device(&unbound, &found(0x046D, 1, 0x01, 0x06)),
            DeviceMatch::Ignore
        );
    }

    #[test]
    fn every_action_has_its_wire_name() {
        for action in Action::ALL {
            let binding = BindingConfig {
                station: "S".into(),
                action: action.name().to_lowercase(),
                ..BindingConfig::default()
            }
            .check()
            .unwrap();
            assert_eq!(binding.action, action);
            let request = binding.request(uuid::Uuid::nil(), vec![], 0);
            assert_ne!(request.action(), pb::Action::Unspecified, "{action:?}");
        }
    }

    #[test]
    fn bad_configs_say_what_to_change() {
        let cases = [
            (r#"{"scanners": [{"name": "a"}]}"#, "missing field"),
            (r#"{"scaners": []}"#, "unknown field `scaners`"),
            (
                r#"{"scanners": [{"name": "a", "mode": "pos", "vendor_id": "zz", "bind": {"station": "S", "action": "receive"}}]}"#,
                "scanner \"a\": vendor_id \"zz\" is not a 16-bit hex number",
            ),
            (
                r#"{"scanners": [{"name": "a", "mode": "pos", "vendor_id": "1", "layout": "de", "bind": {"station": "S", "action": "receive"}}]}"#,
                "keyboard settings",
            ),
            (
                r#"{"scanners": [{"name": "a", "mode": "keyboard", "vendor_id": "1", "layout": "xx", "bind": {"station": "S", "action": "receive"}}]}"#,
                "layout \"xx\" is not one of us, de, fr",
            ),
            (
                r#"{"scanners": [{"name": "a", "mode": "pos", "vendor_id": "1", "bind": {"station": "S", "action": "sell"}}]}"#,
                "action \"sell\" is not one of",
            ),
            (
                r#"{"other_pos_scanners": {"station": "", "action": "receive"}}"#,
                "station is required",
            ),
            (
                r#"{"scanners": [
                    {"name": "a", "mode": "pos", "vendor_id": "1", "bind": {"station": "S", "action": "receive"}},
                    {"name": "a", "mode": "pos", "vendor_id": "2", "bind": {"station": "S", "action": "receive"}}]}"#,
                "used twice",
            ),
        ];
        for (text, expected) in cases {
            let error = Config::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
        let long = BindingConfig {
            station: "S".repeat(STATION_LEN_MAX + 1),
            action: "receive".into(),
            ..BindingConfig::default()
        };
        assert!(
            long.check()
                .unwrap_err()
                .to_string()
                .contains("station is longer")
        );
    }
}
