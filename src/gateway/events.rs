//! What the gateway tells the operator. The gateway sends these over a channel; the command
//! line turns them into coloured text with a bell, or JSON lines (`cli/gateway.rs`).

use super::rules::Precheck;
use crate::proto::v1 as pb;

/// Whether the server answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerState {
    /// Not tried yet.
    Unknown,
    Online,
    Offline,
}

impl ServerState {
    pub fn name(self) -> &'static str {
        match self {
            ServerState::Unknown => "unknown",
            ServerState::Online => "online",
            ServerState::Offline => "offline",
        }
    }
}

/// A scanner's comings and goings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceState {
    Connected,
    Unplugged,
    /// Found but cannot be opened (the message says how to fix it).
    CannotOpen,
    /// A HID POS scanner the configuration binds to no station.
    Unbound,
    /// No scanner of the configuration is plugged in (said once, at the start).
    NoneFound,
}

impl DeviceState {
    pub fn name(self) -> &'static str {
        match self {
            DeviceState::Connected => "connected",
            DeviceState::Unplugged => "unplugged",
            DeviceState::CannotOpen => "cannot_open",
            DeviceState::Unbound => "unbound",
            DeviceState::NoneFound => "none_found",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The gateway is up: what it found in its outbox.
    Started {
        outbox: String,
        server: String,
        queued: usize,
        rejected: usize,
    },
    /// The server became reachable or unreachable.
    Server {
        state: ServerState,
        message: String,
        queued: usize,
    },
    /// The cached catalog was fetched again.
    RulesRefreshed { items: usize },
    /// A scan is safe in the outbox while the server cannot be reached.
    Queued {
        source: String,
        event_id: String,
        raw: Vec<u8>,
        check: Precheck,
        queued: usize,
    },
    /// The server's answer to a scan.
    Result {
        source: String,
        reply: pb::ScanReply,
        /// The scan waited in the outbox through an outage (or a gateway restart).
        after_outage: bool,
        queued: usize,
    },
    /// The server refused the request itself; it is in the supervisor's list.
    RefusedByServer {
        source: String,
        event_id: String,
        raw: Vec<u8>,
        message: String,
        queued: usize,
    },
    /// A scan was NOT taken (outbox full, scan too long, outbox write failed).
    Refused { source: String, message: String },
    /// Reports that did not make a scan (a decode error, a partial scan dropped).
    ScanError { source: String, message: String },
    Device {
        source: String,
        state: DeviceState,
        message: String,
    },
    /// The outbox could not be read while forwarding.
    OutboxFailed { message: String },
    /// A finite input (`--stdin`, `--replay`) ended.
    InputEnded { source: String },
    /// Inputs ended and the outbox is empty: the gateway stops.
    Drained,
}
