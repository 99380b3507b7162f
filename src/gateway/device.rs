//! USB scanners through hidapi: a watcher thread enumerates HID interfaces every second, opens
//! the ones the configuration matches (`config::match_device`), and gives each its own reader
//! thread that moves reports into the scanner's [`Decoder`](super::hid::Decoder) and sends the
//! scans on. A scanner that is unplugged ends its reader with a message; the next enumeration
//! that finds it again opens it again. The only module that sees hidapi. It cannot be tested
//! without hardware, so it stays a thin loop over tested parts: matching (`config.rs`), the
//! decoders (`hid/`), the partial-scan timeout ([`ScannerSession`]) and the permission message
//! ([`permission_hint`]).

use std::collections::HashSet;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hidapi::{HidApi, HidDevice};
use tokio::sync::mpsc;

use super::config::{
    Binding, Config, DecoderSpec, DeviceMatch, FoundDevice, Mode, Opening, match_device,
};
use super::events::DeviceState;
use super::hid::{self, Decoder, Feedback, FeedbackLayout, REPLAY_REPORT_LEN_MAX};
use super::station::Input;

/// How often the watcher enumerates devices (and so how soon a replugged scanner is back).
pub const RESCAN_INTERVAL: Duration = Duration::from_secs(1);
/// How long one read waits for a report before the reader looks at its other work, in ms.
const READ_POLL_MS: i32 = 100;
/// A scan whose next report does not come within this time is dropped with a message.
pub const SCAN_GAP_MAX: Duration = Duration::from_millis(500);

/// One scanner's decoder with the partial-scan timeout the device loop applies.
#[derive(Clone, Debug)]
pub struct ScannerSession {
    decoder: Decoder,
    last_report: Option<Instant>,
}

impl ScannerSession {
    pub fn new(decoder: Decoder) -> ScannerSession {
        ScannerSession {
            decoder,
            last_report: None,
        }
    }

    /// Takes one input report read at `now`.
    pub fn report(
        &mut self,
        report: &[u8],
        now: Instant,
    ) -> Result<Option<Vec<u8>>, hid::HidError> {
        self.last_report = Some(now);
        self.decoder.feed(report)
    }

    /// Called when a read timed out: drops a scan that stopped arriving, and says so.
    pub fn idle(&mut self, now: Instant) -> Option<String> {
        let last = self.last_report?;
        if !self.decoder.is_mid_scan() || now.duration_since(last) < SCAN_GAP_MAX {
            return None;
        }
        self.decoder.reset();
        Some(format!(
            "a scan stopped arriving part way ({} ms without a report); it was dropped, scan again",
            SCAN_GAP_MAX.as_millis()
        ))
    }
}

/// What the operator is told when a scanner's device node cannot be opened for lack of rights.
pub fn permission_hint(name: &str, path: &str, vendor_id: u16, product_id: u16) -> String {
    format!(
        "cannot open scanner {name} ({path}, {vendor_id:04x}:{product_id:04x}): permission denied. \
         Let the gateway's user read and write it with a udev rule, e.g. in \
         /etc/udev/rules.d/70-serialtrack-scanners.rules: \
         KERNEL==\"hidraw*\", ATTRS{{idVendor}}==\"{vendor_id:04x}\", ATTRS{{idProduct}}==\"{product_id:04x}\", MODE=\"0660\", GROUP=\"plugdev\" \
         then `sudo udevadm control --reload && sudo udevadm trigger`, add the user to plugdev, \
         and replug the scanner (see the README, \"udev rule\")"
    )
}

/// Starts the watcher thread. It stops when `stop` is set.
pub fn watch(config: Config, inputs: mpsc::Sender<Input>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || watcher(&config, &inputs, &stop));
}

/// Every HID interface of this machine, for `gateway devices`.
pub fn list_devices() -> Result<Vec<FoundDevice>, String> {
    let api = HidApi::new().map_err(|e| format!("cannot enumerate HID devices: {e}"))?;
    Ok(api.device_list().map(found_device).collect())
}

fn found_device(info: &hidapi::DeviceInfo) -> FoundDevice {
    FoundDevice {
        path: info.path().to_string_lossy().into_owned(),
        vendor_id: info.vendor_id(),
        product_id: info.product_id(),
        serial_number: info
            .serial_number()
            .map(str::to_owned)
            .filter(|s| !s.is_empty()),
        usage_page: info.usage_page(),
        usage: info.usage(),
        product: info.product_string().unwrap_or_default().to_owned(),
    }
}

fn tell(inputs: &mpsc::Sender<Input>, source: &str, state: DeviceState, message: String) {
    let _ = inputs.blocking_send(Input::Device {
        source: source.to_owned(),
        state,
        message,
        feedback: None,
    });
}

fn watcher(config: &Config, inputs: &mpsc::Sender<Input>, stop: &AtomicBool) {
    let mut api = match HidApi::new() {
        Ok(api) => api,
        Err(error) => {
            let _ = inputs.blocking_send(Input::Problem {
                source: "hid".into(),
                message: format!(
                    "cannot enumerate HID devices: {error}; is /sys/class/hidraw there? \
                     Use --stdin or --replay on a machine without HID access"
                ),
            });
            return;
        }
    };
    // Paths with a reader thread now.
    let open: Arc<Mutex<HashSet<String>>> = Arc::default();
    // Paths already reported as unbound or unopenable, so each is said once while it stays.
    let mut reported: HashSet<String> = HashSet::new();
    let mut first = true;
    while !stop.load(Ordering::Acquire) {
        if api.refresh_devices().is_ok() {
            let found: Vec<FoundDevice> = api.device_list().map(found_device).collect();
            reported.retain(|path| found.iter().any(|d| &d.path == path));
            let matching = found
                .iter()
                .filter(|d| !matches!(match_device(config, d), DeviceMatch::Ignore))
                .count();
            if first && matching == 0 {
                tell(
                    inputs,
                    "hid",
                    DeviceState::NoneFound,
                    "no scanner of the config is plugged in; waiting for one \
                     (`serialtrack gateway devices` lists what this machine sees)"
                        .into(),
                );
            }
            first = false;
            for device in found {
                if open.lock().is_ok_and(|open| open.contains(&device.path)) {
                    continue;
                }
                consider(&api, config, inputs, &open, &mut reported, device);
            }
        }
        std::thread::sleep(RESCAN_INTERVAL);
    }
}

fn consider(
    api: &HidApi,
    config: &Config,
    inputs: &mpsc::Sender<Input>,
    open: &Arc<Mutex<HashSet<String>>>,
    reported: &mut HashSet<String>,
    device: FoundDevice,
) {
    let (name, decoder, feedback, binding) = match match_device(config, &device) {
        DeviceMatch::Ignore => return,
        DeviceMatch::Unbound => {
            if reported.insert(device.path.clone()) {
                tell(
                    inputs,
                    &format!("{:04x}:{:04x}", device.vendor_id, device.product_id),
                    DeviceState::Unbound,
                    format!(
                        "HID POS scanner {:?} ({:04x}:{:04x}) at {} is not in the config; add it \
                         under \"scanners\" or set \"other_pos_scanners\"",
                        device.product, device.vendor_id, device.product_id, device.path
                    ),
                );
            }
            return;
        }
        DeviceMatch::Open(opening) => {
            let Opening {
                name,
                decoder,
                feedback,
                binding,
            } = *opening;
            (name, decoder, feedback, binding)
        }
    };
    let opened = match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&device.path)
    {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(permission_hint(
            &name,
            &device.path,
            device.vendor_id,
            device.product_id,
        )),
        _ => CString::new(device.path.clone())
            .map_err(|e| e.to_string())
            .and_then(|path| api.open_path(&path).map_err(|e| e.to_string()))
            .map_err(|e| format!("cannot open scanner {name} ({}): {e}", device.path)),
    };
    match opened {
        Err(message) => {
            if reported.insert(device.path.clone()) {
                tell(inputs, &name, DeviceState::CannotOpen, message);
            }
        }
        Ok(handle) => {
            reported.remove(&device.path);
            if let Ok(mut open) = open.lock() {
                open.insert(device.path.clone());
            }
            let layout = (feedback && decoder.mode == Mode::Pos)
                .then(|| hid::vendor(device.vendor_id).feedback)
                .flatten();
            let reader = Reader {
                name,
                device,
                decoder,
                layout,
                binding: Arc::new(binding),
                inputs: inputs.clone(),
                open: Arc::clone(open),
            };
            // The reader ends when the gateway stops taking inputs (the channel closes).
            std::thread::spawn(move || reader.run(handle));
        }
    }
}

struct Reader {
    name: String,
    device: FoundDevice,
    decoder: DecoderSpec,
    layout: Option<&'static FeedbackLayout>,
    binding: Arc<Binding>,
    inputs: mpsc::Sender<Input>,
    open: Arc<Mutex<HashSet<String>>>,
}

impl Reader {
    fn run(self, handle: HidDevice) {
        let (feedback_tx, feedback_rx) = std::sync::mpsc::channel::<Feedback>();
        let mode = match self.decoder.mode {
            Mode::Pos => "HID POS".to_owned(),
            Mode::Keyboard => format!(
                "keyboard wedge, {} layout",
                self.decoder.keyboard.layout.name
            ),
        };
        let _ = self.inputs.blocking_send(Input::Device {
            source: self.name.clone(),
            state: DeviceState::Connected,
            message: format!(
                "scanner {} connected: {:?} {:04x}:{:04x} at {} ({mode}{}), scanning for {} {}",
                self.name,
                self.device.product,
                self.device.vendor_id,
                self.device.product_id,
                self.device.path,
                if self.layout.is_some() {
                    ", good/bad-read signals"
                } else {
                    ""
                },
                self.binding.station,
                self.binding.action.name(),
            ),
            feedback: self.layout.map(|_| feedback_tx),
        });
        let mut session = ScannerSession::new(self.decoder.decoder());
        let mut buffer = [0u8; REPLAY_REPORT_LEN_MAX];
        let ended = loop {
            if self.inputs.is_closed() {
                break None;
            }
            while let Ok(signal) = feedback_rx.try_recv() {
                if let Some(report) = self
                    .layout
                    .and_then(|l| hid::feedback_report(l, signal).ok())
                {
                    // A scanner that does not take the report still scans: ignore the failure.
                    let _ = handle.write(&report);
                }
            }
            let input = match handle.read_timeout(&mut buffer, READ_POLL_MS) {
                Ok(0) => session.idle(Instant::now()).map(|message| Input::Problem {
                    source: self.name.clone(),
                    message,
                }),
                Ok(n) => match session.report(&buffer[..n], Instant::now()) {
                    Ok(None) => None,
                    Ok(Some(raw)) => Some(Input::Scan {
                        source: self.name.clone(),
                        binding: Arc::clone(&self.binding),
                        raw,
                    }),
                    Err(error) => Some(Input::Problem {
                        source: self.name.clone(),
                        message: error.to_string(),
                    }),
                },
                Err(error) => break Some(error.to_string()),
            };
            if let Some(input) = input
                && self.inputs.blocking_send(input).is_err()
            {
                break None;
            }
        };
        if let Ok(mut open) = self.open.lock() {
            open.remove(&self.device.path);
        }
        if let Some(reason) = ended {
            tell(
                &self.inputs,
                &self.name,
                DeviceState::Unplugged,
                format!(
                    "scanner {} unplugged or stopped answering ({reason}); plug it in again, it is picked up without a restart",
                    self.name
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::hid::{KeyboardConfig, Terminator, US, encode_scan};

    #[test]
    fn a_scan_that_stops_arriving_is_dropped_and_the_next_one_reads() {
        let mut session = ScannerSession::new(Decoder::keyboard(KeyboardConfig::default()));
        let start = Instant::now();
        let reports = encode_scan(&US, b"AB1", Terminator::Enter).unwrap();
        // Half a scan, then silence.
        for report in &reports[..3] {
            assert_eq!(session.report(report, start).unwrap(), None);
        }
        assert_eq!(session.idle(start + Duration::from_millis(100)), None);
        let dropped = session.idle(start + SCAN_GAP_MAX).unwrap();
        assert!(dropped.contains("dropped"), "{dropped}");
        assert_eq!(session.idle(start + SCAN_GAP_MAX * 2), None);
        let later = start + SCAN_GAP_MAX * 3;
        let scans: Vec<Vec<u8>> = reports
            .iter()
            .filter_map(|r| session.report(r, later).unwrap())
            .collect();
        assert_eq!(scans, vec![b"AB1".to_vec()]);
    }

    /// The recordings the integration tests replay, through the device loop's session.
    #[test]
    fn checked_in_recordings_decode_through_the_device_session() {
        let cases: [(&str, Decoder, Vec<&[u8]>); 3] = [
            (
                include_str!("../../tests/it/fixtures/gateway-pos.hex"),
                Decoder::pos_for_vendor(0x0C2E),
                vec![
                    b"]d201095060001343521727123110LOT42\x1d21SER0001",
                    b"]C1010950600013435221SER0002\x1d10LOT43",
                    b"]E04006381333931",
                ],
            ),
            (
                include_str!("../../tests/it/fixtures/gateway-wedge-us.hex"),
                Decoder::keyboard(KeyboardConfig::default()),
                vec![b"]d2010950600013435221KB0001\x1d10LOT44"],
            ),
            (
                include_str!("../../tests/it/fixtures/gateway-wedge-de.hex"),
                Decoder::keyboard(KeyboardConfig {
                    layout: &crate::gateway::hid::GERMAN,
                    ..KeyboardConfig::default()
                }),
                vec![b"KBZY0002"],
            ),
        ];
        for (recording, decoder, expected) in cases {
            let mut session = ScannerSession::new(decoder);
            let now = Instant::now();
            let scans: Vec<Vec<u8>> = hid::parse_replay(recording)
                .unwrap()
                .iter()
                .filter_map(|report| session.report(report, now).unwrap())
                .collect();
            assert_eq!(scans, expected);
        }
    }

    #[test]
    fn the_permission_message_carries_a_udev_rule_for_the_device() {
        let hint = permission_hint("dock-1", "/dev/hidraw3", 0x0C2E, 0x0B87);
        for part in [
            "permission denied",
            "/dev/hidraw3",
            "ATTRS{idVendor}==\"0c2e\"",
            "ATTRS{idProduct}==\"0b87\"",
            "MODE=\"0660\"",
            "udevadm",
            "replug",
        ] {
            assert!(hint.contains(part), "{part}: {hint}");
        }
    }
}
