//! The integration suite: one test binary, a module per capability. Every test starts the real
//! server on `127.0.0.1:0` over a temporary sled directory and talks to it with the real tonic
//! client or the real CLI binary.

mod support;

mod access;
mod audit;
mod catalog;
mod cli;
mod config;
mod connect;
mod decode;
mod disk;
mod engines;
mod epcis;
mod export;
mod gateway;
mod hostile;
mod import;
mod issue;
mod kpi;
mod label;
mod lifecycle;
mod metrics;
mod model;
mod orders;
mod picking;
mod postgres;
mod recall;
mod receipt;
mod receive;
mod restart;
mod sets;
mod soak;
mod torture;
mod watch;
mod webhook;
