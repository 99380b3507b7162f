//! `serve`'s settings and `serialtrack config check`. Each setting comes from the first place
//! that has it: a flag, a `SERIALTRACK_*` environment variable, the TOML config file
//! (`--config FILE` or `SERIALTRACK_CONFIG`), the default. [`resolve`] reads them and says
//! where each value came from; [`Settings::check`] also reads the TLS files and probes the
//! data dir. Nothing here starts a server or writes a file.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use serde::Deserialize;
use toml::Spanned;

use super::{DEFAULT_DATA_DIR, DEFAULT_LISTEN, EXIT_OK};

/// The variable that names the config file when `--config` does not.
pub const CONFIG_ENV: &str = "SERIALTRACK_CONFIG";

/// `serve`'s settings as flags; each may also come from its variable or the config file.
#[derive(Args, Clone, Debug, Default)]
pub struct ServeArgs {
    /// TOML file with serve's settings; flags and SERIALTRACK_* variables win over it
    /// [env: SERIALTRACK_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address the gRPC service listens on [env: SERIALTRACK_LISTEN] [default: 127.0.0.1:50051]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The store's directory [env: SERIALTRACK_DATA_DIR] [default: ./serialtrack-data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Keep the data in a PostgreSQL-wire database instead of the data dir (several serve
    /// instances may share one): postgres://USER[:PASSWORD]@HOST:PORT/DB
    /// [env: SERIALTRACK_STORE] [default: the embedded store in the data dir]
    #[arg(long, value_name = "URL", value_parser = parse_store_arg)]
    pub store: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (off without it)
    /// [env: SERIALTRACK_METRICS_LISTEN]
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// PEM certificate chain: serve TLS (with --tls-key) [env: SERIALTRACK_TLS_CERT]
    #[arg(long, value_name = "PEM")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert [env: SERIALTRACK_TLS_KEY]
    #[arg(long, value_name = "PEM")]
    pub tls_key: Option<PathBuf>,
    /// Let anyone call anything, with no token: for a local trial only
    /// [env: SERIALTRACK_INSECURE_NO_AUTH=true]
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// The longest wait between two tries of a failing webhook delivery, ms, 100 to
    /// 3,600,000 [env: SERIALTRACK_WEBHOOK_RETRY_MAX_MS] [default: 30000]
    #[arg(long, value_name = "MS", value_parser = parse_retry_ms_arg)]
    pub webhook_retry_max_ms: Option<u64>,
    /// sled's page cache in MiB, 1 to 1,048,576: the embedded store's memory beyond its
    /// per-unit bookkeeping is two to three times this [env: SERIALTRACK_CACHE_MIB]
    /// [default: 64]
    #[arg(long, value_name = "MIB", value_parser = parse_cache_mib_arg)]
    pub cache_mib: Option<u64>,
}

/// A whole-number setting's bounds, and what it counts.
struct Whole {
    range: std::ops::RangeInclusive<u64>,
    unit: &'static str,
}

impl Whole {
    fn parse(&self, text: &str) -> Result<u64, String> {
        match text.trim().parse::<u64>() {
            Ok(n) if self.range.contains(&n) => Ok(n),
            _ => Err(self.refusal()),
        }
    }

    fn parse_arg(&self, text: &str) -> Result<u64, String> {
        self.parse(text).map_err(|e| format!("{text:?} {e}"))
    }

    fn refusal(&self) -> String {
        format!(
            "is not a number of {} from {} to {}",
            self.unit,
            self.range.start(),
            self.range.end()
        )
    }
}

const RETRY_MS: Whole = Whole {
    range: 100..=3_600_000,
    unit: "milliseconds",
};
const CACHE_MIB: Whole = Whole {
    range: 1..=1_048_576,
    unit: "MiB",
};
const DEFAULT_CACHE_MIB: u64 = crate::store::CACHE_BYTES / (1024 * 1024);

/// A store URL: PostgreSQL's scheme (the engines that speak its protocol take it too).
fn parse_store(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        Ok(text.to_owned())
    } else {
        Err(
            "is not a postgres:// URL: write postgres://USER@HOST:PORT/DB, or leave the store \
             out for the embedded one in the data dir"
                .to_owned(),
        )
    }
}

fn parse_store_arg(text: &str) -> Result<String, String> {
    parse_store(text)
}

fn parse_retry_ms_arg(text: &str) -> Result<u64, String> {
    RETRY_MS.parse_arg(text)
}

fn parse_cache_mib_arg(text: &str) -> Result<u64, String> {
    CACHE_MIB.parse_arg(text)
}

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print the settings `serve` would use with these flags, variables and config file, and
    /// where each came from; exit 2 with the reason when it would not start.
    Check(ServeArgs),
}

/// One setting: its flag, its variable and its key in the config file.
struct Key {
    name: &'static str,
    flag: &'static str,
    env: &'static str,
}

impl Key {
    const fn new(name: &'static str, flag: &'static str, env: &'static str) -> Key {
        Key { name, flag, env }
    }
}

const LISTEN: Key = Key::new("listen", "--listen", "SERIALTRACK_LISTEN");
const DATA_DIR: Key = Key::new("data_dir", "--data-dir", "SERIALTRACK_DATA_DIR");
const STORE: Key = Key::new("store", "--store", "SERIALTRACK_STORE");
const METRICS_LISTEN: Key = Key::new(
    "metrics_listen",
    "--metrics-listen",
    "SERIALTRACK_METRICS_LISTEN",
);
const TLS_CERT: Key = Key::new("tls_cert", "--tls-cert", "SERIALTRACK_TLS_CERT");
const TLS_KEY: Key = Key::new("tls_key", "--tls-key", "SERIALTRACK_TLS_KEY");
const WEBHOOK_RETRY_MAX_MS: Key = Key::new(
    "webhook_retry_max_ms",
    "--webhook-retry-max-ms",
    "SERIALTRACK_WEBHOOK_RETRY_MAX_MS",
);
const CACHE_MIB_KEY: Key = Key::new("cache_mib", "--cache-mib", "SERIALTRACK_CACHE_MIB");
const INSECURE_NO_AUTH: Key = Key::new(
    "insecure_no_auth",
    "--insecure-no-auth",
    "SERIALTRACK_INSECURE_NO_AUTH",
);

/// Where a setting's value came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The flag, named.
    Flag(&'static str),
    /// The environment variable, named.
    Env(&'static str),
    /// The config file, at this line.
    File {
        line: usize,
    },
    Default,
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Flag(_) => "flag",
            Source::Env(_) => "env",
            Source::File { .. } => "file",
            Source::Default => "default",
        }
    }

    fn describe(&self) -> String {
        match self {
            Source::Flag(flag) => format!("flag {flag}"),
            Source::Env(name) => format!("env {name}"),
            Source::File { line } => format!("file, line {line}"),
            Source::Default => "default".to_owned(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting<T> {
    pub value: T,
    pub source: Source,
}

/// What `serve` runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The config file read, if any (from `--config` or `SERIALTRACK_CONFIG`).
    pub config: Option<Setting<PathBuf>>,
    pub listen: Setting<SocketAddr>,
    pub data_dir: Setting<PathBuf>,
    /// The PostgreSQL-wire database's URL; `None`: sled in the data dir.
    pub store: Setting<Option<String>>,
    pub metrics_listen: Setting<Option<SocketAddr>>,
    pub tls_cert: Setting<Option<PathBuf>>,
    pub tls_key: Setting<Option<PathBuf>>,
    pub insecure_no_auth: Setting<bool>,
    pub webhook_retry_max_ms: Setting<u64>,
    /// sled's page cache, MiB (the embedded store only).
    pub cache_mib: Setting<u64>,
}

/// The config file as written: every key optional, no other key allowed.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSettings {
    listen: Option<Spanned<String>>,
    data_dir: Option<Spanned<String>>,
    store: Option<Spanned<String>>,
    metrics_listen: Option<Spanned<String>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    insecure_no_auth: Option<Spanned<bool>>,
    webhook_retry_max_ms: Option<Spanned<u64>>,
    cache_mib: Option<Spanned<u64>>,
}

struct ConfigFile {
    path: PathBuf,
    text: String,
    settings: FileSettings,
}

impl ConfigFile {
    fn read(path: &Path) -> anyhow::Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the config file {}", path.display()))?;
        ConfigFile::parse(path, text)
    }

    fn parse(path: &Path, text: String) -> anyhow::Result<ConfigFile> {
        let settings = toml::from_str(&text).map_err(|e: toml::de::Error| {
            let at = e.span().map_or_else(String::new, |span| {
                let (line, column) = line_column(&text, span.start);
                format!(" line {line}, column {column}:")
            });
            // serde says "field"; the file has keys.
            let message = e
                .message()
                .trim()
                .replacen("unknown field", "unknown key", 1);
            anyhow!("config file {}{at} {message}", path.display())
        })?;
        Ok(ConfigFile {
            path: path.to_owned(),
            text,
            settings,
        })
    }

    fn line(&self, offset: usize) -> usize {
        line_column(&self.text, offset).0
    }

    /// The whole number at `key` within `bounds`, and its line; an error names the file, the
    /// line and the key.
    fn whole(
        &self,
        key: &Key,
        field: Option<&Spanned<u64>>,
        bounds: &Whole,
    ) -> anyhow::Result<Option<(u64, usize)>> {
        let Some(field) = field else {
            return Ok(None);
        };
        let line = self.line(field.span().start);
        let n = *field.get_ref();
        if !bounds.range.contains(&n) {
            bail!(
                "config file {} line {line}: {} = {n} {}",
                self.path.display(),
                key.name,
                bounds.refusal()
            );
        }
        Ok(Some((n, line)))
    }

    /// The value of `key` read with `parse`, and its line; an error names the file, the line
    /// and the key.
    fn value<T>(
        &self,
        key: &Key,
        field: Option<&Spanned<String>>,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> anyhow::Result<Option<(T, usize)>> {
        let Some(field) = field else {
            return Ok(None);
        };
        let line = self.line(field.span().start);
        match parse(field.get_ref()) {
            Ok(value) => Ok(Some((value, line))),
            Err(why) => bail!(
                "config file {} line {line}: {} = {:?} {why}",
                self.path.display(),
                key.name,
                field.get_ref()
            ),
        }
    }

    /// A path in the file, relative to the file's own folder when it is not absolute.
    fn path_value(
        &self,
        key: &Key,
        field: Option<&Spanned<String>>,
    ) -> anyhow::Result<Option<(PathBuf, usize)>> {
        let folder = self.path.parent().unwrap_or(Path::new(""));
        self.value(key, field, |text| {
            if text.is_empty() {
                return Err("is empty: give a path".to_owned());
            }
            Ok(folder.join(text))
        })
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn parse_addr(example: &'static str) -> impl Fn(&str) -> Result<SocketAddr, String> {
    move |text| {
        text.trim().parse().map_err(|_| {
            format!("is not an address: write an IP address and a port, e.g. {example}")
        })
    }
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("is not true or false".to_owned()),
    }
}

/// The value of `key`'s variable read with `parse`; an error names the variable.
fn env_value<T>(
    env: &dyn Fn(&str) -> Option<OsString>,
    key: &Key,
    parse: impl Fn(&str) -> Result<T, String>,
) -> anyhow::Result<Option<T>> {
    let Some(value) = env(key.env) else {
        return Ok(None);
    };
    let text = value
        .into_string()
        .map_err(|value| anyhow!("{}={value:?} is not UTF-8", key.env))?;
    parse(&text)
        .map(Some)
        .map_err(|why| anyhow!("{}={text:?} {why}", key.env))
}

/// The first of flag, variable, file and default that has a value.
fn pick<T>(
    key: &Key,
    flag: Option<T>,
    env: Option<T>,
    file: Option<(T, usize)>,
    default: T,
) -> Setting<T> {
    if let Some(value) = flag {
        return Setting {
            value,
            source: Source::Flag(key.flag),
        };
    }
    if let Some(value) = env {
        return Setting {
            value,
            source: Source::Env(key.env),
        };
    }
    if let Some((value, line)) = file {
        return Setting {
            value,
            source: Source::File { line },
        };
    }
    Setting {
        value: default,
        source: Source::Default,
    }
}

/// The settings `serve` runs with, from `args`, the variables `env` gives (an empty one counts
/// as unset) and the config file. Every value given is checked, also one that a flag or a
/// variable overrides, so that a broken file or variable is found before it matters.
pub fn resolve(
    args: &ServeArgs,
    env: &dyn Fn(&str) -> Option<OsString>,
) -> anyhow::Result<Settings> {
    let env = |name: &str| env(name).filter(|value| !value.is_empty());
    let config = match (&args.config, env(CONFIG_ENV)) {
        (Some(path), _) => Some(Setting {
            value: path.clone(),
            source: Source::Flag("--config"),
        }),
        (None, Some(path)) => Some(Setting {
            value: PathBuf::from(path),
            source: Source::Env(CONFIG_ENV),
        }),
        (None, None) => None,
    };
    let file = match &config {
        Some(config) => ConfigFile::read(&config.value)?,
        None => ConfigFile {
            path: PathBuf::new(),
            text: String::new(),
            settings: FileSettings::default(),
        },
    };
    let fields = &file.settings;

    let listen_env = env_value(&env, &LISTEN, parse_addr("127.0.0.1:50051"))?;
    let listen_file = file.value(&LISTEN, fields.listen.as_ref(), parse_addr("0.0.0.0:50051"))?;
    let default_listen: SocketAddr = DEFAULT_LISTEN.parse()?;
    let listen = pick(
        &LISTEN,
        args.listen,
        listen_env,
        listen_file,
        default_listen,
    );

    let metrics_env = env_value(&env, &METRICS_LISTEN, parse_addr("127.0.0.1:9464"))?;
    let metrics_file = file.value(
        &METRICS_LISTEN,
        fields.metrics_listen.as_ref(),
        parse_addr("127.0.0.1:9464"),
    )?;
    let metrics_listen = pick(
        &METRICS_LISTEN,
        args.metrics_listen.map(Some),
        metrics_env.map(Some),
        metrics_file.map(|(addr, line)| (Some(addr), line)),
        None,
    );

    let data_dir = pick(
        &DATA_DIR,
        args.data_dir.clone(),
        env(DATA_DIR.env).map(PathBuf::from),
        file.path_value(&DATA_DIR, fields.data_dir.as_ref())?,
        PathBuf::from(DEFAULT_DATA_DIR),
    );
    let store_env = env_value(&env, &STORE, parse_store)?;
    let store_file = file.value(&STORE, fields.store.as_ref(), parse_store)?;
    let store = pick(
        &STORE,
        args.store.clone().map(Some),
        store_env.map(Some),
        store_file.map(|(url, line)| (Some(url), line)),
        None,
    );
    let some_path = |key: &Key, flag: &Option<PathBuf>, field: Option<&Spanned<String>>| {
        Ok::<_, anyhow::Error>(pick(
            key,
            flag.clone().map(Some),
            env(key.env).map(|value| Some(PathBuf::from(value))),
            file.path_value(key, field)?
                .map(|(path, line)| (Some(path), line)),
            None,
        ))
    };
    let tls_cert = some_path(&TLS_CERT, &args.tls_cert, fields.tls_cert.as_ref())?;
    let tls_key = some_path(&TLS_KEY, &args.tls_key, fields.tls_key.as_ref())?;

    let insecure_env = env_value(&env, &INSECURE_NO_AUTH, parse_bool)?;
    let insecure_file = fields.insecure_no_auth.as_ref().map(|field| {
        let line = file.line(field.span().start);
        (*field.get_ref(), line)
    });
    let insecure_no_auth = pick(
        &INSECURE_NO_AUTH,
        args.insecure_no_auth.then_some(true),
        insecure_env,
        insecure_file,
        false,
    );

    let retry_env = env_value(&env, &WEBHOOK_RETRY_MAX_MS, |t| RETRY_MS.parse(t))?;
    let retry_file = file.whole(
        &WEBHOOK_RETRY_MAX_MS,
        fields.webhook_retry_max_ms.as_ref(),
        &RETRY_MS,
    )?;
    let webhook_retry_max_ms = pick(
        &WEBHOOK_RETRY_MAX_MS,
        args.webhook_retry_max_ms,
        retry_env,
        retry_file,
        30_000,
    );
    let cache_mib = pick(
        &CACHE_MIB_KEY,
        args.cache_mib,
        env_value(&env, &CACHE_MIB_KEY, |t| CACHE_MIB.parse(t))?,
        file.whole(&CACHE_MIB_KEY, fields.cache_mib.as_ref(), &CACHE_MIB)?,
        DEFAULT_CACHE_MIB,
    );

    let settings = Settings {
        config,
        listen,
        data_dir,
        store,
        metrics_listen,
        tls_cert,
        tls_key,
        insecure_no_auth,
        webhook_retry_max_ms,
        cache_mib,
    };
    settings.check_shape()?;
    Ok(settings)
}

impl Settings {
    /// What can be told without touching files: TLS needs both halves, and the two listeners
    /// need two addresses.
    fn check_shape(&self) -> anyhow::Result<()> {
        match (&self.tls_cert.value, &self.tls_key.value) {
            (Some(_), None) => bail!(
                "tls_cert is set ({}) but tls_key is not: give both (the certificate chain and \
                 its private key) or neither",
                self.tls_cert.source.describe()
            ),
            (None, Some(_)) => bail!(
                "tls_key is set ({}) but tls_cert is not: give both (the certificate chain and \
                 its private key) or neither",
                self.tls_key.source.describe()
            ),
            _ => {}
        }
        if let Some(metrics) = self.metrics_listen.value
            && metrics == self.listen.value
            && metrics.port() != 0
        {
            bail!(
                "metrics_listen ({}) and listen ({}) are the same address {metrics}: give the \
                 metrics their own port, e.g. 9464",
                self.metrics_listen.source.describe(),
                self.listen.source.describe()
            );
        }
        Ok(())
    }

    /// The server's TLS settings, when both files are given; reads and checks them.
    pub fn tls(&self) -> anyhow::Result<Option<tonic::transport::ServerTlsConfig>> {
        match (&self.tls_cert.value, &self.tls_key.value) {
            (Some(cert), Some(key)) => crate::tls::server_config(cert, key).map(Some),
            _ => Ok(None),
        }
    }

    /// What `config check` checks beyond [`resolve`]: the TLS files can be read and hold PEM,
    /// and the data dir exists as a writable directory or can be created.
    pub fn check(&self) -> anyhow::Result<()> {
        self.tls()?;
        check_data_dir(&self.data_dir.value).map_err(|why| {
            anyhow!(
                "data_dir {} ({}) {why}",
                self.data_dir.value.display(),
                self.data_dir.source.describe()
            )
        })
    }

    /// Each setting's name, value (JSON) and source, in the order `config check` prints them.
    fn rows(&self) -> Vec<(&'static str, serde_json::Value, Source)> {
        use serde_json::Value;
        let path = |p: &Option<PathBuf>| {
            p.as_ref()
                .map_or(Value::Null, |p| Value::from(p.display().to_string()))
        };
        let addr = |a: &Option<SocketAddr>| a.map_or(Value::Null, |a| Value::from(a.to_string()));
        vec![
            (
                "config",
                path(&self.config.as_ref().map(|c| c.value.clone())),
                self.config
                    .as_ref()
                    .map_or(Source::Default, |c| c.source.clone()),
            ),
            (
                LISTEN.name,
                Value::from(self.listen.value.to_string()),
                self.listen.source.clone(),
            ),
            (
                DATA_DIR.name,
                Value::from(self.data_dir.value.display().to_string()),
                self.data_dir.source.clone(),
            ),
            (
                STORE.name,
                // Never the password: `config check` output ends up in tickets.
                self.store
                    .value
                    .as_deref()
                    .map_or(Value::Null, |url| Value::from(crate::store::redacted(url))),
                self.store.source.clone(),
            ),
            (
                METRICS_LISTEN.name,
                addr(&self.metrics_listen.value),
                self.metrics_listen.source.clone(),
            ),
            (
                TLS_CERT.name,
                path(&self.tls_cert.value),
                self.tls_cert.source.clone(),
            ),
            (
                TLS_KEY.name,
                path(&self.tls_key.value),
                self.tls_key.source.clone(),
            ),
            (
                INSECURE_NO_AUTH.name,
                Value::from(self.insecure_no_auth.value),
                self.insecure_no_auth.source.clone(),
            ),
            (
                WEBHOOK_RETRY_MAX_MS.name,
                Value::from(self.webhook_retry_max_ms.value),
                self.webhook_retry_max_ms.source.clone(),
            ),
            (
                CACHE_MIB_KEY.name,
                Value::from(self.cache_mib.value),
                self.cache_mib.source.clone(),
            ),
        ]
    }
}

/// Whether `dir` is a directory serialtrack can write in, or could be created: its nearest
/// existing ancestor must be a writable directory. Writes and removes a probe file; creates
/// no directory.
fn check_data_dir(dir: &Path) -> Result<(), String> {
    let probe = |folder: &Path| {
        tempfile::Builder::new()
            .prefix(".serialtrack-check-")
            .tempfile_in(folder)
            .map(drop)
    };
    for (depth, folder) in dir.ancestors().enumerate() {
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        let metadata = match std::fs::metadata(folder) {
            Ok(metadata) => metadata,
            // Not there, or under a file: the ancestors tell which.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                continue;
            }
            Err(e) => return Err(format!("cannot be looked at: {}: {e}", folder.display())),
        };
        if !metadata.is_dir() {
            return Err(if depth == 0 {
                "is not a directory".to_owned()
            } else {
                format!("cannot be created: {} is not a directory", folder.display())
            });
        }
        return probe(folder).map_err(|e| {
            if depth == 0 {
                format!("is not writable: {e}")
            } else {
                format!("cannot be created in {}: {e}", folder.display())
            }
        });
    }
    Err("has no existing ancestor folder".to_owned())
}

/// `serialtrack config check`: the effective settings, one per line, with their sources.
pub fn check_command(command: ConfigCommand, json: bool) -> anyhow::Result<u8> {
    let ConfigCommand::Check(args) = command;
    let settings = resolve(&args, &|name| std::env::var_os(name))?;
    settings.check()?;
    let rows = settings.rows();
    if json {
        for (name, value, source) in rows {
            let (from, line) = match source {
                Source::Flag(flag) => (serde_json::Value::from(flag), serde_json::Value::Null),
                Source::Env(var) => (serde_json::Value::from(var), serde_json::Value::Null),
                Source::File { line } => (serde_json::Value::Null, serde_json::Value::from(line)),
                Source::Default => (serde_json::Value::Null, serde_json::Value::Null),
            };
            let row = serde_json::json!({
                "setting": name,
                "value": value,
                "source": source.kind(),
                "from": from,
                "line": line,
            });
            println!("{row}");
        }
        return Ok(EXIT_OK);
    }
    let shown: Vec<(&str, String, String)> = rows
        .into_iter()
        .map(|(name, value, source)| {
            let value = match value {
                serde_json::Value::Null => "-".to_owned(),
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            (name, value, source.describe())
        })
        .collect();
    let names = shown.iter().map(|(n, _, _)| n.len()).max().unwrap_or(0);
    let width = shown.iter().map(|(_, v, _)| v.len()).max().unwrap_or(0);
    for (name, value, source) in &shown {
        println!("{name:<names$}  {value:<width$}  {source}");
    }
    println!("ok: serve would start with these settings");
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let vars: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), OsString::from(v)))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn file_with(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("serialtrack.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn webhook_retry_from_each_place_and_refused_out_of_range() {
        let settings = resolve(&ServeArgs::default(), &env_of(&[])).unwrap();
        assert_eq!(settings.webhook_retry_max_ms.value, 30_000);
        let (_dir, path) = file_with("\nwebhook_retry_max_ms = 500\n");
        let args = ServeArgs {
            config: Some(path.clone()),
            ..ServeArgs::default()
        };
        let settings = resolve(&args, &env_of(&[])).unwrap();
        assert_eq!(settings.webhook_retry_max_ms.value, 500);
        assert_eq!(
            settings.webhook_retry_max_ms.source,
            Source::File { line: 2 }
        );
        let env = env_of(&[("SERIALTRACK_WEBHOOK_RETRY_MAX_MS", "700")]);
        let settings = resolve(&args, &env).unwrap();
        assert_eq!(settings.webhook_retry_max_ms.value, 700);
        let flagged = ServeArgs {
            webhook_retry_max_ms: Some(900),
            ..args
        };
        assert_eq!(
            resolve(&flagged, &env).unwrap().webhook_retry_max_ms.source,
            Source::Flag("--webhook-retry-max-ms")
        );
        let (_dir, path) = file_with("webhook_retry_max_ms = 5\n");
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        let error = resolve(&args, &env_of(&[])).unwrap_err().to_string();
        assert!(
            error.contains("line 1") && error.contains("from 100"),
            "{error}"
        );
        let env = env_of(&[("SERIALTRACK_WEBHOOK_RETRY_MAX_MS", "soon")]);
        let error = format!("{:#}", resolve(&ServeArgs::default(), &env).unwrap_err());
        assert!(
            error.contains("SERIALTRACK_WEBHOOK_RETRY_MAX_MS"),
            "{error}"
        );
    }

    #[test]
    fn cache_from_each_place_and_refused_out_of_range() {
        let settings = resolve(&ServeArgs::default(), &env_of(&[])).unwrap();
        assert_eq!(settings.cache_mib.value, 64);
        assert_eq!(settings.cache_mib.source, Source::Default);
        let (_dir, path) = file_with("cache_mib = 16\n");
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        let settings = resolve(&args, &env_of(&[])).unwrap();
        assert_eq!(settings.cache_mib.value, 16);
        assert_eq!(settings.cache_mib.source, Source::File { line: 1 });
        let env = env_of(&[("SERIALTRACK_CACHE_MIB", "256")]);
        assert_eq!(resolve(&args, &env).unwrap().cache_mib.value, 256);
        let flagged = ServeArgs {
            cache_mib: Some(32),
            ..args
        };
        let settings = resolve(&flagged, &env).unwrap();
        assert_eq!(settings.cache_mib.value, 32);
        assert_eq!(settings.cache_mib.source, Source::Flag("--cache-mib"));
        for text in ["cache_mib = 0\n", "cache_mib = 1048577\n"] {
            let (_dir, path) = file_with(text);
            let args = ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            };
            let error = resolve(&args, &env_of(&[])).unwrap_err().to_string();
            assert!(
                error.contains("line 1: cache_mib") && error.contains("MiB from 1 to 1048576"),
                "{error}"
            );
        }
        let env = env_of(&[("SERIALTRACK_CACHE_MIB", "lots")]);
        let error = format!("{:#}", resolve(&ServeArgs::default(), &env).unwrap_err());
        assert!(error.contains("SERIALTRACK_CACHE_MIB"), "{error}");
        assert!(
            parse_cache_mib_arg("0")
                .unwrap_err()
                .contains("\"0\" is not a number of MiB")
        );
        // Both ends of the range are taken.
        assert_eq!(parse_cache_mib_arg("1"), Ok(1));
        assert_eq!(parse_cache_mib_arg("1048576"), Ok(1_048_576));
        for text in ["cache_mib = 1\n", "cache_mib = 1048576\n"] {
            let (_dir, path) = file_with(text);
            let args = ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            };
            resolve(&args, &env_of(&[])).unwrap();
        }
    }

    #[test]
    fn defaults_without_flags_variables_or_file() {
        let settings = resolve(&ServeArgs::default(), &env_of(&[])).unwrap();
        assert_eq!(settings.config, None);
        assert_eq!(settings.listen.value, DEFAULT_LISTEN.parse().unwrap());
        assert_eq!(settings.listen.source, Source::Default);
        assert_eq!(settings.data_dir.value, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(settings.metrics_listen.value, None);
        assert_eq!(settings.tls_cert.value, None);
        assert!(!settings.insecure_no_auth.value);
    }

    #[test]
    fn flags_win_over_variables_which_win_over_the_file() {
        let (dir, path) = file_with(
            "# serve\nlisten = \"127.0.0.1:1111\"\nmetrics_listen = \"127.0.0.1:1112\"\n\
             data_dir = \"data\"\ninsecure_no_auth = false\n",
        );
        let env = env_of(&[
            (CONFIG_ENV, path.to_str().unwrap()),
            ("SERIALTRACK_LISTEN", "127.0.0.1:2221"),
            ("SERIALTRACK_INSECURE_NO_AUTH", "yes"),
            ("SERIALTRACK_TLS_CERT", ""),
        ]);
        let args = ServeArgs {
            listen: Some("127.0.0.1:3331".parse().unwrap()),
            ..ServeArgs::default()
        };
        let settings = resolve(&args, &env).unwrap();
        assert_eq!(
            settings.config.as_ref().map(|c| &c.source),
            Some(&Source::Env(CONFIG_ENV))
        );
        assert_eq!(settings.listen.value.port(), 3331);
        assert_eq!(settings.listen.source, Source::Flag("--listen"));
        assert!(settings.insecure_no_auth.value);
        assert_eq!(
            settings.insecure_no_auth.source,
            Source::Env("SERIALTRACK_INSECURE_NO_AUTH")
        );
        assert_eq!(
            settings.metrics_listen.value,
            Some("127.0.0.1:1112".parse().unwrap())
        );
        assert_eq!(settings.metrics_listen.source, Source::File { line: 3 });
        // A relative path in the file is read from the file's folder.
        assert_eq!(settings.data_dir.value, dir.path().join("data"));
        assert_eq!(settings.data_dir.source, Source::File { line: 4 });
        // An empty variable is unset.
        assert_eq!(settings.tls_cert.source, Source::Default);

        let without_flag = resolve(&ServeArgs::default(), &env).unwrap();
        assert_eq!(without_flag.listen.value.port(), 2221);
        assert_eq!(
            without_flag.listen.source,
            Source::Env("SERIALTRACK_LISTEN")
        );
        let file_only = resolve(
            &ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            },
            &env_of(&[]),
        )
        .unwrap();
        assert_eq!(file_only.listen.value.port(), 1111);
        assert_eq!(file_only.listen.source, Source::File { line: 2 });
        assert!(!file_only.insecure_no_auth.value);
    }

    #[test]
    fn refusals_name_the_place_and_the_fix() {
        // (file text, variables, what the error must say)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: [Case; 9] = [
            (
                "listen = \"127.0.0.1:1\"\nlistn = \"x\"\n",
                &[],
                &["line 2", "unknown key `listn`", "expected one of"],
            ),
            ("listen = 127.0.0.1:1\n", &[], &["line 1", "config file"]),
            ("\n\nlisten = 50051\n", &[], &["line 3", "string"]),
            (
                "metrics_listen = \"localhost\"\n",
                &[],
                &["line 1: metrics_listen = \"localhost\" is not an address"],
            ),
            (
                "[serve]\nlisten = \"127.0.0.1:1\"\n",
                &[],
                &["unknown key `serve`"],
            ),
            (
                "tls_cert = \"c.pem\"\n",
                &[],
                &["tls_cert is set (file, line 1)", "tls_key is not"],
            ),
            (
                "",
                &[("SERIALTRACK_LISTEN", "nowhere")],
                &["SERIALTRACK_LISTEN=\"nowhere\" is not an address"],
            ),
            (
                "",
                &[("SERIALTRACK_INSECURE_NO_AUTH", "maybe")],
                &["SERIALTRACK_INSECURE_NO_AUTH=\"maybe\" is not true or false"],
            ),
            (
                "listen = \"127.0.0.1:5000\"\nmetrics_listen = \"127.0.0.1:5000\"\n",
                &[],
                &["the same address"],
            ),
        ];
        for (text, vars, expected) in cases {
            let (_dir, path) = file_with(text);
            let args = ServeArgs {
                config: Some(path),
                ..ServeArgs::default()
            };
            let error = format!("{:#}", resolve(&args, &env_of(vars)).unwrap_err());
            for part in expected {
                assert!(error.contains(part), "{text:?}: {error:?} lacks {part:?}");
            }
        }
    }

    #[test]
    fn store_from_each_place_checked_and_shown_without_its_password() {
        let settings = resolve(&ServeArgs::default(), &env_of(&[])).unwrap();
        assert_eq!(
            settings.store.value, None,
            "sled in the data dir by default"
        );
        let (_dir, path) =
            file_with("listen = \"127.0.0.1:1\"\nstore = \"postgres://st:pw@db:5432/st\"\n");
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        let settings = resolve(&args, &env_of(&[])).unwrap();
        assert_eq!(
            settings.store.value.as_deref(),
            Some("postgres://st:pw@db:5432/st")
        );
        assert_eq!(settings.store.source, Source::File { line: 2 });
        let row = settings
            .rows()
            .into_iter()
            .find(|(name, ..)| *name == "store")
            .unwrap();
        assert_eq!(row.1, serde_json::json!("postgres://st:***@db:5432/st"));
        let env = env_of(&[("SERIALTRACK_STORE", "postgresql://other@db/st")]);
        let settings = resolve(&args, &env).unwrap();
        assert_eq!(settings.store.source, Source::Env("SERIALTRACK_STORE"));
        let flagged = ServeArgs {
            store: Some("postgres://flag@db/st".to_owned()),
            ..args.clone()
        };
        let settings = resolve(&flagged, &env).unwrap();
        assert_eq!(
            settings.store.value.as_deref(),
            Some("postgres://flag@db/st")
        );
        assert_eq!(settings.store.source, Source::Flag("--store"));
        let bad = env_of(&[("SERIALTRACK_STORE", "mysql://db/st")]);
        let error = resolve(&ServeArgs::default(), &bad)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("SERIALTRACK_STORE") && error.contains("not a postgres:// URL"),
            "{error}"
        );
        let (_dir, path) = file_with("store = \"sled\"\n");
        let args = ServeArgs {
            config: Some(path),
            ..ServeArgs::default()
        };
        let error = resolve(&args, &env_of(&[])).unwrap_err().to_string();
        assert!(error.contains("line 1: store"), "{error}");
    }

    #[test]
    fn data_dir_probe() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(check_data_dir(dir.path()), Ok(()));
        assert_eq!(check_data_dir(&dir.path().join("a/b/c")), Ok(()));
        assert!(!dir.path().join("a").exists(), "the probe created a folder");
        assert_eq!(check_data_dir(&file), Err("is not a directory".to_owned()));
        let under = check_data_dir(&file.join("data")).unwrap_err();
        assert!(under.contains("cannot be created"), "{under}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "probe left"
        );
    }

    #[test]
    fn line_and_column_of_offsets() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 6), (2, 1));
        assert_eq!(line_column(text, 10), (2, 4));
    }
}
