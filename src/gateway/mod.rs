//! The station gateway (issue 7): USB barcode scanners (or `--stdin`, `--replay`) in, the
//! server's answers out to the operator, and nothing lost in between.
//!
//! - `hid/`: pure decoding of HID POS and keyboard-wedge reports into scan bytes.
//! - `config.rs`: the scanner configuration and how found devices match it (pure).
//! - `device.rs`: hidapi enumeration, open/replug, one reader thread per scanner (thin).
//! - `outbox.rs`: the durable outbox (sled), the supervisor's list, the cached catalog.
//! - `rules.rs`: offline checks of queued scans against the cached catalog (pure).
//! - `station.rs`: the running gateway: inputs → intake (outbox first) → forwarder.
//! - `forward.rs`: ordered, exactly-once forwarding over `ScanStream`, outages and replay.
//! - `events.rs`: what the operator is told.
//!
//! The gateway talks to the server only through gRPC; it shares the server's conversions and
//! the domain's reading of scans so that its offline checks are the server's.

pub mod config;
pub mod device;
pub mod events;
pub mod forward;
pub mod hid;
pub mod outbox;
pub mod rules;
pub mod station;

pub use config::{Binding, BindingConfig, Config, DecoderSpec, Mode};
pub use events::{DeviceState, Event, ServerState};
pub use forward::ForwardOptions;
pub use outbox::{OUTBOX_LEN_DEFAULT, OUTBOX_LEN_MAX, Outbox, OutboxCounts, StatusFile};
pub use rules::{CachedRules, Precheck};
pub use station::{GatewayError, GatewayOptions, InputSpec, run};

const _: () = assert!(hid::SCAN_LEN_MAX == crate::barcode::RAW_SCAN_LEN_MAX);
