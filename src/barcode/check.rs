//! Check-character schemes: GS1 mod-10 (GTIN, SSCC, GLN), Luhn, and ISO/IEC 7064 MOD 37,36.
//! Pure arithmetic over ASCII; every function answers `None` for input outside its alphabet
//! instead of panicking.

/// The GS1 mod-10 check digit over `digits` (the digits before the check digit).
///
/// Weights alternate 3, 1, 3, ... starting from the digit nearest the check digit.
pub fn gs1_mod10_digit(digits: &[u8]) -> Option<u8> {
    let mut sum: u32 = 0;
    for (i, &c) in digits.iter().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let weight = if i % 2 == 0 { 3 } else { 1 };
        sum += u32::from(c - b'0') * weight;
    }
    let digit = (10 - sum % 10) % 10;
    Some(b'0' + u8::try_from(digit).ok()?)
}

/// True when the last digit of `code` is the GS1 mod-10 check digit of the ones before it.
pub fn gs1_mod10_valid(code: &[u8]) -> bool {
    match code.split_last() {
        Some((&last, body)) if !body.is_empty() => gs1_mod10_digit(body) == Some(last),
        _ => false,
    }
}

/// The Luhn check digit over `digits` (doubling every second digit from the right, starting
/// with the digit nearest the check digit).
pub fn luhn_digit(digits: &[u8]) -> Option<u8> {
    let mut sum: u32 = 0;
    for (i, &c) in digits.iter().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    let digit = (10 - sum % 10) % 10;
    Some(b'0' + u8::try_from(digit).ok()?)
}

/// True when the last digit of `code` is the Luhn check digit of the ones before it.
pub fn luhn_valid(code: &[u8]) -> bool {
    match code.split_last() {
        Some((&last, body)) if !body.is_empty() => luhn_digit(body) == Some(last),
        _ => false,
    }
}

/// Crockford's base 32: digits and upper-case letters without I, L, O and U, so nothing reads
/// as a digit or as another letter.
pub const CROCKFORD32: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The Luhn mod N check character (N = 32) over `chars` from [`CROCKFORD32`]: code points
/// doubled from the rightmost one, the doubled value's base-32 digits summed.
pub fn luhn_mod32_char(chars: &[u8]) -> Option<u8> {
    const N: usize = CROCKFORD32.len();
    let mut sum = 0usize;
    for (i, &c) in chars.iter().rev().enumerate() {
        let mut point = CROCKFORD32.iter().position(|&a| a == c)?;
        if i % 2 == 0 {
            point *= 2;
            point = point / N + point % N;
        }
        sum += point;
    }
    CROCKFORD32.get((N - sum % N) % N).copied()
}

const MOD37_36_ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn mod37_36_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// The ISO/IEC 7064 MOD 37,36 check character over `chars` (0-9 and A-Z only).
pub fn mod37_36_char(chars: &[u8]) -> Option<u8> {
    const M: u32 = 36;
    let mut product = M;
    for &c in chars {
        let value = mod37_36_value(c)?;
        let mut sum = (product + value) % M;
        if sum == 0 {
            sum = M;
        }
        product = (sum * 2) % (M + 1);
    }
    let check = (M + 1 - product) % M;
    MOD37_36_ALPHABET.get(usize::try_from(check).ok()?).copied()
}

/// True when the last character of `code` is the MOD 37,36 check character of the ones before.
pub fn mod37_36_valid(code: &[u8]) -> bool {
    match code.split_last() {
        Some((&last, body)) if !body.is_empty() => mod37_36_char(body) == Some(last),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs1_mod10_known_codes() {
        // GTIN-14 examples from the GS1 General Specifications and common retail codes.
        for code in [
            "09506000134352",
            "4006381333931",
            "96385074",
            "00012345600012",
        ] {
            assert!(gs1_mod10_valid(code.as_bytes()), "{code}");
        }
        assert!(!gs1_mod10_valid(b"09506000134353"));
        assert!(!gs1_mod10_valid(b"0950600013435X"));
        assert!(!gs1_mod10_valid(b"5"));
        assert!(!gs1_mod10_valid(b""));
        // SSCC.
        assert!(gs1_mod10_valid(b"106141411234567897"));
    }

    #[test]
    fn luhn_known_codes() {
        assert!(luhn_valid(b"79927398713"));
        assert!(!luhn_valid(b"79927398710"));
        assert_eq!(luhn_digit(b"7992739871"), Some(b'3'));
        assert_eq!(luhn_digit(b"12A"), None);
    }

    #[test]
    fn luhn_mod32_sums_to_zero_and_catches_single_changes() {
        // With the check character, the doubled-from-the-second-rightmost sum is 0 mod 32.
        let valid = |code: &[u8]| {
            let mut sum = 0usize;
            for (i, c) in code.iter().rev().enumerate() {
                let mut p = CROCKFORD32.iter().position(|a| a == c).unwrap();
                if i % 2 == 1 {
                    p *= 2;
                    p = p / 32 + p % 32;
                }
                sum += p;
            }
            sum.is_multiple_of(32)
        };
        for body in [&b"7K3MZQ9X"[..], b"0", b"ZZZZZZZZZZ", b"ABCDEFGH1234"] {
            let check = luhn_mod32_char(body).unwrap();
            assert!(CROCKFORD32.contains(&check));
            let mut code = body.to_vec();
            code.push(check);
            assert!(valid(&code), "{}", String::from_utf8_lossy(&code));
            for i in 0..code.len() {
                for &other in CROCKFORD32 {
                    if other != code[i] {
                        let mut changed = code.clone();
                        changed[i] = other;
                        assert!(!valid(&changed), "{}", String::from_utf8_lossy(&changed));
                    }
                }
            }
        }
        for bad in [&b"ABCI"[..], b"abc", b"O0"] {
            assert_eq!(luhn_mod32_char(bad), None);
        }
    }

    #[test]
    fn mod37_36_detects_single_changes_and_swaps() {
        let body = b"AB12CD34";
        let check = mod37_36_char(body).unwrap();
        let mut code = body.to_vec();
        code.push(check);
        assert!(mod37_36_valid(&code));
        for i in 0..code.len() - 1 {
            let mut changed = code.clone();
            changed[i] = if changed[i] == b'0' { b'1' } else { b'0' };
            assert!(!mod37_36_valid(&changed), "single change at {i} undetected");
            let mut swapped = code.clone();
            swapped.swap(i, i + 1);
            if swapped != code {
                assert!(!mod37_36_valid(&swapped), "swap at {i} undetected");
            }
        }
        assert_eq!(mod37_36_char(b"ab"), None);
    }
}
