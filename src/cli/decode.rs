//! `serialtrack decode`: reads a barcode offline, exactly as the Decode RPC would, and prints
//! it. Raw input is typed on a command line, so separators and control characters are written
//! as escapes.

use std::io::Read;

use anyhow::{Context, bail};

use crate::barcode::RAW_SCAN_LEN_MAX;
use crate::domain::time;
use crate::server::{DEFAULT_RESOLVER, check_resolver, decode_to_pb};

use super::{EXIT_OK, EXIT_REJECTED, output};

#[derive(clap::Args, Debug)]
pub struct DecodeArgs {
    /// The scan as the scanner sent it, or `-` to read raw bytes from standard input. Escapes:
    /// `<GS>` or `\x1d` for the GS1 separator, `\xHH` for any byte, `<CR>` `<LF>` `\r` `\n`
    /// `\t`, and `\\` for a backslash.
    raw: String,
    /// Follow the GS1 syntax rules exactly instead of cleaning up scanner noise first.
    #[arg(long)]
    strict: bool,
    /// Base URL of the Digital Link form.
    #[arg(long, default_value = DEFAULT_RESOLVER)]
    resolver: String,
}

/// Turns the typed form of a scan into its bytes.
pub fn unescape(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let named = [("<GS>", 0x1d), ("<CR>", b'\r'), ("<LF>", b'\n')]
            .into_iter()
            .find(|(name, _)| rest.starts_with(name.as_bytes()));
        if let Some((name, byte)) = named {
            out.push(byte);
            i += name.len();
            continue;
        }
        if rest[0] != b'\\' {
            out.push(rest[0]);
            i += 1;
            continue;
        }
        let position = i + 1;
        match rest.get(1) {
            Some(b'\\') => out.push(b'\\'),
            Some(b'r') => out.push(b'\r'),
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(b'x') => {
                let hex = rest
                    .get(2..4)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        format!("escape at position {position}: \\x needs two hex digits")
                    })?;
                out.push(hex);
                i += 4;
                continue;
            }
            _ => {
                return Err(format!(
                    "escape at position {position}: use \\xHH, \\r, \\n, \\t or \\\\"
                ));
            }
        }
        i += 2;
    }
    Ok(out)
}

pub fn run(args: DecodeArgs, json: bool) -> anyhow::Result<u8> {
    let raw = if args.raw == "-" {
        let mut raw = Vec::new();
        std::io::stdin()
            .take(u64::try_from(RAW_SCAN_LEN_MAX + 1).unwrap_or(u64::MAX))
            .read_to_end(&mut raw)
            .context("cannot read the scan from standard input")?;
        raw
    } else {
        unescape(&args.raw).map_err(anyhow::Error::msg)?
    };
    if let Err(e) = check_resolver(&args.resolver) {
        bail!("--resolver: {e}");
    }
    let today = time::date_utc(time::now_ms());
    let decoded = decode_to_pb(&raw, args.strict, &args.resolver, today);
    output::print_decoded(&decoded, json);
    Ok(if decoded.valid {
        EXIT_OK
    } else {
        EXIT_REJECTED
    })
}

#[cfg(test)]
mod tests {
    use super::unescape;

    #[test]
    fn escapes() {
        assert_eq!(
            unescape(r"]d2010950600013435210AB<GS>21X\x1dY\r\n\t\\<CR><LF>").unwrap(),
            b"]d2010950600013435210AB\x1d21X\x1dY\r\n\t\\\r\n".to_vec()
        );
        assert_eq!(unescape("plain").unwrap(), b"plain".to_vec());
        assert_eq!(unescape("<G>S").unwrap(), b"<G>S".to_vec());
        assert!(unescape(r"ab\x1").unwrap_err().contains("position 3"));
        assert!(unescape(r"ab\xZZ").is_err());
        assert!(unescape(r"ab\q").unwrap_err().contains("position 3"));
        assert!(unescape("ab\\").is_err());
    }
}
