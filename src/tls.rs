//! TLS with rustls: `serve --tls-cert --tls-key`, and clients (CLI, gateway) that trust a CA
//! file or, without one, the public web roots.

use std::path::Path;

use anyhow::Context;
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

/// The server's TLS settings from a PEM certificate chain and its PEM private key.
pub fn server_config(cert: &Path, key: &Path) -> anyhow::Result<ServerTlsConfig> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path)
            .with_context(|| format!("cannot read the TLS {what} {}", path.display()))
    };
    let (cert_pem, key_pem) = (read(cert, "certificate")?, read(key, "key")?);
    anyhow::ensure!(
        String::from_utf8_lossy(&cert_pem).contains("-----BEGIN CERTIFICATE-----"),
        "{} holds no PEM certificate",
        cert.display()
    );
    anyhow::ensure!(
        String::from_utf8_lossy(&key_pem).contains("PRIVATE KEY-----"),
        "{} holds no PEM private key",
        key.display()
    );
    Ok(ServerTlsConfig::new().identity(Identity::from_pem(cert_pem, key_pem)))
}

/// `endpoint` with TLS when `url` is `https://`: the server's certificate must chain to the
/// CA in `ca_file`, or to a public root when there is none. A CA file with an `http://` URL
/// is a mistake, said so.
pub fn client_endpoint(
    endpoint: Endpoint,
    url: &str,
    ca_file: Option<&Path>,
) -> anyhow::Result<Endpoint> {
    let https = url
        .get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"));
    if !https {
        anyhow::ensure!(
            ca_file.is_none(),
            "a CA file was given for {url}, which is not https://: use https:// to talk TLS"
        );
        return Ok(endpoint);
    }
    let config = match ca_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .with_context(|| format!("cannot read the CA file {}", path.display()))?;
            anyhow::ensure!(
                String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----"),
                "the CA file {} holds no PEM certificate",
                path.display()
            );
            ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem))
        }
        None => ClientTlsConfig::new().with_webpki_roots(),
    };
    endpoint
        .tls_config(config)
        .with_context(|| format!("cannot set up TLS for {url}"))
}
