//! `serialtrack gateway`: the station gateway's commands. `run` turns flags and the config file
//! into gateway options and shows what the gateway reports, as coloured text with a bell for
//! the operator or as JSON lines; `status`, `rejected` and `devices` are for setting up and
//! supervising a station.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::client::Target;
use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use crate::domain::time::{format_utc, now_ms};
use crate::gateway::config::{self, BindingConfig, FoundDevice, TerminatorConfig};
use crate::gateway::outbox::{self, OutboxError};
use crate::gateway::{
    self, Config, DecoderSpec, Event, ForwardOptions, GatewayOptions, InputSpec, Mode,
    OUTBOX_LEN_DEFAULT, OUTBOX_LEN_MAX, Outbox, Precheck, ServerState,
};

use super::{EXIT_OK, EXIT_REJECTED, output};

pub const DEFAULT_OUTBOX: &str = "./serialtrack-gateway";

#[derive(Subcommand, Debug)]
pub enum GatewayCommand {
    /// Read scanners (or --stdin, --replay), keep every scan in the outbox, forward it, show
    /// the answer.
    Run(Box<RunArgs>),
    /// Scans waiting in the outbox and the oldest one's age, the supervisor's list, and what
    /// the running gateway says about the server and its scanners.
    Status(OutboxArg),
    /// The supervisor's list: scans replayed after an outage that the server rejected (the
    /// newest 50 while the gateway runs, all when it is stopped).
    Rejected {
        #[command(flatten)]
        outbox: OutboxArg,
        /// Empty the list after printing it.
        #[arg(long)]
        clear: bool,
    },
    /// The HID devices of this machine and what the config makes of each.
    Devices {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct OutboxArg {
    /// The outbox directory (created on first run).
    #[arg(long, default_value = DEFAULT_OUTBOX, env = "SERIALTRACK_OUTBOX")]
    outbox: PathBuf,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ColorArg {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ModeArg {
    Pos,
    Keyboard,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum TerminatorArg {
    Enter,
    Tab,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    outbox: OutboxArg,
    /// Scans the outbox may hold; at the bound new scans are refused, none is dropped.
    #[arg(long, default_value_t = OUTBOX_LEN_DEFAULT)]
    outbox_max: usize,
    /// The scanner configuration (JSON, see the README).
    #[arg(long, conflicts_with_all = ["stdin", "replay"])]
    config: Option<PathBuf>,
    /// Read scans from standard input, one per line, instead of scanners.
    #[arg(long, conflicts_with = "replay")]
    stdin: bool,
    /// Replay recorded HID reports (hex, one report per line) instead of scanners.
    #[arg(long)]
    replay: Option<PathBuf>,
    /// With --stdin or --replay: keep running after the input ends (default: stop once the
    /// outbox is empty).
    #[arg(long)]
    keep_running: bool,
    /// What the scans of --stdin / --replay (and of HID POS scanners the config does not
    /// list) are for.
    #[command(flatten)]
    bind: BindingConfig,
    /// --replay: how the recorded reports decode.
    #[arg(long, value_enum, default_value_t = ModeArg::Pos)]
    decoder: ModeArg,
    /// --replay with pos: the scanner's USB vendor id (hex), which picks the report layout.
    #[arg(long, default_value = "0")]
    vendor_id: String,
    /// --replay with keyboard: the host layout the scanner emulates (us, de, fr).
    #[arg(long)]
    layout: Option<String>,
    /// --replay with keyboard: the key that ends a scan.
    #[arg(long, value_enum, default_value_t = TerminatorArg::Enter)]
    terminator: TerminatorArg,
    /// --replay with keyboard: F8 types GS.
    #[arg(long)]
    f8_gs: bool,
    /// --replay with keyboard: the report id in front of each report (hex).
    #[arg(long)]
    report_id: Option<String>,
    /// The longest wait between two tries to reach the server, ms.
    #[arg(long, default_value_t = 2000)]
    retry_max_ms: u64,
    /// Colours and the bell: on a terminal (auto), always or never.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,
}

pub async fn run(server: &Target, json: bool, command: GatewayCommand) -> anyhow::Result<u8> {
    match command {
        GatewayCommand::Run(args) => run_gateway(server, json, *args).await,
        GatewayCommand::Status(args) => status(&args.outbox, json),
        GatewayCommand::Rejected { outbox, clear } => rejected(&outbox.outbox, json, clear),
        GatewayCommand::Devices { config } => devices(config.as_deref(), json),
    }
}

fn read_config(path: &Path) -> anyhow::Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    Config::parse(&text).with_context(|| format!("config {}", path.display()))
}

impl RunArgs {
    fn binding(&self) -> anyhow::Result<Option<config::Binding>> {
        if self.bind.station.is_empty() && self.bind.action.is_empty() {
            return Ok(None);
        }
        Ok(Some(self.bind.check()?))
    }

    fn replay_decoder(&self) -> anyhow::Result<DecoderSpec> {
        let vendor_id = config::parse_hex_u16(&self.vendor_id)
            .map_err(|e| anyhow::anyhow!("--vendor-id {e}"))?;
        let terminator = match self.terminator {
            TerminatorArg::Enter => TerminatorConfig::Enter,
            TerminatorArg::Tab => TerminatorConfig::Tab,
        };
        let keyboard = config::keyboard_config(
            self.layout.as_deref(),
            terminator,
            self.f8_gs,
            self.report_id.as_deref(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(DecoderSpec {
            mode: match self.decoder {
                ModeArg::Pos => Mode::Pos,
                ModeArg::Keyboard => Mode::Keyboard,
            },
            vendor_id,
            keyboard,
        })
    }

    fn input(&self) -> anyhow::Result<InputSpec> {
        let binding = self.binding()?;
        let needs_binding = || {
            binding.clone().ok_or_else(|| {
                anyhow::anyhow!("--stdin and --replay need --station and --action for their scans")
            })
        };
        if self.stdin {
            return Ok(InputSpec::Stdin {
                binding: needs_binding()?,
            });
        }
        if let Some(path) = &self.replay {
            return Ok(InputSpec::Replay {
                path: path.clone(),
                decoder: self.replay_decoder()?,
                binding: needs_binding()?,
            });
        }
        let mut config = match &self.config {
            Some(path) => read_config(path)?,
            None => Config::default(),
        };
        if config.other_pos_scanners.is_none() {
            config.other_pos_scanners = binding;
        }
        if config.scanners.is_empty() && config.other_pos_scanners.is_none() {
            bail!(
                "nothing to read: pass --config FILE listing scanners, --station and --action for \
                 any HID POS scanner, --stdin, or --replay FILE"
            );
        }
        Ok(InputSpec::Devices { config })
    }
}

async fn run_gateway(server: &Target, json: bool, args: RunArgs) -> anyhow::Result<u8> {
    if !(1..=OUTBOX_LEN_MAX).contains(&args.outbox_max) {
        bail!("--outbox-max must be 1 to {OUTBOX_LEN_MAX}");
    }
    let input = args.input()?;
    let options = GatewayOptions {
        outbox_dir: args.outbox.outbox.clone(),
        outbox_max: args.outbox_max,
        forward: ForwardOptions {
            backoff_max: std::time::Duration::from_millis(args.retry_max_ms),
            token: server.token.clone(),
            ca_file: server.ca_file.clone(),
            ..ForwardOptions::new(&server.url)
        },
        inputs: vec![input],
        exit_when_drained: !args.keep_running,
    };
    let cues = match args.color {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => std::io::stdout().is_terminal(),
    };
    let (events_tx, mut events_rx) = tokio::sync::mpsc::channel(gateway::station::EVENT_QUEUE_LEN);
    let mut display = Display {
        json,
        cues,
        bad: false,
    };
    let printer = tokio::spawn(async move {
        while let Some(event) = events_rx.recv().await {
            display.show(&event);
        }
        display.bad
    });
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch for SIGTERM")?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    let result = gateway::run(options, events_tx, shutdown).await;
    let bad = printer.await.unwrap_or(true);
    result?;
    Ok(if bad { EXIT_REJECTED } else { EXIT_OK })
}

/// Turns gateway events into what the operator sees and hears.
struct Display {
    json: bool,
    /// ANSI colours and the terminal bell.
    cues: bool,
    /// A scan was rejected or not taken during the run.
    bad: bool,
}

#[derive(Clone, Copy)]
enum Tone {
    Good,
    /// Amber with the bell: look at this one.
    Warn,
    /// Amber, quiet: safe, but not answered yet.
    Held,
    Bad,
    Info,
}

/// Scan bytes for a line of text: GS as `<GS>`, other control bytes as `\xHH`.
pub fn printable(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for ch in String::from_utf8_lossy(raw).chars() {
        match ch {
            '\u{1d}' => out.push_str("<GS>"),
            c if c.is_control() => out.push_str(&format!("\\x{:02X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

fn precheck_json(check: &Precheck) -> serde_json::Value {
    match check {
        Precheck::Fits(message) => json!({"check": "fits", "message": message}),
        Precheck::LikelyRejected { reason, message } => {
            json!({"check": "likely_rejected", "reason": reason.name(), "message": message})
        }
        Precheck::Unchecked(message) => json!({"check": "unchecked", "message": message}),
    }
}

fn merge(mut value: serde_json::Value, extra: serde_json::Value) -> serde_json::Value {
    if let (Some(object), serde_json::Value::Object(extra)) = (value.as_object_mut(), extra) {
        object.extend(extra);
    }
    value
}

impl Display {
    fn show(&mut self, event: &Event) {
        let (tone, text, value) = describe(event);
        if matches!(
            event,
            Event::Refused { .. } | Event::RefusedByServer { .. } | Event::ScanError { .. }
        ) || matches!(event, Event::Result { reply, .. } if reply.outcome() == crate::proto::v1::Outcome::Rejected)
        {
            self.bad = true;
        }
        let mut stdout = std::io::stdout().lock();
        // A closed stdout must not stop the gateway: the outbox, not the screen, is the record.
        let _ = if self.json {
            writeln!(stdout, "{value}")
        } else if self.cues {
            let (colour, bell) = match tone {
                Tone::Good => ("\x1b[32m", ""),
                Tone::Warn => ("\x1b[33m", "\x07"),
                Tone::Held => ("\x1b[33m", ""),
                Tone::Bad => ("\x1b[1;31m", "\x07"),
                Tone::Info => ("\x1b[36m", ""),
            };
            writeln!(stdout, "{colour}{text}\x1b[0m{bell}")
        } else {
            writeln!(stdout, "{text}")
        };
        let _ = stdout.flush();
    }
}

/// The tone, the text line and the JSON object of an event.
fn describe(event: &Event) -> (Tone, String, serde_json::Value) {
    match event {
        Event::Started {
            outbox,
            server,
            queued,
            rejected,
        } => (
            Tone::Info,
            format!(
                "gateway: outbox {outbox} ({queued} waiting, {rejected} rejected for review), server {server}"
            ),
            json!({"event": "started", "outbox": outbox, "server": server, "queued": queued, "rejected": rejected}),
        ),
        Event::Server {
            state,
            message,
            queued,
        } => {
            let (tone, text) = match state {
                ServerState::Online => (
                    Tone::Info,
                    format!("SERVER   online; sending {queued} waiting scans in order"),
                ),
                _ => (
                    Tone::Warn,
                    format!(
                        "SERVER   unreachable ({message}); scans are kept in the outbox and sent when it is back ({queued} waiting)"
                    ),
                ),
            };
            (
                tone,
                text,
                json!({"event": "server", "state": state.name(), "message": message, "queued": queued}),
            )
        }
        Event::RulesRefreshed { items } => (
            Tone::Info,
            format!("RULES    cached format rules of {items} items"),
            json!({"event": "rules", "items": items}),
        ),
        Event::Queued {
            source,
            event_id,
            raw,
            check,
            queued,
        } => {
            let (tone, verdict, message) = match check {
                Precheck::Fits(m) => (Tone::Held, "OK".to_owned(), m),
                Precheck::LikelyRejected { reason, message } => {
                    (Tone::Bad, format!("LIKELY {}", reason.name()), message)
                }
                Precheck::Unchecked(m) => (Tone::Held, "UNCHECKED".to_owned(), m),
            };
            (
                tone,
                format!(
                    "QUEUED   {verdict:<18} [{source}] {}: {message} ({queued} waiting)",
                    printable(raw)
                ),
                merge(
                    json!({"event": "queued", "source": source, "event_id": event_id, "raw": printable(raw), "queued": queued}),
                    precheck_json(check),
                ),
            )
        }
        Event::Result {
            source,
            reply,
            after_outage,
            queued,
        } => {
            let tone = match reply.outcome() {
                crate::proto::v1::Outcome::Accepted => Tone::Good,
                crate::proto::v1::Outcome::Warning => Tone::Warn,
                _ => Tone::Bad,
            };
            let replayed = if *after_outage { "REPLAYED " } else { "" };
            (
                tone,
                format!("{replayed}{} [{source}]", output::reply_text(reply)),
                merge(
                    output::reply_json(reply),
                    json!({"event": "result", "source": source, "after_outage": after_outage, "queued": queued}),
                ),
            )
        }
        Event::RefusedByServer {
            source,
            event_id,
            raw,
            message,
            queued,
        } => (
            Tone::Bad,
            format!(
                "REFUSED  by the server [{source}] {}: {message}; kept in the supervisor's list",
                printable(raw)
            ),
            json!({"event": "refused_by_server", "source": source, "event_id": event_id, "raw": printable(raw), "message": message, "queued": queued}),
        ),
        Event::Refused { source, message } => (
            Tone::Bad,
            format!("REFUSED  [{source}] {message}"),
            json!({"event": "refused", "source": source, "message": message}),
        ),
        Event::ScanError { source, message } => (
            Tone::Bad,
            format!("MISREAD  [{source}] {message}"),
            json!({"event": "scan_error", "source": source, "message": message}),
        ),
        Event::Device {
            source,
            state,
            message,
        } => (
            match state {
                gateway::DeviceState::Connected => Tone::Info,
                _ => Tone::Warn,
            },
            format!("SCANNER  [{source}] {message}"),
            json!({"event": "device", "source": source, "state": state.name(), "message": message}),
        ),
        Event::OutboxFailed { message } => (
            Tone::Bad,
            format!("OUTBOX   {message}"),
            json!({"event": "outbox_failed", "message": message}),
        ),
        Event::InputEnded { source } => (
            Tone::Info,
            format!("INPUT    [{source}] ended"),
            json!({"event": "input_ended", "source": source}),
        ),
        Event::Drained => (
            Tone::Info,
            "DONE     every scan answered; the outbox is empty".to_owned(),
            json!({"event": "drained"}),
        ),
    }
}

pub fn print_bench(report: &crate::bench::gateway::GatewayBenchReport, as_json: bool) {
    if as_json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
}

/// `3h 05m`, `4m 10s`, `12s`.
pub fn age_text(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, s % 3600 / 60),
    }
}

fn status(dir: &Path, json: bool) -> anyhow::Result<u8> {
    if !dir.join("db").exists() {
        bail!(
            "no outbox at {}; pass --outbox with the gateway's directory",
            dir.display()
        );
    }
    let now = now_ms();
    let (running, file) = match Outbox::open(dir, OUTBOX_LEN_MAX) {
        Ok(outbox) => {
            let counts = outbox.counts()?;
            let file = outbox::StatusFile {
                counts,
                ..outbox::StatusFile::default()
            };
            (false, file)
        }
        Err(OutboxError::Locked { .. }) => {
            let file = outbox::read_status(dir).with_context(|| {
                format!(
                    "the gateway using {} has not written its status yet; try again",
                    dir.display()
                )
            })?;
            (true, file)
        }
        Err(e) => return Err(e.into()),
    };
    let counts = &file.counts;
    let oldest_age_ms = counts.oldest_at_ms.map(|at| now - at);
    if json {
        let value = json!({
            "outbox": dir.display().to_string(),
            "running": running,
            "pid": running.then_some(file.pid),
            "server": running.then_some(&file.server),
            "server_state": running.then_some(&file.server_state),
            "server_since_ms": running.then_some(file.server_since_ms),
            "updated_at_ms": running.then_some(file.updated_at_ms),
            "queued": counts.queued,
            "max": counts.max,
            "oldest_at_ms": counts.oldest_at_ms,
            "oldest_age_ms": oldest_age_ms,
            "rejected": counts.rejected,
            "devices": file.devices,
        });
        println!("{value}");
        return Ok(EXIT_OK);
    }
    println!("outbox    {}", dir.display());
    if running {
        println!(
            "gateway   running (pid {}), server {} {} since {}",
            file.pid,
            file.server,
            file.server_state,
            format_utc(file.server_since_ms)
        );
        println!(
            "scanners  {}",
            if file.devices.is_empty() {
                "none open".to_owned()
            } else {
                file.devices.join(", ")
            }
        );
    } else {
        println!("gateway   not running");
    }
    println!("queued    {} (bound {})", counts.queued, counts.max);
    match (counts.oldest_at_ms, oldest_age_ms) {
        (Some(at), Some(age)) => println!(
            "oldest    {} ago (accepted {})",
            age_text(age),
            format_utc(at)
        ),
        _ => println!("oldest    -"),
    }
    println!(
        "rejected  {} replayed scans rejected by the server{}",
        counts.rejected,
        if counts.rejected > 0 {
            "; see `serialtrack gateway rejected`"
        } else {
            ""
        }
    );
    Ok(EXIT_OK)
}

fn rejected(dir: &Path, json: bool, clear: bool) -> anyhow::Result<u8> {
    if !dir.join("db").exists() {
        bail!("no outbox at {}", dir.display());
    }
    let (entries, outbox) = match Outbox::open(dir, OUTBOX_LEN_MAX) {
        Ok(outbox) => (outbox.rejected()?, Some(outbox)),
        Err(OutboxError::Locked { .. }) if !clear => {
            // The running gateway's status file carries the newest entries.
            let file = outbox::read_status(dir).with_context(|| {
                format!(
                    "the gateway using {} has not written its status yet; try again",
                    dir.display()
                )
            })?;
            let entries = file
                .rejected_recent
                .iter()
                .map(|(seq, bytes)| outbox::decode_rejected(*seq, bytes))
                .collect::<Result<Vec<_>, _>>()?;
            if entries.len() < file.counts.rejected && !json {
                println!(
                    "(the newest {} of {}; stop the gateway to see all)",
                    entries.len(),
                    file.counts.rejected
                );
            }
            (entries, None)
        }
        Err(e @ OutboxError::Locked { .. }) => {
            bail!("{e}; the list is cleared while the gateway is stopped")
        }
        Err(e) => return Err(e.into()),
    };
    for entry in entries {
        let request = &entry.waiting.request;
        let answer = match &entry.reply {
            Some(reply) => output::reply_json(reply),
            None => json!({"outcome": "REFUSED", "message": entry.refused}),
        };
        if json {
            println!(
                "{}",
                merge(
                    answer,
                    json!({
                        "source": entry.waiting.source,
                        "station": request.station,
                        "raw": printable(&request.raw),
                        "event_id": request.event_id,
                        "accepted_at_ms": entry.waiting.accepted_at_ms,
                        "answered_at_ms": entry.answered_at_ms,
                    })
                )
            );
        } else {
            let text = match &entry.reply {
                Some(reply) => output::reply_text(reply),
                None => format!("REFUSED  {}", entry.refused),
            };
            println!(
                "{}  [{} {}] {}  {}",
                format_utc(entry.waiting.accepted_at_ms),
                entry.waiting.source,
                request.station,
                printable(&request.raw),
                text
            );
        }
    }
    if let (true, Some(outbox)) = (clear, outbox) {
        let n = outbox.clear_rejected()?;
        if !json {
            println!("cleared {n} entries");
        }
    }
    Ok(EXIT_OK)
}

fn devices(config: Option<&Path>, json: bool) -> anyhow::Result<u8> {
    let config = match config {
        Some(path) => read_config(path)?,
        None => Config::default(),
    };
    let found = gateway::device::list_devices().map_err(|e| anyhow::anyhow!(e))?;
    for device in &found {
        let verdict = match config::match_device(&config, device) {
            config::DeviceMatch::Open(opening) => format!(
                "opens as {} for {} {}",
                opening.name,
                opening.binding.station,
                opening.binding.action.name()
            ),
            config::DeviceMatch::Unbound => "HID POS scanner not in the config".to_owned(),
            config::DeviceMatch::Ignore => "ignored".to_owned(),
        };
        print_device(device, &verdict, json);
    }
    if found.is_empty() && !json {
        println!("no HID devices found (is /sys/class/hidraw there, and readable?)");
    }
    Ok(EXIT_OK)
}

fn print_device(device: &FoundDevice, verdict: &str, json: bool) {
    if json {
        println!(
            "{}",
            json!({
                "path": device.path,
                "vendor_id": format!("0x{:04x}", device.vendor_id),
                "product_id": format!("0x{:04x}", device.product_id),
                "serial_number": device.serial_number,
                "usage_page": format!("0x{:02x}", device.usage_page),
                "usage": format!("0x{:02x}", device.usage),
                "product": device.product,
                "verdict": verdict,
            })
        );
    } else {
        println!(
            "{}  {:04x}:{:04x}  page 0x{:02x} usage 0x{:02x}  {:?}  {verdict}",
            device.path,
            device.vendor_id,
            device.product_id,
            device.usage_page,
            device.usage,
            device.product
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_for_people() {
        assert_eq!(printable(b"]d2010\x1d21A\r"), "]d2010<GS>21A\\x0D");
        assert_eq!(age_text(12_400), "12s");
        assert_eq!(age_text(250_000), "4m 10s");
        assert_eq!(age_text(3 * 3600 * 1000 + 5 * 60 * 1000), "3h 05m");
        assert_eq!(age_text(-5), "0s");
    }
}
