//! The command line: `serve`, the admin and station commands that talk to a running server
//! over gRPC, and `bench`. Parses arguments, calls the library, prints for people (text) or
//! scripts (`--json`, one object per line), and chooses the exit status.

mod audit;
mod config;
mod decode;
mod export;
mod gateway;
mod import;
mod issue;
mod label;
mod output;
mod report;
mod token;
mod warehouse;
mod webhook;

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::client::Target;
use crate::server::{Access, ServeOptions};
use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::proto::v1 as pb;
use crate::store::{PgStore, SledStore, StoreError};

/// Exit status when every scan was accepted (or the command succeeded).
pub const EXIT_OK: u8 = 0;
/// Exit status when any scan was rejected.
pub const EXIT_REJECTED: u8 = 1;
/// Exit status for usage errors, connection errors and failed requests.
pub const EXIT_ERROR: u8 = 2;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";
pub const DEFAULT_DATA_DIR: &str = "./serialtrack-data";

#[derive(Parser, Debug)]
#[command(
    name = "serialtrack",
    version,
    about = "Track every physical unit by its own serial number"
)]
pub struct Cli {
    /// The server client commands talk to.
    #[arg(long, global = true, default_value = DEFAULT_SERVER, env = "SERIALTRACK_SERVER")]
    server: String,
    /// The API token client commands send (see `token create`). Without it and without
    /// --token-file, the ADMIN token `serve` wrote in the default data dir is used if present.
    #[arg(long, global = true, env = "SERIALTRACK_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// A file whose first line is the API token.
    #[arg(long, global = true, env = "SERIALTRACK_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// PEM file of the CA that signed the server's certificate, for an https:// --server.
    #[arg(long, global = true, env = "SERIALTRACK_CA_FILE")]
    ca_file: Option<PathBuf>,
    /// Print one JSON object per line instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the gRPC service. Each setting comes from its flag, else its SERIALTRACK_*
    /// variable, else the config file, else the default (`config check` shows which).
    Serve(config::ServeArgs),
    /// serve's settings: `config check` prints what serve would use and where it came from.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// API tokens and their roles (ADMIN).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Webhooks: POST matching events to a URL, signed, at least once (SUPERVISOR).
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// The tamper-evident trail: the chain's head, and a walk for breaks (SUPERVISOR).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Catalog items.
    #[command(subcommand)]
    Item(ItemCommand),
    /// Issue new serials of an item by its issuing policy: each an ISSUED unit, printed with
    /// its QR payload.
    Issue(issue::IssueArgs),
    /// Imports of serials made elsewhere: `import units FILE.csv`.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Vendor and plant ranges of an item's serials.
    #[command(subcommand)]
    Range(issue::RangeCommand),
    /// Is this label genuine? Exit 0 genuine, 1 unknown, voided or a suspected clone.
    Verify(issue::VerifyArgs),
    /// Label templates: versioned, LOCKED ones changed only by a SUPERVISOR.
    #[command(subcommand)]
    Template(label::TemplateCommand),
    /// Print labels for serials with a template: all checked first, the job recorded, its
    /// ZPL written with --out. --reprint for damaged labels, by each item's policy.
    Print(label::PrintArgs),
    /// A label's preview: `label preview SERIAL --template T --out label.png`.
    #[command(subcommand)]
    Label(label::LabelCommand),
    /// Send scans, one per RAW argument (or one per stdin line with `-`), and print each reply.
    Scan(ScanArgs),
    /// Look units up.
    #[command(subcommand)]
    Unit(UnitCommand),
    /// The event log, from a sequence number.
    Events {
        #[arg(long, default_value_t = 1)]
        from: u64,
        /// At most this many events (all when 0).
        #[arg(long, default_value_t = 0)]
        limit: u64,
        /// Only events with this reason, e.g. SUSPECT_COUNTERFEIT or WRONG_CUSTOMER (the
        /// returns flagged for review).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Follow the log live: events from a sequence number, then each new one as it is on
    /// disk, until interrupted; only those matching every filter given.
    Watch {
        #[arg(long, default_value_t = 1)]
        from: u64,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Orders to pick against.
    #[command(subcommand)]
    Order(warehouse::OrderCommand),
    /// Shipments to dispatch against.
    #[command(subcommand)]
    Shipment(warehouse::ShipmentCommand),
    /// Recalls: hold every unit of a lot, serial range or receive-date range, and report
    /// where each one is.
    #[command(subcommand)]
    Recall(warehouse::RecallCommand),
    /// Goods-in receipts (ASN / PO): expected serials or quantities, matched at receiving,
    /// reported at close.
    #[command(subcommand)]
    Receipt(warehouse::ReceiptCommand),
    /// CSV of units or events on stdout.
    #[command(subcommand)]
    Export(export::ExportCommand),
    /// Reports: `report kpi`.
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Read a barcode offline: symbology, GS1 elements, GTIN/serial/lot/expiry, Digital Link,
    /// or the precise error. Exit 0 when valid, 1 when not.
    Decode(decode::DecodeArgs),
    /// The station gateway: USB scanners in, durable outbox, forwarding (see the README).
    #[command(subcommand)]
    Gateway(gateway::GatewayCommand),
    /// Measurements.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Copy a data dir whole into an empty PostgreSQL-wire database (for several serve
    /// instances to share, `serve --store URL`) or into a new data dir on redb (a sled data dir
    /// moved to the engine whose memory stays flat), and verify the copy (keys per kind, a
    /// digest of every key and value, the event chain). Stop the serve on the data dir first.
    Migrate {
        /// The data dir to copy (locked while it runs).
        #[arg(long, value_name = "DIR")]
        from: PathBuf,
        /// The database, postgres://USER[:PASSWORD]@HOST:PORT/DB, or a new data dir (which
        /// must not exist yet)
        #[arg(long, value_name = "URL|DIR")]
        to: String,
    },
    /// Crash torture: `serve` as a child process under concurrent load, SIGKILLed and
    /// restarted, then every answer checked against the log (see the README).
    Torture(crate::bench::torture::TortureOptions),
}

#[derive(Subcommand, Debug)]
enum ItemCommand {
    /// Create an item, or replace the item with the same SKU.
    Add(ItemArgs),
    Show {
        sku: String,
    },
    List {
        #[arg(long, default_value = "")]
        after: String,
    },
}

#[derive(Args, Debug)]
struct ItemArgs {
    #[arg(long)]
    sku: String,
    /// GTIN-8, -12, -13 or -14; stored as GTIN-14.
    #[arg(long)]
    gtin: Option<String>,
    #[arg(long, default_value = "")]
    description: String,
    /// Every receipt must name a lot.
    #[arg(long)]
    lot_tracked: bool,
    #[arg(long, default_value_t = 0)]
    warranty_months: u32,
    /// Shortest serial, in characters.
    #[arg(long, default_value_t = 1)]
    serial_min: u32,
    /// Longest serial, in characters.
    #[arg(long, default_value_t = crate::barcode::SERIAL_LEN_MAX as u32)]
    serial_max: u32,
    #[arg(long, value_enum, default_value_t = CharsetArg::Gs1)]
    charset: CharsetArg,
    /// Fixed text every serial starts with.
    #[arg(long, default_value = "")]
    prefix: String,
    #[arg(long, value_enum, default_value_t = CheckArg::None)]
    check: CheckArg,
    /// Readable serial pattern: 9 digit, A upper-case letter, a lower-case letter, X digit or
    /// upper-case letter, * any allowed character, \c the character c, anything else itself.
    #[arg(long, default_value = "")]
    pattern: String,
    /// Letters that look like digits (O o I l): allowed, rejected, or read as 0 and 1.
    #[arg(long, value_enum, default_value_t = ConfusablesArg::Allow)]
    confusables: ConfusablesArg,
    #[command(flatten)]
    issuing: issue::IssuePolicyArgs,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ConfusablesArg {
    Allow,
    Reject,
    Map,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CharsetArg {
    Numeric,
    AlnumUpper,
    Alnum,
    Gs1,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum CheckArg {
    None,
    Gs1Mod10,
    Luhn,
    Mod37_36,
    LuhnMod32,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum ActionArg {
    Receive,
    Putaway,
    Pick,
    Dispatch,
    Return,
    Quarantine,
    Scrap,
    Block,
    Release,
    Aggregate,
    Disaggregate,
}

fn action_to_pb(action: ActionArg) -> pb::Action {
    match action {
        ActionArg::Receive => pb::Action::Receive,
        ActionArg::Putaway => pb::Action::Putaway,
        ActionArg::Pick => pb::Action::Pick,
        ActionArg::Dispatch => pb::Action::Dispatch,
        ActionArg::Return => pb::Action::Return,
        ActionArg::Quarantine => pb::Action::Quarantine,
        ActionArg::Scrap => pb::Action::Scrap,
        ActionArg::Block => pb::Action::Block,
        ActionArg::Release => pb::Action::Release,
        ActionArg::Aggregate => pb::Action::Aggregate,
        ActionArg::Disaggregate => pb::Action::Disaggregate,
    }
}

#[derive(Args, Debug)]
struct ScanArgs {
    #[arg(long, value_enum)]
    action: ActionArg,
    #[arg(long)]
    station: String,
    /// Who scans (with open access; a token's name is what the server records). Defaults to
    /// $USER.
    #[arg(long, env = "USER", default_value = "")]
    operator: String,
    /// The item, when the barcode does not name it.
    #[arg(long, default_value = "")]
    sku: String,
    #[arg(long, default_value = "")]
    lot: String,
    /// Mark the scans as keyed in by hand rather than scanned.
    #[arg(long)]
    keyed: bool,
    /// Putaway: the storage location.
    #[arg(long, default_value = "")]
    location: String,
    /// Pick: the order.
    #[arg(long, default_value = "")]
    order: String,
    /// Dispatch: the shipment.
    #[arg(long, default_value = "")]
    shipment: String,
    /// Return: the customer on the RMA.
    #[arg(long, default_value = "")]
    customer: String,
    /// Return: the RMA reference.
    #[arg(long, default_value = "")]
    rma: String,
    /// Block: why the unit is stopped.
    #[arg(long, default_value = "")]
    reason: String,
    /// Receive: the receipt (ASN or PO) to match the units against.
    #[arg(long, default_value = "")]
    receipt: String,
    /// Receive: the manufacturer's serial the unit carries besides ours (one RAW only).
    #[arg(long, default_value = "")]
    mfr_serial: String,
    /// Aggregate: the kit serial or SSCC the scanned units are packed into.
    #[arg(long, default_value = "")]
    parent: String,
    /// Scanned values; `-` reads one per line from stdin.
    #[arg(required = true)]
    raw: Vec<String>,
}

#[derive(Subcommand, Debug)]
enum UnitCommand {
    Show {
        serial: String,
        /// Only a unit of the item with this GTIN.
        #[arg(long, default_value = "")]
        gtin: String,
    },
    History {
        serial: String,
    },
    /// A unit or SSCC: the sets it is packed in, the tree of its top-most set, and its events.
    Trace {
        id: String,
    },
    /// Units by lot, location, order, shipment or serial range, in serial order.
    List(warehouse::UnitFilter),
}

/// The event filters of `watch` and `webhook add`; each given one must match.
#[derive(clap::Args, Debug)]
pub(crate) struct FilterArgs {
    #[arg(long, default_value = "")]
    serial: String,
    #[arg(long, default_value = "")]
    sku: String,
    #[arg(long, default_value = "")]
    lot: String,
    #[arg(long, value_enum)]
    action: Option<ActionArg>,
    /// accepted, rejected or warning.
    #[arg(long)]
    outcome: Option<String>,
}

impl FilterArgs {
    pub(crate) fn to_pb(&self, from_seq: u64) -> anyhow::Result<pb::WatchEventsRequest> {
        let outcome = match &self.outcome {
            None => pb::Outcome::Unspecified,
            Some(name) => {
                let wire = format!("OUTCOME_{}", name.to_ascii_uppercase());
                match pb::Outcome::from_str_name(&wire) {
                    Some(o) => o,
                    None => bail!("--outcome {name:?} is not accepted, rejected or warning"),
                }
            }
        };
        Ok(pb::WatchEventsRequest {
            from_seq,
            serial: self.serial.clone(),
            sku: self.sku.clone(),
            lot: self.lot.clone(),
            action: self
                .action
                .map_or(pb::Action::Unspecified, action_to_pb)
                .into(),
            outcome: outcome.into(),
        })
    }
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Receive throughput and latency against a server on loopback over a temp dir.
    Receive(crate::bench::ReceiveOptions),
    /// Barcode decodes per second on one thread, over a mixed corpus of realistic scans.
    Decode(crate::bench::DecodeOptions),
    /// A recall of one large lot with its full report, end to end.
    Recall(crate::bench::RecallOptions),
    /// A large ASN created, received and closed, end to end.
    Asn(crate::bench::AsnOptions),
    /// Units through every station: receive, putaway, pick, dispatch, shipments closed.
    Lifecycle(crate::bench::lifecycle::LifecycleOptions),
    /// Gateway replay of queued scans after an outage, against ScanStream sent directly.
    Gateway(crate::bench::gateway::GatewayBenchOptions),
    /// Steady mixed load for minutes: throughput, p99 latency, server RSS and data-dir size
    /// at every interval, so that growth shows.
    Soak(crate::bench::soak::SoakOptions),
}

/// Runs the command line and returns the process exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<u8> {
    // The ADMIN token `serve` writes in its data dir: the one SERIALTRACK_DATA_DIR names, if
    // set, as serve reads it too.
    let data_dir = std::env::var_os("SERIALTRACK_DATA_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(DEFAULT_DATA_DIR), PathBuf::from);
    let default_token = data_dir.join(crate::auth::ADMIN_TOKEN_FILE);
    // Commands that talk to no server do not read token files.
    let target = || {
        Target::new(
            &cli.server,
            cli.token.clone(),
            cli.token_file.as_deref(),
            &default_token,
            cli.ca_file.clone(),
        )
    };
    match cli.command {
        Command::Serve(args) => {
            let settings = config::resolve(&args, &|name| std::env::var_os(name))?;
            serve(settings).await
        }
        Command::Config(command) => config::check_command(command, cli.json),
        Command::Migrate { from, to } => migrate(from, to, cli.json).await,
        Command::Bench(BenchCommand::Receive(options)) => {
            let report = crate::bench::receive(&options).await?;
            output::print_bench(&report, cli.json);
            Ok(EXIT_OK)
        }
        Command::Decode(args) => decode::run(args, cli.json),
        Command::Order(command) => {
            warehouse::order(target()?.connect().await?, cli.json, command).await
        }
        Command::Shipment(command) => {
            warehouse::shipment(target()?.connect().await?, cli.json, command).await
        }
        Command::Webhook(command) => {
            webhook::webhook(target()?.connect().await?, cli.json, command).await
        }
        Command::Audit(command) => {
            audit::audit(target()?.connect().await?, cli.json, command).await
        }
        Command::Issue(args) => issue::issue(target()?.connect().await?, cli.json, args).await,
        Command::Range(command) => {
            issue::range(target()?.connect().await?, cli.json, command).await
        }
        Command::Verify(args) => issue::verify(target()?.connect().await?, cli.json, args).await,
        Command::Import(command) => {
            import::import(target()?.connect().await?, cli.json, command).await
        }
        Command::Template(command) => {
            label::template(target()?.connect().await?, cli.json, command).await
        }
        Command::Print(args) => label::print(target()?.connect().await?, cli.json, args).await,
        Command::Label(command) => label::label(target()?.connect().await?, command).await,
        Command::Token(command) => {
            token::token(target()?.connect().await?, cli.json, command).await
        }
        Command::Export(command) => export::export(target()?.connect().await?, command).await,
        Command::Report(command) => {
            report::report(target()?.connect().await?, cli.json, command).await
        }
        Command::Recall(command) => {
            warehouse::recall(target()?.connect().await?, cli.json, command).await
        }
        Command::Receipt(command) => {
            warehouse::receipt(target()?.connect().await?, cli.json, command).await
        }
        Command::Bench(BenchCommand::Recall(options)) => {
            let report = crate::bench::warehouse::recall(&options).await?;
            if cli.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            Ok(EXIT_OK)
        }
        Command::Bench(BenchCommand::Lifecycle(options)) => {
            let report = crate::bench::lifecycle::lifecycle(&options).await?;
            if cli.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            Ok(EXIT_OK)
        }
        Command::Bench(BenchCommand::Asn(options)) => {
            let report = crate::bench::warehouse::asn(&options).await?;
            if cli.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            Ok(EXIT_OK)
        }
        Command::Bench(BenchCommand::Decode(options)) => {
            // CPU-bound for the whole run: keep it off the async runtime's workers.
            let report =
                tokio::task::spawn_blocking(move || crate::bench::decode::decode(&options))
                    .await??;
            output::print_decode_bench(&report, cli.json);
            Ok(EXIT_OK)
        }
        Command::Gateway(command) => gateway::run(&target()?, cli.json, command).await,
        Command::Bench(BenchCommand::Gateway(options)) => {
            gateway::print_bench(&crate::bench::gateway::gateway(&options).await?, cli.json);
            Ok(EXIT_OK)
        }
        Command::Bench(BenchCommand::Soak(options)) => {
            let json = cli.json;
            if !json {
                println!("{}", crate::bench::soak::SoakSample::header());
            }
            let report = crate::bench::soak::soak(&options, |sample| {
                if json {
                    println!("{}", sample.to_json());
                } else {
                    println!("{}", sample.to_text());
                }
            })
            .await?;
            if !json {
                print!("{}", report.summary());
            }
            Ok(EXIT_OK)
        }
        Command::Torture(options) => {
            let report = crate::bench::torture::torture(&options).await?;
            if cli.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            Ok(EXIT_OK)
        }
        Command::Item(command) => item(&target()?, cli.json, command).await,
        Command::Scan(args) => scan(&target()?, cli.json, args).await,
        Command::Unit(command) => unit(&target()?, cli.json, command).await,
        Command::Watch { from, filter } => {
            let request = filter.to_pb(from)?;
            let mut events =
                pb::unit_service_client::UnitServiceClient::new(target()?.connect().await?)
                    .watch_events(request)
                    .await
                    .map_err(request_failed)?
                    .into_inner();
            while let Some(event) = events.message().await.map_err(request_failed)? {
                output::print_event(&event, cli.json);
            }
            Ok(EXIT_OK)
        }
        Command::Events {
            from,
            limit,
            reason,
        } => {
            let reason = match reason {
                None => None,
                Some(name) => {
                    let wire = format!("REASON_{}", name.to_ascii_uppercase());
                    match pb::Reason::from_str_name(&wire) {
                        Some(r) => Some(r),
                        None => bail!("--reason {name:?} is not a reason (see the README's list)"),
                    }
                }
            };
            events(&target()?, cli.json, from, limit, reason).await
        }
    }
}

async fn serve(settings: config::Settings) -> anyhow::Result<u8> {
    let options = ServeOptions {
        access: if settings.insecure_no_auth.value {
            Access::Open
        } else {
            Access::Tokens
        },
        tls: settings.tls()?,
        webhook_retry_max: std::time::Duration::from_millis(settings.webhook_retry_max_ms.value),
    };
    let data_dir = settings.data_dir.value.clone();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match settings.store.value.clone() {
        Some(url) => {
            let shown = crate::store::redacted(&url);
            let store = tokio::task::spawn_blocking(move || PgStore::open(&url))
                .await
                .context("opening the store stopped")?
                .with_context(|| format!("cannot open the store {shown}"))?;
            tracing::info!(engine = ?store.engine(), "store {shown}");
            serve_store(store, format!("store {shown}"), &settings, options).await
        }
        None => {
            let cache_bytes = settings.cache_mib.value * 1024 * 1024;
            let store = match SledStore::open_with_cache(&data_dir, cache_bytes) {
                Ok(store) => store,
                Err(e @ StoreError::Locked { .. }) => bail!(e),
                Err(e) => {
                    return Err(e).context(format!("cannot open data dir {}", data_dir.display()));
                }
            };
            let what = format!(
                "data dir {} ({})",
                data_dir.display(),
                store.engine().name()
            );
            serve_store(store, what, &settings, options).await
        }
    }
}

/// `serialtrack migrate`: copies, verifies and prints what it checked.
async fn migrate(from: PathBuf, to: String, json: bool) -> anyhow::Result<u8> {
    let to_pg = to.starts_with("postgres://") || to.starts_with("postgresql://");
    if !to_pg && to.contains("://") {
        bail!(
            "--to {to:?} is neither a postgres:// URL nor a directory: write postgres://USER@HOST:PORT/DB or a new data dir's path"
        );
    }
    let shown = if to_pg {
        crate::store::redacted(&to)
    } else {
        to.clone()
    };
    let source = from.clone();
    let report = tokio::task::spawn_blocking(move || {
        if to_pg {
            crate::store::migrate_to_pg(&source, &to)
        } else {
            crate::store::migrate_to_dir(&source, std::path::Path::new(&to))
        }
    })
    .await
    .context("migrate stopped")?
    .with_context(|| format!("cannot migrate {} to {shown}", from.display()))?;
    let head = format!("{}:{}", report.head.0, crate::audit::hex(&report.head.1));
    if json {
        let kinds: serde_json::Map<String, serde_json::Value> = report
            .keys_by_kind
            .iter()
            .map(|(kind, n)| (kind.to_string(), serde_json::Value::from(*n)))
            .collect();
        let line = serde_json::json!({
            "from": from.display().to_string(),
            "to": shown,
            "keys": report.keys,
            "keys_by_kind": kinds,
            "digest": crate::audit::hex(&report.digest),
            "events": report.head.0,
            "head": head,
            "unchained": report.unchained,
            "verified": true,
        });
        println!("{line}");
    } else {
        let kinds: Vec<String> = report
            .keys_by_kind
            .iter()
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        println!(
            "copied {} keys from {} to {shown} ({})",
            report.keys,
            from.display(),
            kinds.join(", ")
        );
        println!(
            "verified: every key and value read back (sha256 {}), event chain intact through event {} (head {head})",
            crate::audit::hex(&report.digest),
            report.head.0
        );
    }
    Ok(EXIT_OK)
}

/// `serve` over an open store; `what` says which in the listening line.
async fn serve_store<S: crate::store::Store>(
    store: S,
    what: String,
    settings: &config::Settings,
    options: ServeOptions,
) -> anyhow::Result<u8> {
    let (listen, data_dir) = (settings.listen.value, &settings.data_dir.value);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| {
            format!("cannot listen on {listen}; is another server using it? pass --listen")
        })?;
    let addr = listener.local_addr()?;
    let metrics_listener = match settings.metrics_listen.value {
        None => None,
        Some(metrics_addr) => Some(
            tokio::net::TcpListener::bind(metrics_addr)
                .await
                .with_context(|| {
                    format!(
                        "cannot listen for metrics on {metrics_addr}; is another server using \
                         it? pass --metrics-listen"
                    )
                })?,
        ),
    };
    match options.access {
        Access::Open => {
            let warning = "WARNING: --insecure-no-auth: anyone who can reach this port may scan, \
                 create items, recalls and tokens, and name any operator. For a local trial only.";
            tracing::warn!("{warning}");
            eprintln!("{warning}");
        }
        Access::Tokens => {
            if let Some(secret) = crate::server::auth::first_admin(&store).await? {
                let path = data_dir.join(crate::auth::ADMIN_TOKEN_FILE);
                write_owner_only(&path, &format!("{secret}\n")).with_context(|| {
                    format!("cannot write the first ADMIN token to {}", path.display())
                })?;
                // On stderr: stdout's first line says where the server listens.
                eprintln!(
                    "first start: created the ADMIN token {:?} and wrote it to {} (readable by \
                     its owner only); client commands use it from the default data dir, \
                     otherwise pass --token-file {}",
                    crate::auth::FIRST_ADMIN,
                    path.display(),
                    path.display()
                );
            }
        }
    }
    // Tests and scripts read this line to find the port when --listen ends in :0.
    println!("serialtrack listening on {addr} ({what})");
    // Started after the first line, which scripts read first; its own line follows.
    let (stop_metrics, metrics_stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics_task = match metrics_listener {
        None => None,
        Some(listener) => {
            let metrics_addr = listener.local_addr()?;
            println!("serialtrack metrics on http://{metrics_addr}/metrics");
            Some(tokio::spawn(crate::server::serve_metrics(
                listener,
                crate::store::Store::metrics(&store).clone(),
                async {
                    let _ = metrics_stopped.await;
                },
            )))
        }
    };
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot watch for SIGTERM")?;
    // A file-size limit (`ulimit -f`) must fail the write, not kill the server: the write then
    // answers UNAVAILABLE and the store reopens its data once the limit allows writes again.
    let _file_size_limit =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::from_raw(libc::SIGXFSZ))
            .context("cannot watch for SIGXFSZ")?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        tracing::info!("shutting down");
    };
    let served = crate::server::serve(listener, store, options, shutdown).await;
    let _ = stop_metrics.send(());
    if let Some(task) = metrics_task {
        let _ = task.await;
    }
    served.context("server failed")?;
    Ok(EXIT_OK)
}

/// Writes `text` to a new file at `path` that only its owner may read or write (mode 0600),
/// replacing any file there at once.
fn write_owner_only(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let partial = path.with_extension("partial");
    let _ = std::fs::remove_file(&partial);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&partial)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&partial, path)
}

/// A failed request, said so that the operator knows what happened.
fn request_failed(status: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{} ({:?})", status.message(), status.code())
}

async fn item(server: &Target, json: bool, command: ItemCommand) -> anyhow::Result<u8> {
    let mut client = pb::catalog_service_client::CatalogServiceClient::new(server.connect().await?);
    match command {
        ItemCommand::Add(args) => {
            let item = pb::Item {
                sku: args.sku,
                gtin: args.gtin.unwrap_or_default(),
                description: args.description,
                lot_tracked: args.lot_tracked,
                warranty_months: args.warranty_months,
                serial_rule: Some(pb::SerialRule {
                    length_min: args.serial_min,
                    length_max: args.serial_max,
                    charset: match args.charset {
                        CharsetArg::Numeric => pb::Charset::Numeric,
                        CharsetArg::AlnumUpper => pb::Charset::AlphanumericUpper,
                        CharsetArg::Alnum => pb::Charset::Alphanumeric,
                        CharsetArg::Gs1 => pb::Charset::Gs182,
                    }
                    .into(),
                    prefix: args.prefix,
                    check: match args.check {
                        CheckArg::None => pb::CheckScheme::None,
                        CheckArg::Gs1Mod10 => pb::CheckScheme::Gs1Mod10,
                        CheckArg::Luhn => pb::CheckScheme::Luhn,
                        CheckArg::Mod37_36 => pb::CheckScheme::Iso7064Mod3736,
                        CheckArg::LuhnMod32 => pb::CheckScheme::LuhnMod32,
                    }
                    .into(),
                    pattern: args.pattern,
                    confusables: match args.confusables {
                        ConfusablesArg::Allow => pb::Confusables::Allow,
                        ConfusablesArg::Reject => pb::Confusables::Reject,
                        ConfusablesArg::Map => pb::Confusables::MapToDigits,
                    }
                    .into(),
                }),
                updated_at_ms: 0,
                issuing: args.issuing.policy(),
            };
            let response = client
                .put_item(pb::PutItemRequest { item: Some(item) })
                .await
                .map_err(request_failed)?
                .into_inner();
            if let Some(item) = response.item {
                output::print_item(&item, Some(response.created), json);
            }
        }
        ItemCommand::Show { sku } => {
            let response = client
                .get_item(pb::GetItemRequest { sku })
                .await
                .map_err(request_failed)?
                .into_inner();
            if let Some(item) = response.item {
                output::print_item(&item, None, json);
            }
        }
        ItemCommand::List { mut after } => loop {
            let page = client
                .list_items(pb::ListItemsRequest {
                    after_sku: after.clone(),
                    limit: 0,
                })
                .await
                .map_err(request_failed)?
                .into_inner();
            for item in &page.items {
                output::print_item(item, None, json);
            }
            if page.next_after_sku.is_empty() {
                break;
            }
            after = page.next_after_sku;
        },
    }
    Ok(EXIT_OK)
}

async fn scan(server: &Target, json: bool, args: ScanArgs) -> anyhow::Result<u8> {
    let mut client = pb::scan_service_client::ScanServiceClient::new(server.connect().await?);
    let action = action_to_pb(args.action);
    let mut raws: Vec<Vec<u8>> = Vec::new();
    for raw in args.raw {
        if raw == "-" {
            for line in std::io::stdin().lock().split(b'\n') {
                let line = line.context("cannot read scans from stdin")?;
                if !line.is_empty() {
                    raws.push(line);
                }
            }
        } else {
            raws.push(raw.into_bytes());
        }
    }
    if !args.mfr_serial.is_empty() && raws.len() > 1 {
        bail!("--mfr-serial names one unit's manufacturer serial: scan one RAW with it");
    }
    let mut any_rejected = false;
    for raw in raws {
        let request = pb::ScanRequest {
            event_id: uuid::Uuid::new_v4().to_string(),
            station: args.station.clone(),
            operator: args.operator.clone(),
            action: action.into(),
            raw,
            sku: args.sku.clone(),
            lot: args.lot.clone(),
            entry_mode: if args.keyed {
                pb::EntryMode::Keyed
            } else {
                pb::EntryMode::Scanned
            }
            .into(),
            client_time_ms: crate::domain::time::now_ms(),
            location: args.location.clone(),
            order_id: args.order.clone(),
            shipment_id: args.shipment.clone(),
            customer: args.customer.clone(),
            rma: args.rma.clone(),
            hold_reason: args.reason.clone(),
            receipt_id: args.receipt.clone(),
            mfr_serial: args.mfr_serial.clone(),
            parent: args.parent.clone(),
        };
        let reply = client
            .scan(request)
            .await
            .map_err(request_failed)?
            .into_inner();
        any_rejected |= reply.outcome() == pb::Outcome::Rejected;
        output::print_reply(&reply, json);
    }
    Ok(if any_rejected { EXIT_REJECTED } else { EXIT_OK })
}

async fn unit(server: &Target, json: bool, command: UnitCommand) -> anyhow::Result<u8> {
    let mut client = pb::unit_service_client::UnitServiceClient::new(server.connect().await?);
    match command {
        UnitCommand::Show { serial, gtin } => {
            let response = client
                .get_unit(pb::GetUnitRequest { serial, gtin })
                .await
                .map_err(request_failed)?
                .into_inner();
            if let Some(unit) = response.unit {
                output::print_unit(&unit, json);
            }
        }
        UnitCommand::List(filter) => {
            let filter = filter.to_pb()?;
            warehouse::each_unit(&mut client, filter, |unit| {
                output::print_unit_line(unit, json)
            })
            .await?;
        }
        UnitCommand::Trace { id } => {
            let trace = client
                .trace(pb::TraceRequest { id })
                .await
                .map_err(request_failed)?
                .into_inner();
            output::print_trace(&trace, json);
        }
        UnitCommand::History { serial } => {
            let mut after_seq = 0;
            loop {
                let page = client
                    .history(pb::HistoryRequest {
                        serial: serial.clone(),
                        after_seq,
                        limit: 0,
                    })
                    .await
                    .map_err(request_failed)?
                    .into_inner();
                for event in &page.events {
                    output::print_event(event, json);
                }
                if page.next_after_seq == 0 {
                    break;
                }
                after_seq = page.next_after_seq;
            }
        }
    }
    Ok(EXIT_OK)
}

async fn events(
    server: &Target,
    json: bool,
    from: u64,
    limit: u64,
    reason: Option<pb::Reason>,
) -> anyhow::Result<u8> {
    let mut client = pb::unit_service_client::UnitServiceClient::new(server.connect().await?);
    let mut from_seq = from;
    let mut printed = 0u64;
    loop {
        let page = client
            .list_events(pb::ListEventsRequest { from_seq, limit: 0 })
            .await
            .map_err(request_failed)?
            .into_inner();
        for event in page
            .events
            .iter()
            .filter(|e| reason.is_none_or(|r| e.reason() == r))
        {
            if limit != 0 && printed == limit {
                return Ok(EXIT_OK);
            }
            output::print_event(event, json);
            printed += 1;
        }
        if page.next_from_seq == 0 {
            return Ok(EXIT_OK);
        }
        from_seq = page.next_from_seq;
    }
}
