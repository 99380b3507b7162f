//! The station gateway (issue 7). So far only its pure part: turning HID reports from USB
//! barcode scanners into scans (`hid`). Device discovery, the durable outbox and forwarding
//! are not built yet.

pub mod hid;

const _: () = assert!(hid::SCAN_LEN_MAX == crate::barcode::RAW_SCAN_LEN_MAX);
