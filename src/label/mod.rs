//! Unit labels: what the QR code carries (`payload`), the ZPL II a Zebra-compatible printer
//! prints (`zpl`), an SVG or PNG preview of one label (`render`, with the Code 128 encoder in
//! `code128` and the bitmap font in `font`), and sending a job to a printer (`send`).
//! Everything but `send` is pure; nothing here reads the store or knows gRPC types: the server
//! and the CLI look up the item and unit and pass plain values in.

pub mod code128;
pub mod font;
pub mod payload;
pub mod render;
pub mod send;
pub mod unit;
pub mod zpl;

pub use payload::{Payload, PayloadError, QrStrategy, QrSymbol, UnitIds, parse_verify_url};
