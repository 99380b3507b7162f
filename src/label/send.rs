//! Sending a ZPL job to a network printer: raw TCP (port 9100 unless the address names one),
//! bounded by a connect timeout and a write timeout. The only I/O of the label module. It is
//! blocking (std sockets): call it from a blocking thread (`spawn_blocking`), never on the
//! async runtime.

use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// The raw print port of Zebra and most label printers.
pub const PRINTER_PORT_DEFAULT: u16 = 9100;
/// How long a connection may take before the send fails.
pub const CONNECT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(5);
/// How long one write may block (a printer out of paper stops reading) before the send fails.
pub const WRITE_TIMEOUT_DEFAULT: Duration = Duration::from_secs(30);
/// The longest printer address, in bytes. A longer one is refused.
pub const PRINTER_ADDRESS_LEN_MAX: usize = 255;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("printer address {0:?} is not HOST or HOST:PORT")]
    Address(String),
    #[error("printer address {address:?} does not resolve: {source}")]
    Resolve {
        address: String,
        source: std::io::Error,
    },
    #[error("cannot connect to printer {address}: {source}; check that it is on and reachable")]
    Connect {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error(
        "sending to printer {address} failed after {sent} of {len} bytes: {source}; labels up to that point may have printed"
    )]
    Write {
        address: SocketAddr,
        sent: usize,
        len: usize,
        source: std::io::Error,
    },
}

/// `HOST`, `HOST:PORT`, `[V6]` or `[V6]:PORT` as `HOST:PORT` with the default port filled in.
pub fn printer_address(text: &str) -> Result<String, SendError> {
    let bad = || SendError::Address(text.to_owned());
    if text.is_empty()
        || text.len() > PRINTER_ADDRESS_LEN_MAX
        || !text.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(bad());
    }
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(bad)?),
        };
        (format!("[{v6}]"), port)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (text.to_owned(), None),
        }
    };
    if host.is_empty() || host == "[]" {
        return Err(bad());
    }
    let port = match port {
        None => PRINTER_PORT_DEFAULT,
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?,
    };
    Ok(format!("{host}:{port}"))
}

/// Sends `job` to the printer at `address` (see [`printer_address`]) and closes the
/// connection. Tries each resolved address in turn until one connects.
pub fn send_job(
    address: &str,
    job: &[u8],
    connect_timeout: Duration,
    write_timeout: Duration,
) -> Result<(), SendError> {
    let address = printer_address(address)?;
    let candidates: Vec<SocketAddr> = address
        .to_socket_addrs()
        .map_err(|source| SendError::Resolve {
            address: address.clone(),
            source,
        })?
        .collect();
    let mut last = None;
    let mut connected = None;
    for candidate in candidates {
        match TcpStream::connect_timeout(&candidate, connect_timeout) {
            Ok(stream) => {
                connected = Some((candidate, stream));
                break;
            }
            Err(source) => {
                last = Some(SendError::Connect {
                    address: candidate,
                    source,
                })
            }
        }
    }
    let Some((peer, mut stream)) = connected else {
        return Err(last.unwrap_or_else(|| SendError::Resolve {
            address: address.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
        }));
    };
    let write_error = |sent: usize, source| SendError::Write {
        address: peer,
        sent,
        len: job.len(),
        source,
    };
    stream
        .set_write_timeout(Some(write_timeout))
        .map_err(|e| write_error(0, e))?;
    let mut sent = 0;
    while let Some(rest) = job.get(sent..).filter(|r| !r.is_empty()) {
        match stream.write(rest) {
            Ok(0) => {
                return Err(write_error(
                    sent,
                    std::io::Error::new(std::io::ErrorKind::WriteZero, "the printer closed"),
                ));
            }
            Ok(n) => sent += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(write_error(sent, e)),
        }
    }
    stream.flush().map_err(|e| write_error(sent, e))?;
    stream
        .shutdown(std::net::Shutdown::Write)
        .map_err(|e| write_error(sent, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;

    use super::*;

    #[test]
    fn addresses_get_the_default_port() {
        let cases: &[(&str, Option<&str>)] = &[
            ("zebra-1", Some("zebra-1:9100")),
            ("10.0.0.7:6101", Some("10.0.0.7:6101")),
            ("[::1]", Some("[::1]:9100")),
            ("[::1]:9101", Some("[::1]:9101")),
            ("", None),
            ("host:", None),
            ("host:0", None),
            ("host:70000", None),
            ("[::1", None),
            ("[::1]9100", None),
            (":9100", None),
            ("a b", None),
        ];
        for (text, expected) in cases {
            assert_eq!(printer_address(text).ok().as_deref(), *expected, "{text}");
        }
    }

    #[test]
    fn a_job_arrives_byte_for_byte() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let receiver = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            stream.read_to_end(&mut got).unwrap();
            got
        });
        // Larger than a socket buffer, so the write loop runs more than once.
        let job: Vec<u8> = "^XA^FDQA,x_5E^FS^XZ\n"
            .bytes()
            .cycle()
            .take(1 << 20)
            .collect();
        send_job(
            &address,
            &job,
            CONNECT_TIMEOUT_DEFAULT,
            WRITE_TIMEOUT_DEFAULT,
        )
        .unwrap();
        assert_eq!(receiver.join().unwrap(), job);
    }

    #[test]
    fn a_closed_port_is_a_connect_error() {
        // Bind and drop: the port is free and nothing listens on it.
        let address = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = send_job(
            &address.to_string(),
            b"^XA^XZ",
            Duration::from_secs(2),
            Duration::from_secs(2),
        )
        .unwrap_err();
        assert!(matches!(err, SendError::Connect { .. }), "{err}");
        assert!(
            err.to_string()
                .starts_with("cannot connect to printer 127.0.0.1:")
        );
    }
}
