//! Code 128 code set B, for the serial's linear barcode in the preview: symbol values, the
//! mod-103 check symbol and the bar pattern as module widths. Pure. Set B covers printable
//! ASCII (32-126), so every serial the label strategies allow encodes; anything else is
//! refused, never silently dropped.

/// Start symbol of code set B.
pub const START_B: u8 = 104;
/// Stop symbol (its pattern carries the final bar).
pub const STOP: u8 = 106;
/// The longest text encoded, in characters. A longer one is refused with
/// [`Code128Error::TooLong`] (a serial is at most 64).
pub const TEXT_LEN_MAX: usize = 80;
/// Modules of every symbol but the stop.
pub const SYMBOL_MODULES: usize = 11;
/// Modules of the stop symbol, final bar included.
pub const STOP_MODULES: usize = 13;

/// Bar and space widths of symbol values 0-106, bar first, as decimal digits; the stop has
/// seven elements (its last bar is the termination bar). The standard table (ISO/IEC 15417).
#[rustfmt::skip]
const PATTERNS: [u32; 107] = [
    212222, 222122, 222221, 121223, 121322, 131222, 122213, 122312, 132212, 221213,
    221312, 231212, 112232, 122132, 122231, 113222, 123122, 123221, 223211, 221132,
    221231, 213212, 223112, 312131, 311222, 321122, 321221, 312212, 322112, 322211,
    212123, 212321, 232121, 111323, 131123, 131321, 112313, 132113, 132311, 211313,
    231113, 231311, 112133, 112331, 132131, 113123, 113321, 133121, 313121, 211331,
    231131, 213113, 213311, 213131, 311123, 311321, 331121, 312113, 312311, 332111,
    314111, 221411, 431111, 111224, 111422, 121124, 121421, 141122, 141221, 112214,
    112412, 122114, 122411, 142112, 142211, 241211, 221114, 413111, 241112, 134111,
    111242, 121142, 121241, 114212, 124112, 124211, 411212, 421112, 421211, 212141,
    214121, 412121, 111143, 111341, 131141, 114113, 114311, 411113, 411311, 113141,
    114131, 311141, 411131, 211412, 211214, 211232, 2_331_112,
];

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Code128Error {
    #[error("nothing to encode in Code 128")]
    Empty,
    #[error("{0} characters are too many for Code 128 here; at most {TEXT_LEN_MAX}")]
    TooLong(usize),
    #[error(
        "character {ch:?} at position {position} cannot be encoded in Code 128 set B (printable ASCII only)"
    )]
    Character { ch: char, position: usize },
}

/// The symbol values of `text` in set B: start, one per character, check, stop.
pub fn symbols(text: &str) -> Result<Vec<u8>, Code128Error> {
    if text.is_empty() {
        return Err(Code128Error::Empty);
    }
    let len = text.chars().count();
    if len > TEXT_LEN_MAX {
        return Err(Code128Error::TooLong(len));
    }
    let mut out = Vec::with_capacity(len + 3);
    out.push(START_B);
    for (i, ch) in text.chars().enumerate() {
        let value = u8::try_from(ch)
            .ok()
            .filter(|b| (32..=126).contains(b))
            .map(|b| b - 32)
            .ok_or(Code128Error::Character {
                ch,
                position: i + 1,
            })?;
        out.push(value);
    }
    out.push(check_symbol(&out));
    out.push(STOP);
    Ok(out)
}

/// The mod-103 check value over `symbols` (start first): the start's value plus each data
/// symbol's value times its 1-based position.
pub fn check_symbol(symbols: &[u8]) -> u8 {
    let sum: u64 = symbols
        .iter()
        .enumerate()
        .map(|(i, &v)| u64::from(v) * u64::try_from(i.max(1)).unwrap_or(u64::MAX))
        .fold(0, u64::wrapping_add);
    u8::try_from(sum % 103).unwrap_or(0)
}

/// The element widths (bar, space, bar, ...) of one symbol value, or none past 106.
pub fn pattern(value: u8) -> Vec<u8> {
    let Some(&digits) = PATTERNS.get(usize::from(value)) else {
        return Vec::new();
    };
    digits
        .to_string()
        .bytes()
        .map(|b| b.saturating_sub(b'0'))
        .collect()
}

/// The whole barcode as modules, `true` for a bar, without quiet zones.
pub fn modules(text: &str) -> Result<Vec<bool>, Code128Error> {
    let mut out = Vec::new();
    for value in symbols(text)? {
        for (i, width) in pattern(value).into_iter().enumerate() {
            out.extend(std::iter::repeat_n(i % 2 == 0, usize::from(width)));
        }
    }
    Ok(out)
}

/// Modules of a set-B barcode of `len` characters: start, data, check, stop.
pub fn module_count(len: usize) -> usize {
    SYMBOL_MODULES * (len + 2) + STOP_MODULES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_has_the_standard_width_and_shape() {
        for value in 0..=106u8 {
            let p = pattern(value);
            let total: u32 = p.iter().map(|&w| u32::from(w)).sum();
            if value == STOP {
                assert_eq!((p.len(), total), (7, 13), "stop");
            } else {
                assert_eq!((p.len(), total), (6, 11), "value {value}");
            }
            assert!(p.iter().all(|w| (1..=4).contains(w)), "value {value}");
        }
        assert!(pattern(107).is_empty());
        let distinct: std::collections::HashSet<u32> = PATTERNS.iter().copied().collect();
        assert_eq!(distinct.len(), PATTERNS.len());
    }

    #[test]
    fn check_symbol_matches_worked_examples() {
        // "ABC": 104 + 33*1 + 34*2 + 35*3 = 310 = 3*103 + 1.
        assert_eq!(symbols("ABC").unwrap(), vec![104, 33, 34, 35, 1, 106]);
        // "PJJ123C": 104 + 48 + 42*2 + 42*3 + 17*4 + 18*5 + 19*6 + 35*7 = 879 = 8*103 + 55.
        let s = symbols("PJJ123C").unwrap();
        assert_eq!(s[s.len() - 2], 55);
        // "!!": 104 + 1*1 + 1*2 = 107 = 103 + 4.
        assert_eq!(symbols("!!").unwrap()[3], 4);
    }

    #[test]
    fn modules_start_with_start_b_and_end_with_the_stop_bar() {
        let m = modules("S1").unwrap();
        assert_eq!(m.len(), module_count(2));
        // Start B is 211214: bars of 2 and 1 and 1, spaces of 1, 2, 4.
        let start: Vec<bool> = [2, 1, 1, 2, 1, 4]
            .iter()
            .enumerate()
            .flat_map(|(i, &w)| std::iter::repeat_n(i % 2 == 0, w))
            .collect();
        assert_eq!(&m[..11], &start[..]);
        assert_eq!(&m[m.len() - 2..], &[true, true]);
    }

    #[test]
    fn refusals() {
        assert_eq!(symbols(""), Err(Code128Error::Empty));
        assert_eq!(
            symbols("A\u{1D}B"),
            Err(Code128Error::Character {
                ch: '\u{1D}',
                position: 2
            })
        );
        assert_eq!(
            symbols("é"),
            Err(Code128Error::Character {
                ch: 'é',
                position: 1
            })
        );
        assert_eq!(symbols(&"9".repeat(81)), Err(Code128Error::TooLong(81)));
    }
}
