//! GS1 Digital Link URIs: reading the primary key, key qualifiers and query attributes out of
//! an `http(s)` URI on any domain and path prefix, and writing elements back out as a URI.
//! Values are percent-decoded (`%2F` is `/`; `+` stays a literal `+`) and checked with the
//! same rules as element strings.

use super::BarcodeError;
use super::ai_table::{self, AiEntry};
use super::element::{Element, Located, validate_value};
use super::interpret::Mode;
use super::normalize::Normalization;

/// The length of a GTIN in a Digital Link path.
pub const GTIN_LEN: usize = 14;

/// The shorter GTIN lengths that scanner mode zero-pads to [`GTIN_LEN`].
const GTIN_SHORT_LENS: [usize; 3] = [8, 12, 13];

/// The schemes a Digital Link URI may start with, in lower case.
const SCHEMES: [&str; 2] = ["https://", "http://"];

fn scheme_len(chars: &[char]) -> Option<usize> {
    SCHEMES.iter().find_map(|scheme| {
        let head = chars.get(..scheme.len())?;
        head.iter()
            .zip(scheme.chars())
            .all(|(a, b)| a.to_ascii_lowercase() == b)
            .then_some(scheme.len())
    })
}

/// True when `text` starts with `http://` or `https://` (any case).
pub fn is_uri(text: &str) -> bool {
    // The schemes are ASCII, so a byte comparison says what a character comparison would.
    SCHEMES.iter().any(|scheme| {
        text.as_bytes()
            .get(..scheme.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(scheme.as_bytes()))
    })
}

fn hex_value(c: char) -> Option<u8> {
    c.to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// A percent-decoded value with the 1-based position of each character in the URI.
struct Decoded {
    chars: Vec<char>,
    positions: Vec<usize>,
    start: usize,
}

impl Decoded {
    fn text(&self) -> String {
        self.chars.iter().collect()
    }

    fn located(&self) -> Located<'_> {
        Located {
            chars: &self.chars,
            positions: &self.positions,
            start: self.start,
        }
    }
}

fn decode(
    chars: &[char],
    range: (usize, usize),
    pos: &dyn Fn(usize) -> usize,
) -> Result<Decoded, BarcodeError> {
    let (start, end) = range;
    let mut bytes = Vec::new();
    let mut byte_positions = Vec::new();
    let mut i = start;
    while i < end {
        let c = chars.get(i).copied().unwrap_or('%');
        if c == '%' {
            let hi = chars.get(i + 1).copied().and_then(hex_value);
            let lo = chars.get(i + 2).copied().and_then(hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) if i + 2 < end => {
                    bytes.push(hi * 16 + lo);
                    byte_positions.push(pos(i));
                    i += 3;
                }
                _ => return Err(BarcodeError::PercentEncoding { position: pos(i) }),
            }
        } else {
            let mut buf = [0u8; 4];
            for &b in c.encode_utf8(&mut buf).as_bytes() {
                bytes.push(b);
                byte_positions.push(pos(i));
            }
            i += 1;
        }
    }
    let text = String::from_utf8(bytes).map_err(|e| BarcodeError::PercentEncoding {
        position: byte_positions
            .get(e.utf8_error().valid_up_to())
            .copied()
            .unwrap_or(pos(start)),
    })?;
    let positions = text
        .char_indices()
        .map(|(b, _)| byte_positions.get(b).copied().unwrap_or(pos(start)))
        .collect();
    Ok(Decoded {
        chars: text.chars().collect(),
        positions,
        start: pos(start),
    })
}

fn is_path_ai(ai: &str) -> bool {
    ai_table::lookup(ai).is_some_and(|e| e.dl_primary_key.is_some())
        || ai_table::is_dl_qualifier(ai)
}

/// How many of `qualifiers` (in order) fit `seq` as an ordered subsequence.
fn ordered_prefix(seq: &[&str], qualifiers: &[String]) -> usize {
    let mut next = 0;
    for (n, q) in qualifiers.iter().enumerate() {
        match seq
            .get(next..)
            .and_then(|rest| rest.iter().position(|s| s == q))
        {
            Some(p) => next += p + 1,
            None => return n,
        }
    }
    qualifiers.len()
}

/// True when `ai` could stand in the path next to `path_qualifiers` for key `entry`.
fn fits_path(entry: &AiEntry, path_qualifiers: &[String], ai: &str) -> bool {
    entry
        .qualifier_sequences()
        .iter()
        .any(|seq| seq.contains(&ai) && path_qualifiers.iter().all(|q| seq.contains(&q.as_str())))
}

/// Sorts qualifiers into the order of the key's first sequence that holds them all.
fn path_order(entry: &AiEntry, qualifiers: &mut [(String, Decoded)]) {
    if let Some(seq) = entry
        .qualifier_sequences()
        .iter()
        .find(|seq| qualifiers.iter().all(|(ai, _)| seq.contains(&ai.as_str())))
    {
        qualifiers.sort_by_key(|(ai, _)| seq.iter().position(|s| s == ai));
    }
}

/// Reads a GS1 Digital Link URI. `offset` is the number of characters before `uri` in the
/// cleaned scan. Associations between AIs are not checked here.
pub fn parse_digital_link(
    uri: &str,
    offset: usize,
    mode: Mode,
    reference_year: i32,
) -> Result<(Vec<Element>, Vec<Normalization>), BarcodeError> {
    // Sized up front: collecting chars would grow the Vec from a quarter of the byte length.
    let mut chars: Vec<char> = Vec::with_capacity(uri.len());
    chars.extend(uri.chars());
    let n = chars.len();
    let pos = move |i: usize| offset + i + 1;
    let mut warnings = Vec::new();
    let authority = scheme_len(&chars).ok_or(BarcodeError::NotDigitalLink {
        reason: "it does not start with http:// or https://",
    })?;
    let find_from = |from: usize, stop: &[char]| {
        chars
            .get(from..)
            .unwrap_or_default()
            .iter()
            .position(|c| stop.contains(c))
            .map_or(n, |p| from + p)
    };
    let path_start = find_from(authority, &['/', '?', '#']);
    if path_start == authority {
        return Err(BarcodeError::DigitalLinkSyntax {
            position: pos(authority),
            reason: "the domain is missing",
        });
    }
    let path_end = find_from(path_start, &['?', '#']);
    let query = if chars.get(path_end) == Some(&'?') {
        (path_end + 1, find_from(path_end + 1, &['#']))
    } else {
        (path_end, path_end)
    };

    // Path segments as character ranges, without the leading '/'.
    let mut segments: Vec<(usize, usize)> = Vec::new();
    let mut s = path_start + 1;
    while s <= path_end && path_start < path_end {
        let e = find_from(s, &['/', '?', '#']).min(path_end);
        segments.push((s, e));
        s = e + 1;
    }
    if segments.len() > 1 && segments.last().is_some_and(|&(s, e)| s == e) {
        let slash = path_end.saturating_sub(1);
        if mode == Mode::Strict {
            return Err(BarcodeError::DigitalLinkSyntax {
                position: pos(slash),
                reason: "the path ends with '/'",
            });
        }
        segments.pop();
        warnings.push(Normalization::TrailingSlash);
    }
    let text_of =
        |(s, e): (usize, usize)| -> String { chars.get(s..e).unwrap_or_default().iter().collect() };

    // Walk (AI, value) pairs back from the end of the path; the prefix stops the walk.
    let mut pairs: Vec<usize> = Vec::new();
    let mut i = segments.len();
    while i >= 2 {
        let ai_segment = segments.get(i - 2).copied().unwrap_or_default();
        if !is_path_ai(&text_of(ai_segment)) {
            break;
        }
        pairs.push(i - 2);
        i -= 2;
    }
    pairs.reverse();
    let ai_at = |k: usize| text_of(segments.get(k).copied().unwrap_or_default());
    let key_index = pairs
        .iter()
        .position(|&k| ai_table::lookup(&ai_at(k)).is_some_and(|e| e.dl_primary_key.is_some()))
        .ok_or(BarcodeError::NotDigitalLink {
            reason: "the path has no GS1 primary key such as /01/",
        })?;
    let (key_segment, qualifier_segments) = pairs
        .get(key_index..)
        .unwrap_or_default()
        .split_first()
        .ok_or(BarcodeError::NotDigitalLink {
            reason: "the path has no GS1 primary key such as /01/",
        })?;
    let key_ai = ai_at(*key_segment);
    let key_entry = ai_table::lookup(&key_ai).ok_or(BarcodeError::NotDigitalLink {
        reason: "the path has no GS1 primary key such as /01/",
    })?;
    let value_of = |k: usize| {
        decode(
            &chars,
            segments.get(k + 1).copied().unwrap_or_default(),
            &pos,
        )
    };

    let mut key_value = value_of(*key_segment)?;
    let key_len = key_value.chars.len();
    if key_ai == "01"
        && mode == Mode::Scanner
        && GTIN_SHORT_LENS.contains(&key_len)
        && key_value.chars.iter().all(char::is_ascii_digit)
    {
        let pad = GTIN_LEN - key_len;
        key_value.chars.splice(0..0, std::iter::repeat_n('0', pad));
        let first = key_value.start;
        key_value
            .positions
            .splice(0..0, std::iter::repeat_n(first, pad));
        warnings.push(Normalization::GtinZeroPadded { len: key_len });
    }

    let mut qualifiers: Vec<(String, Decoded)> = Vec::new();
    for &k in qualifier_segments {
        let ai = ai_at(k);
        if !key_entry.has_qualifier(&ai) {
            return Err(BarcodeError::NotAQualifier { ai, key: key_ai });
        }
        qualifiers.push((ai, value_of(k)?));
    }
    let path_ais: Vec<String> = qualifiers.iter().map(|(ai, _)| ai.clone()).collect();
    let best = key_entry
        .qualifier_sequences()
        .iter()
        .map(|seq| ordered_prefix(seq, &path_ais))
        .max()
        .unwrap_or(0);
    if let Some(ai) = path_ais.get(best) {
        return Err(BarcodeError::QualifierOrder {
            ai: ai.clone(),
            key: key_ai,
        });
    }

    let mut attributes: Vec<(String, Decoded)> = Vec::new();
    let mut p = query.0;
    while p < query.1 {
        let end = find_from(p, &['&']).min(query.1);
        let eq = find_from(p, &['=']).min(end);
        let ai = text_of((p, eq));
        let value_range = ((eq + 1).min(end), end);
        let numeric = !ai.is_empty() && ai.bytes().all(|b| b.is_ascii_digit());
        if numeric {
            let entry = ai_table::lookup(&ai).ok_or(BarcodeError::UnknownAi {
                digits: ai.clone(),
                position: pos(p),
            })?;
            let value = decode(&chars, value_range, &pos)?;
            if key_entry.has_qualifier(&ai) && fits_path(key_entry, &path_ais, &ai) {
                if mode == Mode::Strict {
                    return Err(BarcodeError::KeyQualifierInQuery { ai });
                }
                warnings.push(Normalization::KeyQualifierInQuery { ai: ai.clone() });
                qualifiers.push((ai, value));
            } else if entry.dl_query {
                attributes.push((ai, value));
            } else {
                return Err(BarcodeError::NotAllowedInQuery { ai });
            }
        }
        p = end + 1;
    }
    path_order(key_entry, &mut qualifiers);

    let mut elements = Vec::with_capacity(1 + qualifiers.len() + attributes.len());
    for (ai, value) in std::iter::once((key_ai, key_value))
        .chain(qualifiers)
        .chain(attributes)
    {
        let entry = ai_table::lookup(&ai).ok_or(BarcodeError::UnknownAi {
            digits: ai.clone(),
            position: value.start,
        })?;
        validate_value(&ai, entry, &value.located(), reference_year)?;
        elements.push(Element {
            value: value.text(),
            ai,
        });
    }
    Ok((elements, warnings))
}

/// Appends `value` with every byte but ASCII letters, digits and `-._~` as `%XX`.
pub(crate) fn percent_encode(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

fn conversion(reason: String) -> BarcodeError {
    BarcodeError::Conversion {
        target: "a Digital Link",
        reason,
    }
}

/// Writes elements as a GS1 Digital Link URI on `base_url` (a domain with an optional path
/// prefix, such as `https://id.gs1.org`): the first primary key in the path, then its key
/// qualifiers in table order, then the other AIs as query attributes.
pub fn to_digital_link(elements: &[Element], base_url: &str) -> Result<String, BarcodeError> {
    if !is_uri(base_url) {
        return Err(conversion(format!(
            "base URL {base_url:?} must start with http:// or https://"
        )));
    }
    let mut entries = Vec::with_capacity(elements.len());
    for e in elements {
        let entry = ai_table::lookup(&e.ai)
            .ok_or_else(|| conversion(format!("AI ({}) is unknown", e.ai)))?;
        if e.value.is_empty() {
            return Err(conversion(format!("the value of AI ({}) is empty", e.ai)));
        }
        entries.push((e, entry));
    }
    let key_index = entries
        .iter()
        .position(|(_, entry)| entry.dl_primary_key.is_some())
        .ok_or_else(|| conversion("there is no primary key AI such as (01) or (00)".to_owned()))?;
    let (key, key_entry) = entries
        .get(key_index)
        .copied()
        .ok_or_else(|| conversion("there is no primary key AI".to_owned()))?;
    let present = |ai: &str| {
        entries
            .iter()
            .enumerate()
            .find(|(i, (e, _))| *i != key_index && e.ai == ai)
            .map(|(i, _)| i)
    };
    let seq = key_entry
        .qualifier_sequences()
        .iter()
        .enumerate()
        .max_by_key(|(i, seq)| {
            // Prefer the sequence that places the qualifiers that cannot be query attributes,
            // then the one that places the most, then the first.
            let placed = seq.iter().filter(|q| present(q).is_some());
            let path_only = placed
                .clone()
                .filter(|q| ai_table::lookup(q).is_some_and(|e| !e.dl_query))
                .count();
            (path_only, placed.count(), std::cmp::Reverse(*i))
        })
        .map(|(_, seq)| *seq)
        .unwrap_or_default();
    let mut used = vec![key_index];
    let mut out = base_url.trim_end_matches('/').to_owned();
    out.push('/');
    out.push_str(&key.ai);
    out.push('/');
    percent_encode(&key.value, &mut out);
    for q in seq {
        if let Some(i) = present(q)
            && let Some((e, _)) = entries.get(i)
        {
            out.push('/');
            out.push_str(&e.ai);
            out.push('/');
            percent_encode(&e.value, &mut out);
            used.push(i);
        }
    }
    let mut separator = '?';
    for (i, (e, entry)) in entries.iter().enumerate() {
        if used.contains(&i) {
            continue;
        }
        if !entry.dl_query {
            return Err(conversion(format!(
                "AI ({}) cannot be a query attribute (primary key ({}))",
                e.ai, key.ai
            )));
        }
        out.push(separator);
        separator = '&';
        out.push_str(&e.ai);
        out.push('=');
        percent_encode(&e.value, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const YEAR: i32 = 2026;

    /// (AI, value) pairs written out in a test table.
    type Pairs = &'static [(&'static str, &'static str)];

    fn els(pairs: &[(&str, &str)]) -> Vec<Element> {
        pairs.iter().map(|(a, v)| Element::new(*a, *v)).collect()
    }

    fn check(uri: &str, mode: Mode, expected: Result<&[(&str, &str)], &str>) {
        let got = parse_digital_link(uri, 0, mode, YEAR).map(|(e, _)| e);
        match (got, expected) {
            (Ok(e), Ok(want)) => assert_eq!(e, els(want), "{uri}"),
            (Err(e), Err(want)) => assert_eq!(e.to_string(), want, "{uri}"),
            (got, want) => panic!("{uri}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn reads_uris() {
        let s = Mode::Strict;
        check(
            "https://id.gs1.org/01/09506000134352/10/ABC%2F1/21/12345?17=270101",
            s,
            Ok(&[
                ("01", "09506000134352"),
                ("10", "ABC/1"),
                ("21", "12345"),
                ("17", "270101"),
            ]),
        );
        check(
            "HTTPS://example.com/some/prefix/01/09506000134352/22/2A/10/L+1/21/S?3103=000195&utm_source=x&17=270101#frag",
            s,
            Ok(&[
                ("01", "09506000134352"),
                ("22", "2A"),
                ("10", "L+1"),
                ("21", "S"),
                ("3103", "000195"),
                ("17", "270101"),
            ]),
        );
        check(
            "http://a.b/01/09506000134352/235/TPX1",
            s,
            Ok(&[("01", "09506000134352"), ("235", "TPX1")]),
        );
        check(
            "https://a.b/00/106141411234567897",
            s,
            Ok(&[("00", "106141411234567897")]),
        );
        check(
            "https://a.b/414/9520123456788/254/32a%2Fb",
            s,
            Ok(&[("414", "9520123456788"), ("254", "32a/b")]),
        );
        // A prefix segment that looks like a qualifier is still prefix.
        check(
            "https://a.b/21/x/01/09506000134352",
            s,
            Ok(&[("01", "09506000134352")]),
        );
    }

    #[test]
    fn errors() {
        let s = Mode::Strict;
        let cases: &[(&str, &str)] = &[
            (
                "ftp://a.b/01/09506000134352",
                "not a GS1 Digital Link URI: it does not start with http:// or https://",
            ),
            (
                "https:///01/09506000134352",
                "malformed Digital Link at position 9: the domain is missing",
            ),
            (
                "https://a.b/",
                "not a GS1 Digital Link URI: the path has no GS1 primary key such as /01/",
            ),
            (
                "https://a.b/about/us",
                "not a GS1 Digital Link URI: the path has no GS1 primary key such as /01/",
            ),
            (
                "https://a.b/01/9506000134352",
                "value of AI (01) at position 16 has 13 characters; at least 14 are needed",
            ),
            (
                "https://a.b/01/09506000134353",
                "bad check digit in AI (01) at position 29: found 3, expected 2",
            ),
            (
                "https://a.b/01/09506000134352/21/S/10/L",
                "key qualifier AI (10) is out of order after primary key AI (01)",
            ),
            (
                "https://a.b/01/09506000134352/22/C/235/T",
                "key qualifier AI (235) is out of order after primary key AI (01)",
            ),
            (
                "https://a.b/01/09506000134352/254/X",
                "AI (254) is not a key qualifier of primary key AI (01)",
            ),
            (
                "https://a.b/01/09506000134352?10=L",
                "key qualifier AI (10) belongs in the Digital Link path, not the query string",
            ),
            (
                "https://a.b/00/106141411234567897?21=S",
                "AI (21) is not allowed as a Digital Link query attribute",
            ),
            (
                "https://a.b/01/09506000134352?2399=S",
                "unknown AI starting \"2399\" at position 31",
            ),
            (
                "https://a.b/01/09506000134352/10/A%2",
                "bad percent-encoding at position 35",
            ),
            (
                "https://a.b/01/09506000134352/10/A%FF",
                "bad percent-encoding at position 35",
            ),
            (
                "https://a.b/01/09506000134352/10/A%20B",
                "character ' ' at position 35 is not allowed in AI (10); expected GS1 character set 82",
            ),
            (
                "https://a.b/01/09506000134352/10/A%25%2",
                "bad percent-encoding at position 38",
            ),
            (
                "https://a.b/01/09506000134352?17=271301",
                "invalid date 271301 in AI (17) at position 34: month 13 does not exist",
            ),
            (
                "https://a.b/01/09506000134352?17=",
                "value of AI (17) at position 34 has 0 characters; at least 6 are needed",
            ),
            (
                "https://a.b/01/09506000134352/",
                "malformed Digital Link at position 30: the path ends with '/'",
            ),
        ];
        for (uri, want) in cases {
            check(uri, s, Err(want));
        }
    }

    #[test]
    fn scanner_mode_leniency() {
        let cases: &[(&str, Pairs, &[Normalization])] = &[
            (
                "https://a.b/01/9506000134352",
                &[("01", "09506000134352")],
                &[Normalization::GtinZeroPadded { len: 13 }],
            ),
            (
                "https://a.b/01/96385074/",
                &[("01", "00000096385074")],
                &[
                    Normalization::TrailingSlash,
                    Normalization::GtinZeroPadded { len: 8 },
                ],
            ),
            (
                "https://a.b/01/09506000134352/21/S?10=L",
                &[("01", "09506000134352"), ("10", "L"), ("21", "S")],
                &[Normalization::KeyQualifierInQuery { ai: "10".into() }],
            ),
        ];
        for (uri, want, warnings) in cases {
            let (e, w) = parse_digital_link(uri, 0, Mode::Scanner, YEAR).unwrap();
            assert_eq!(e, els(want), "{uri}");
            assert_eq!(&w, warnings, "{uri}");
        }
        // Padding needs digits of a known GTIN length.
        assert!(parse_digital_link("https://a.b/01/950600013435", 0, Mode::Scanner, YEAR).is_err());
    }

    #[test]
    fn writes_uris() {
        let e = els(&[
            ("01", "09506000134352"),
            ("17", "270101"),
            ("21", "12345"),
            ("10", "ABC/1"),
        ]);
        let uri = to_digital_link(&e, "https://id.gs1.org/").unwrap();
        assert_eq!(
            uri,
            "https://id.gs1.org/01/09506000134352/10/ABC%2F1/21/12345?17=270101"
        );
        let (back, _) = parse_digital_link(&uri, 0, Mode::Strict, YEAR).unwrap();
        let mut a = back.clone();
        let mut b = e.clone();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        assert_eq!(
            to_digital_link(
                &els(&[("01", "09506000134352"), ("235", "T"), ("10", "L")]),
                "https://x.y/p"
            )
            .unwrap(),
            "https://x.y/p/01/09506000134352/235/T?10=L"
        );
        let bad: &[(&[(&str, &str)], &str)] = &[
            (
                &[("10", "L")],
                "cannot convert to a Digital Link: there is no primary key AI such as (01) or (00)",
            ),
            (
                &[("00", "106141411234567897"), ("21", "S")],
                "cannot convert to a Digital Link: AI (21) cannot be a query attribute (primary key (00))",
            ),
            (
                &[("01", "09506000134352"), ("23", "S")],
                "cannot convert to a Digital Link: AI (23) is unknown",
            ),
        ];
        for (input, want) in bad {
            assert_eq!(
                to_digital_link(&els(input), "https://id.gs1.org")
                    .unwrap_err()
                    .to_string(),
                *want
            );
        }
        assert!(to_digital_link(&e, "id.gs1.org").is_err());
    }
}
