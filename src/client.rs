//! How the CLI and the gateway reach a server: its URL, the API token every call carries, and
//! (for `https://` URLs) the CA that signed the server's certificate.

use std::path::{Path, PathBuf};

use anyhow::Context;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// A connection whose every call carries the token (when there is one).
pub type Conn = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to each call.
#[derive(Clone, Debug, Default)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Bearer {
    pub fn new(token: Option<&str>) -> anyhow::Result<Bearer> {
        token
            .map(|t| {
                MetadataValue::try_from(format!("Bearer {}", t.trim()))
                    .context("the API token has characters a gRPC header cannot carry")
            })
            .transpose()
            .map(Bearer)
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// A server to talk to and how.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub url: String,
    pub token: Option<String>,
    /// PEM file of the CA that signed the server's certificate, for `https://` URLs.
    pub ca_file: Option<PathBuf>,
}

impl Target {
    /// The token from `--token`, else the first line of `--token-file`, else the first
    /// line of `default_file` when it exists (the ADMIN token `serve` wrote on first start
    /// in the default data dir, so that a trial on one machine needs no flags).
    pub fn new(
        url: &str,
        token: Option<String>,
        token_file: Option<&Path>,
        default_file: &Path,
        ca_file: Option<PathBuf>,
    ) -> anyhow::Result<Target> {
        let token = match (token, token_file) {
            (Some(token), _) => Some(token),
            (None, Some(file)) => Some(read_token_file(file)?),
            (None, None) if default_file.exists() => Some(read_token_file(default_file)?),
            (None, None) => None,
        };
        Ok(Target {
            url: url.to_owned(),
            token,
            ca_file,
        })
    }

    /// The endpoint to this server, with TLS when the URL is `https://`.
    pub fn endpoint(&self) -> anyhow::Result<Endpoint> {
        let endpoint = Endpoint::from_shared(self.url.clone()).with_context(|| {
            format!(
                "--server {:?} is not a URL like http://127.0.0.1:50051",
                self.url
            )
        })?;
        crate::tls::client_endpoint(endpoint, &self.url, self.ca_file.as_deref())
    }

    pub fn bearer(&self) -> anyhow::Result<Bearer> {
        Bearer::new(self.token.as_deref())
    }

    pub async fn connect(&self) -> anyhow::Result<Conn> {
        let channel = self.endpoint()?.connect().await.with_context(|| {
            format!(
                "cannot reach serialtrack at {}; start it with `serialtrack serve` or pass --server",
                self.url
            )
        })?;
        Ok(InterceptedService::new(channel, self.bearer()?))
    }
}

fn read_token_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim();
    anyhow::ensure!(
        !token.is_empty(),
        "the token file {} is empty",
        path.display()
    );
    Ok(token.to_owned())
}
