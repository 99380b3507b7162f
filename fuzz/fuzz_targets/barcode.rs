//! Fuzz target `barcode`: arbitrary bytes go through `barcode::interpret` in scanner and strict
//! mode. Nothing may panic, and every successful reading must hold what the module promises:
//! its elements are known, unique AIs; a GTIN carries a valid check digit; an expiry reads as a
//! date; the elements survive element string, bracketed form and (when it can be written)
//! Digital Link back to the same elements; and, for bytes without scanner noise, a strict
//! reading of GS1 data is also the scanner reading, since scanner mode only removes noise
//! before applying the strict rules.
//! This file owns no logic of its own beyond these checks.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serialtrack::barcode::{
    Date, Element, Interpretation, Kind, Mode, Options, ai_table, check, interpret, normalize,
    parse_bracketed, parse_digital_link, parse_element_string,
};

const TODAY: Date = Date::new(2026, 3, 15);
const BASE_URL: &str = "https://id.gs1.org";

fn sorted(elements: &[Element]) -> Vec<Element> {
    let mut out = elements.to_vec();
    out.sort();
    out
}

fn check_reading(raw: &[u8], read: &Interpretation) {
    let year = read.today.year;
    for (i, e) in read.elements.iter().enumerate() {
        assert!(ai_table::lookup(&e.ai).is_some(), "{raw:?}: unknown AI {e:?}");
        assert!(
            read.elements.iter().skip(i + 1).all(|o| o.ai != e.ai),
            "{raw:?}: AI ({}) twice",
            e.ai
        );
    }
    if let Some(gtin) = read.gtin() {
        assert!(
            gtin.len() == 14 && check::gs1_mod10_valid(gtin.as_bytes()),
            "{raw:?}: GTIN {gtin:?}"
        );
    }
    if read.get("17").is_some() {
        assert!(read.expiry().is_some(), "{raw:?}: AI (17) is not a date");
    }
    if read.kind == Kind::Plain {
        assert!(read.elements.is_empty(), "{raw:?}: plain scan with elements");
        return;
    }
    assert!(!read.elements.is_empty(), "{raw:?}: GS1 reading without elements");

    // Every value was validated against its AI, so both text forms can always be written.
    let text = read
        .to_element_string()
        .unwrap_or_else(|e| panic!("{raw:?}: to_element_string: {e}"));
    let (again, warnings) = parse_element_string(&text, 0, Mode::Strict, year)
        .unwrap_or_else(|e| panic!("{raw:?}: element string {text:?} does not parse: {e}"));
    assert_eq!(again, read.elements, "{raw:?}: element string {text:?}");
    assert!(warnings.is_empty(), "{raw:?}: {warnings:?}");

    let bracketed = read
        .to_bracketed()
        .unwrap_or_else(|e| panic!("{raw:?}: to_bracketed: {e}"));
    let again = parse_bracketed(&bracketed, 0, year)
        .unwrap_or_else(|e| panic!("{raw:?}: bracketed {bracketed:?} does not parse: {e}"));
    assert_eq!(again, read.elements, "{raw:?}: bracketed {bracketed:?}");

    // A Digital Link needs a primary key and AIs allowed as query attributes, so writing one
    // may fail; when it succeeds it must read back (in path order, hence sorted).
    if let Ok(uri) = read.to_digital_link(BASE_URL) {
        let (again, warnings) = parse_digital_link(&uri, 0, Mode::Strict, year)
            .unwrap_or_else(|e| panic!("{raw:?}: Digital Link {uri} does not parse: {e}"));
        assert_eq!(
            sorted(&again),
            sorted(&read.elements),
            "{raw:?}: Digital Link {uri}"
        );
        assert!(warnings.is_empty(), "{raw:?}: {uri}: {warnings:?}");
    }
}

fuzz_target!(|raw: &[u8]| {
    let scanner = interpret(raw, &Options::scanner(TODAY));
    let strict = interpret(raw, &Options::strict(TODAY));
    if let Ok(read) = &scanner {
        check_reading(raw, read);
    }
    if let Ok(read) = &strict {
        check_reading(raw, read);
        assert!(read.warnings.is_empty(), "{raw:?}: strict warnings");
        // A plain strict reading may become GS1 data in scanner mode, where GS stand-ins such
        // as '@' are replaced; GS1 data has none of those, so both modes must agree unless
        // there was byte noise to clean. Noise may sit where strict mode does not look (a NUL
        // inside a Digital Link query key that is not an AI) and change the reading once
        // removed, so such input is left out.
        let noiseless = normalize::clean_bytes(raw).1.is_empty();
        if read.kind != Kind::Plain && noiseless {
            let scanned = scanner
                .as_ref()
                .unwrap_or_else(|e| panic!("{raw:?}: strict reads, scanner says {e}"));
            assert_eq!(scanned.kind, read.kind, "{raw:?}");
            assert_eq!(scanned.elements, read.elements, "{raw:?}");
        }
    }
});
