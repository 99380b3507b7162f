//! serialtrack: track every physical unit by its own serial number.
//!
//! Layers, dependencies pointing downwards only (see ARCHITECTURE.md):
//! `barcode`, `domain` and `epcis` (the EPCIS 2.0 mapping) are pure; `metrics` is atomics the
//! store and the server record into; `store` persists decided changes; `server` is the tonic
//! face; `cli` and `bench` are the faces for people and for measurement.

pub mod audit;
pub mod auth;
pub mod barcode;
pub mod bench;
pub mod cli;
pub mod client;
pub mod domain;
pub mod epcis;
pub mod gateway;
pub mod import;
pub mod label;
pub mod metrics;
pub mod proto;
pub mod server;
pub mod store;
pub mod tls;
pub mod webhook;
