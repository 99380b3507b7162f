//! `serialtrack bench decode`: how many scans `barcode::read` reads per second on one thread
//! (so per core), in scanner mode as the scan path calls it, over a fixed corpus of realistic
//! scans that is mostly GS1 DataMatrix. `read` does every check `barcode::interpret` does and
//! returns the same reading, borrowed from the scan; the figure for `interpret`, which also
//! copies every AI and value out into an owned `Interpretation` (what `decode` and the Decode
//! RPC print), is given for GS1 DataMatrix beside it. Every figure is quoted against a baseline
//! measured in the same run over the same corpus: checking that each scan is UTF-8 and finding
//! its GS separators, the least work any reader of these scans has to do. The machines are
//! shared and noisy, so the ratios carry over and the absolute figures do not.
//! No I/O and no threads here; the clock is read only to bound each phase.

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::barcode::{Date, Kind, Options, check, interpret, read};

/// The longest run accepted for `--seconds`; a longer one is refused before anything runs.
pub const DECODE_SECONDS_MAX: f64 = 3600.0;
/// The issue's target for typical GS1 DataMatrix payloads, decodes per second on one core.
pub const DATAMATRIX_DECODES_PER_S_TARGET: f64 = 2_000_000.0;
/// Scans in the corpus; every phase cycles over its part of it.
pub const CORPUS_LEN: usize = 1000;
/// The reference date for the GS1 century rule; fixed so that every run reads the same.
const BENCH_TODAY: Date = Date::new(2026, 3, 15);
/// The share of the run given to the baseline and to the mixed corpus; the rest is split
/// evenly between the classes and the owned-result DataMatrix figure.
const BASELINE_SHARE: f64 = 0.1;
const MIXED_SHARE: f64 = 0.4;

#[derive(clap::Args, Debug, Clone)]
pub struct DecodeOptions {
    /// Length of the whole run, seconds (fractions allowed).
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
}

/// What kind of scan a corpus entry is, and what reading it must give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CorpusClass {
    /// `]d2` GTIN, expiry, lot, GS, serial: the typical pharma and device label.
    Gs1DataMatrix,
    /// `]C1` GTIN, lot, GS, serial, with the scanner's trailing CR.
    Gs1_128,
    /// A GS1 Digital Link URI from a QR Code (`]Q1`, some `]Q3`).
    DigitalLink,
    /// `]E0` EAN-13.
    Ean13,
    /// A bare serial as a keyboard wedge sends it, some with a trailing CR.
    PlainSerial,
    /// Scans that must be refused: bad check digit, impossible date, unknown AI, control
    /// character, bytes that are not UTF-8.
    Invalid,
}

impl CorpusClass {
    pub const ALL: [CorpusClass; 6] = [
        CorpusClass::Gs1DataMatrix,
        CorpusClass::Gs1_128,
        CorpusClass::DigitalLink,
        CorpusClass::Ean13,
        CorpusClass::PlainSerial,
        CorpusClass::Invalid,
    ];

    /// The name in the report and the JSON.
    pub fn name(self) -> &'static str {
        match self {
            CorpusClass::Gs1DataMatrix => "gs1_datamatrix",
            CorpusClass::Gs1_128 => "gs1_128",
            CorpusClass::DigitalLink => "digital_link",
            CorpusClass::Ean13 => "ean_13",
            CorpusClass::PlainSerial => "plain_serial",
            CorpusClass::Invalid => "invalid",
        }
    }

    /// Scans of this class in every thousand of the corpus.
    const fn per_mille(self) -> usize {
        match self {
            CorpusClass::Gs1DataMatrix => 700,
            CorpusClass::Gs1_128 => 100,
            CorpusClass::DigitalLink => 80,
            CorpusClass::Ean13 => 50,
            CorpusClass::PlainSerial => 50,
            CorpusClass::Invalid => 20,
        }
    }

    /// The kind a scan of this class must be read as; `None` when it must be refused.
    fn expected_kind(self) -> Option<Kind> {
        match self {
            CorpusClass::Gs1DataMatrix | CorpusClass::Gs1_128 => Some(Kind::Gs1ElementString),
            CorpusClass::DigitalLink => Some(Kind::DigitalLink),
            CorpusClass::Ean13 => Some(Kind::Gtin),
            CorpusClass::PlainSerial => Some(Kind::Plain),
            CorpusClass::Invalid => None,
        }
    }
}

const _: () = assert!(
    CorpusClass::Gs1DataMatrix.per_mille()
        + CorpusClass::Gs1_128.per_mille()
        + CorpusClass::DigitalLink.per_mille()
        + CorpusClass::Ean13.per_mille()
        + CorpusClass::PlainSerial.per_mille()
        + CorpusClass::Invalid.per_mille()
        == 1000
);

/// `body` followed by its GS1 mod-10 check digit.
fn with_check_digit(body: &str) -> String {
    let digit = check::gs1_mod10_digit(body.as_bytes()).unwrap_or(b'0');
    format!("{body}{}", char::from(digit))
}

/// A GTIN-14 of one of a few hundred items under one company prefix.
fn gtin14(n: usize) -> String {
    with_check_digit(&format!("0950600{:06}", n % 300))
}

/// A YYMMDD expiry that exists, some with DD=00 (end of month).
fn expiry(n: usize) -> String {
    let day = if n.is_multiple_of(10) { 0 } else { 1 + n % 28 };
    format!("{:02}{:02}{:02}", 26 + n % 4, 1 + n % 12, day)
}

/// The `n`th scan of `class`.
fn scan(class: CorpusClass, n: usize) -> Vec<u8> {
    let gtin = gtin14(n);
    let lot = format!("LOT{}", n % 97);
    let serial = format!("SERIAL{:06}", 100_000 + n * 7);
    match class {
        CorpusClass::Gs1DataMatrix => {
            format!("]d201{gtin}17{}10{lot}\x1d21{serial}", expiry(n)).into_bytes()
        }
        CorpusClass::Gs1_128 => format!("]C101{gtin}10{lot}\x1d21{serial}\r").into_bytes(),
        CorpusClass::DigitalLink => {
            let aim = if n.is_multiple_of(4) { "]Q3" } else { "]Q1" };
            format!(
                "{aim}https://id.gs1.org/01/{gtin}/10/{lot}/21/{serial}?17={}",
                expiry(n)
            )
            .into_bytes()
        }
        CorpusClass::Ean13 => {
            format!("]E0{}", with_check_digit(&format!("400638{:06}", n))).into_bytes()
        }
        CorpusClass::PlainSerial => {
            let cr = if n.is_multiple_of(2) { "\r" } else { "" };
            format!("SN-{:07}{cr}", n * 13).into_bytes()
        }
        CorpusClass::Invalid => {
            let mut bad_check = gtin.clone().into_bytes();
            if let Some(last) = bad_check.last_mut() {
                *last = if *last == b'9' { b'0' } else { *last + 1 };
            }
            let bad_check = String::from_utf8(bad_check).unwrap_or_default();
            match n % 5 {
                0 => format!("]d201{bad_check}10{lot}\x1d21{serial}").into_bytes(),
                1 => format!("]d201{gtin}17261332\x1d21{serial}").into_bytes(),
                2 => format!("]C101{gtin}2399{serial}").into_bytes(),
                3 => format!("SN\x07{n}").into_bytes(),
                _ => {
                    let mut bytes = format!("SN-{n}").into_bytes();
                    bytes.push(0xFF);
                    bytes
                }
            }
        }
    }
}

/// The corpus: [`CORPUS_LEN`] scans in the classes' shares, interleaved in a fixed
/// pseudo-random order so that no class runs in a block.
pub fn corpus() -> Vec<(CorpusClass, Vec<u8>)> {
    let mut out: Vec<(CorpusClass, Vec<u8>)> = CorpusClass::ALL
        .iter()
        .flat_map(|&class| {
            (0..class.per_mille() * CORPUS_LEN / 1000).map(move |n| (class, scan(class, n)))
        })
        .collect();
    // Fisher-Yates with a fixed splitmix64 stream.
    let mut state: u64 = 0x5EED;
    for i in (1..out.len()).rev() {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let bound = u64::try_from(i + 1).unwrap_or(u64::MAX);
        let j = usize::try_from(z % bound).unwrap_or(0);
        out.swap(i, j);
    }
    out
}

/// Reads every corpus scan once and checks it reads as its class says; a mismatch means the
/// corpus or the decoder is wrong, and the figures would mean nothing.
pub fn check_corpus(corpus: &[(CorpusClass, Vec<u8>)]) -> anyhow::Result<()> {
    let options = Options::scanner(BENCH_TODAY);
    for (class, raw) in corpus {
        let got = interpret(raw, &options).map(|read| read.kind);
        let want = class.expected_kind();
        anyhow::ensure!(
            got.as_ref().ok() == want.as_ref(),
            "bench corpus scan {:?} ({}) read as {got:?}, expected {want:?}",
            String::from_utf8_lossy(raw),
            class.name(),
        );
    }
    Ok(())
}

/// One class's figure.
#[derive(Debug, Clone)]
pub struct ClassFigure {
    pub class: CorpusClass,
    pub scans: usize,
    pub decodes_per_s: f64,
}

#[derive(Debug, Clone)]
pub struct DecodeReport {
    pub seconds: f64,
    pub corpus_scans: usize,
    /// Scans per second checked as UTF-8 and searched for GS, over the whole corpus.
    pub baseline_scans_per_s: f64,
    /// Decodes per second over the whole corpus, in its mixed order.
    pub decodes_per_s: f64,
    pub classes: Vec<ClassFigure>,
    /// GS1 DataMatrix decodes per second through `interpret`, which copies the result out.
    pub datamatrix_owned_decodes_per_s: f64,
}

/// How the baseline is described in the report.
const BASELINE_NAME: &str = "UTF-8 check + GS search";

impl DecodeReport {
    fn class_decodes_per_s(&self, class: CorpusClass) -> f64 {
        self.classes
            .iter()
            .find(|c| c.class == class)
            .map_or(0.0, |c| c.decodes_per_s)
    }

    /// True when typical GS1 DataMatrix payloads reach the issue's target.
    pub fn meets_target(&self) -> bool {
        self.class_decodes_per_s(CorpusClass::Gs1DataMatrix) >= DATAMATRIX_DECODES_PER_S_TARGET
    }

    pub fn to_text(&self) -> String {
        let ratio = |v: f64| v / self.baseline_scans_per_s;
        let mut out = format!(
            "decode bench, one thread, scanner mode, {n} scans, {s:.1} s\n\
             baseline ({BASELINE_NAME})  {b:>12.0} scans/s     1.0000x\n\
             mixed corpus                       {d:>12.0} decodes/s   {rd:.4}x\n",
            n = self.corpus_scans,
            s = self.seconds,
            b = self.baseline_scans_per_s,
            d = self.decodes_per_s,
            rd = ratio(self.decodes_per_s),
        );
        for c in &self.classes {
            let _ = writeln!(
                out,
                "  {name:<16} {scans:>4} scans     {d:>12.0} decodes/s   {r:.4}x",
                name = c.class.name(),
                scans = c.scans,
                d = c.decodes_per_s,
                r = ratio(c.decodes_per_s),
            );
        }
        let _ = writeln!(
            out,
            "gs1_datamatrix, owned result (interpret) {d:>12.0} decodes/s   {r:.4}x",
            d = self.datamatrix_owned_decodes_per_s,
            r = ratio(self.datamatrix_owned_decodes_per_s),
        );
        let _ = writeln!(
            out,
            "target {DATAMATRIX_DECODES_PER_S_TARGET:.0} GS1 DataMatrix decodes/s/core: {}",
            if self.meets_target() {
                "met"
            } else {
                "not met"
            }
        );
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        let classes: serde_json::Map<String, serde_json::Value> = self
            .classes
            .iter()
            .map(|c| {
                (
                    c.class.name().to_owned(),
                    json!({
                        "scans": c.scans,
                        "decodes_per_s": c.decodes_per_s,
                        "ratio": c.decodes_per_s / self.baseline_scans_per_s,
                    }),
                )
            })
            .collect();
        json!({
            "threads": 1,
            "seconds": self.seconds,
            "corpus_scans": self.corpus_scans,
            "baseline": BASELINE_NAME,
            "baseline_scans_per_s": self.baseline_scans_per_s,
            "decodes_per_s": self.decodes_per_s,
            "ratio": self.decodes_per_s / self.baseline_scans_per_s,
            "classes": classes,
            "gs1_datamatrix_owned_decodes_per_s": self.datamatrix_owned_decodes_per_s,
            "target_decodes_per_s": DATAMATRIX_DECODES_PER_S_TARGET,
            "target_met": self.meets_target(),
        })
    }
}

/// Calls `work` on every scan, pass after pass, until `budget` is spent (at least one pass);
/// returns scans per second. The clock is read once per pass.
fn rate(scans: &[&[u8]], budget: Duration, mut work: impl FnMut(&[u8])) -> f64 {
    let start = Instant::now();
    let mut done = 0usize;
    loop {
        for raw in scans {
            work(black_box(raw));
        }
        done += scans.len();
        if start.elapsed() >= budget {
            return super::per_second(done, start.elapsed());
        }
    }
}

/// The baseline's work on one scan: UTF-8 validation and the position of every GS.
fn baseline(raw: &[u8]) {
    if let Ok(text) = std::str::from_utf8(raw) {
        let separators = text.bytes().filter(|&b| b == 0x1D).count();
        black_box(separators);
    }
}

/// Runs the baseline, the mixed corpus and each class for their shares of `--seconds`.
pub fn decode(options: &DecodeOptions) -> anyhow::Result<DecodeReport> {
    anyhow::ensure!(
        options.seconds > 0.0 && options.seconds <= DECODE_SECONDS_MAX,
        "--seconds must be more than 0 and at most {DECODE_SECONDS_MAX}"
    );
    let corpus = corpus();
    check_corpus(&corpus)?;
    let all: Vec<&[u8]> = corpus.iter().map(|(_, raw)| raw.as_slice()).collect();
    let reader = Options::scanner(BENCH_TODAY);
    let decode_one = |raw: &[u8]| {
        let _ = black_box(read(raw, &reader));
    };
    let share = |s: f64| Duration::from_secs_f64(options.seconds * s);
    // One more share than there are classes: the owned-result DataMatrix figure.
    let phase_count = f64::from(u8::try_from(CorpusClass::ALL.len() + 1).unwrap_or(u8::MAX));
    let class_share = (1.0 - BASELINE_SHARE - MIXED_SHARE) / phase_count;

    let baseline_scans_per_s = rate(&all, share(BASELINE_SHARE), baseline);
    let decodes_per_s = rate(&all, share(MIXED_SHARE), decode_one);
    let of_class = |class: CorpusClass| -> Vec<&[u8]> {
        corpus
            .iter()
            .filter(|(c, _)| *c == class)
            .map(|(_, raw)| raw.as_slice())
            .collect()
    };
    let classes = CorpusClass::ALL
        .iter()
        .map(|&class| {
            let scans = of_class(class);
            ClassFigure {
                class,
                scans: scans.len(),
                decodes_per_s: rate(&scans, share(class_share), decode_one),
            }
        })
        .collect();
    let datamatrix_owned_decodes_per_s = rate(
        &of_class(CorpusClass::Gs1DataMatrix),
        share(class_share),
        |raw| {
            let _ = black_box(interpret(raw, &reader));
        },
    );
    Ok(DecodeReport {
        seconds: options.seconds,
        corpus_scans: corpus.len(),
        baseline_scans_per_s,
        decodes_per_s,
        classes,
        datamatrix_owned_decodes_per_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_reads_as_labelled() {
        let corpus = corpus();
        assert_eq!(corpus.len(), CORPUS_LEN);
        check_corpus(&corpus).unwrap();
        // Interleaved: the first tenth already holds more than one class.
        let head = corpus.get(..CORPUS_LEN / 10).unwrap();
        assert!(head.iter().any(|(c, _)| *c != CorpusClass::Gs1DataMatrix));
        assert_eq!(
            corpus.first().map(|(_, raw)| raw.clone()),
            self::corpus().first().map(|(_, raw)| raw.clone()),
            "the order is fixed"
        );
    }

    #[test]
    fn a_mislabelled_scan_is_refused() {
        let corpus = vec![(CorpusClass::Invalid, b"]E04006381333931".to_vec())];
        let e = check_corpus(&corpus).unwrap_err().to_string();
        assert!(e.contains("expected None"), "{e}");
    }

    #[test]
    fn seconds_out_of_range_are_refused() {
        for seconds in [0.0, -1.0, DECODE_SECONDS_MAX + 1.0, f64::NAN] {
            let e = decode(&DecodeOptions { seconds }).unwrap_err().to_string();
            assert!(e.starts_with("--seconds must be"), "{seconds}: {e}");
        }
    }
}
