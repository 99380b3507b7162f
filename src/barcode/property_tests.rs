//! Property tests over the whole module: no input makes interpretation panic, and element
//! sets built at random from the AI table survive element string → Digital Link → element
//! string (and the bracketed form) unchanged.

use proptest::prelude::*;

use super::ai_table::{self, AI_TABLE, AiEntry, Cset, Linter};
use super::check;
use super::date::Date;
use super::digital_link::{parse_digital_link, to_digital_link};
use super::element::{
    Element, parse_bracketed, parse_element_string, to_bracketed, to_element_string,
};
use super::interpret::{Mode, Options, interpret, read};

const TODAY: Date = Date::new(2026, 3, 15);

/// splitmix64: a small deterministic generator driven by a proptest seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        let n64 = u64::try_from(n.max(1)).unwrap_or(u64::MAX);
        usize::try_from(self.next() % n64).unwrap_or(0)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

const CSET82: &str =
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const CSET39: &str = "#-/0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const CSET64: &str = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";

fn concrete_ai(entry: &AiEntry, rng: &mut Rng) -> String {
    let first: usize = entry.first.parse().unwrap();
    let last: usize = entry.last.parse().unwrap();
    let n = first + rng.below(last - first + 1);
    format!("{n:0width$}", width = entry.first.len())
}

fn two(n: usize) -> String {
    format!("{n:02}")
}

/// A value that passes every check this crate enforces for `entry`.
fn valid_value(entry: &AiEntry, rng: &mut Rng) -> String {
    let mut out = String::new();
    for c in entry.components {
        if c.optional && rng.coin() {
            break;
        }
        let len = c.min + rng.below(c.max - c.min + 1).min(12);
        let alphabet: Vec<char> = match c.charset {
            Cset::Numeric => "0123456789".chars().collect(),
            Cset::Cset82 => CSET82
                .chars()
                .filter(|&ch| ch != '%' || !c.linters.contains(&Linter::PercentEncoded))
                .collect(),
            Cset::Cset39 => CSET39.chars().collect(),
            Cset::Cset64 => CSET64.chars().collect(),
        };
        let mut part: String = (0..len).map(|_| *rng.pick(&alphabet)).collect();
        for linter in c.linters {
            match linter {
                Linter::Yymmd0 | Linter::Yymmdd => {
                    let day = if *linter == Linter::Yymmd0 && rng.coin() {
                        0
                    } else {
                        1 + rng.below(28)
                    };
                    part = format!(
                        "{}{}{}",
                        two(rng.below(100)),
                        two(1 + rng.below(12)),
                        two(day)
                    );
                }
                Linter::Yyyymmdd => {
                    part = format!(
                        "19{}{}{}",
                        two(rng.below(100)),
                        two(1 + rng.below(12)),
                        two(1 + rng.below(28))
                    );
                }
                Linter::Hhmi => part = format!("{}{}", two(rng.below(24)), two(rng.below(60))),
                Linter::Hh => part = two(rng.below(24)),
                Linter::Mi | Linter::Ss => part = two(rng.below(60)),
                Linter::YesNo | Linter::Winding | Linter::Iso5218 => part = "1".to_owned(),
                Linter::Hyphen => part = "-".to_owned(),
                Linter::Zero => part = "0".to_owned(),
                Linter::NonZero | Linter::NoZeroPrefix => part.replace_range(..1, "1"),
                Linter::HasNonDigit => part.replace_range(..1, "A"),
                Linter::PieceOfTotal => part = "0102".to_owned(),
                Linter::PosInSeqSlash => part = "1/2".to_owned(),
                Linter::Latitude | Linter::Longitude => part = "0900000000".to_owned(),
                Linter::Iban => part = "DE89370400440532013000".to_owned(),
                Linter::Iso3166Alpha2 => part = "DE".to_owned(),
                _ => {}
            }
        }
        if c.linters.contains(&Linter::Csum) {
            part.pop();
            let digit = check::gs1_mod10_digit(part.as_bytes()).unwrap();
            part.push(char::from(digit));
        }
        out.push_str(&part);
    }
    out
}

/// A primary key, some of its qualifiers (from one sequence) and some query attributes.
fn random_elements(seed: u64) -> Vec<Element> {
    let mut rng = Rng(seed);
    let keys: Vec<&AiEntry> = AI_TABLE
        .iter()
        .filter(|e| e.dl_primary_key.is_some())
        .collect();
    let key = *rng.pick(&keys);
    let mut elements = vec![Element::new(
        concrete_ai(key, &mut rng),
        valid_value(key, &mut rng),
    )];
    if let Some(seq) = key.qualifier_sequences().get(rng.below(2)) {
        for q in seq.iter() {
            if rng.coin() {
                let entry = ai_table::lookup(q).unwrap();
                elements.push(Element::new(*q, valid_value(entry, &mut rng)));
            }
        }
    }
    let attributes: Vec<&AiEntry> = AI_TABLE
        .iter()
        .filter(|e| e.dl_query && !key.has_qualifier(e.first))
        .collect();
    for _ in 0..rng.below(5) {
        let entry = *rng.pick(&attributes);
        let ai = concrete_ai(entry, &mut rng);
        if elements.iter().all(|e| e.ai != ai) {
            elements.push(Element::new(ai, valid_value(entry, &mut rng)));
        }
    }
    elements
}

fn sorted(mut e: Vec<Element>) -> Vec<Element> {
    e.sort();
    e
}

const TOKENS: &[&str] = &[
    "]C1",
    "]d2",
    "]Q3",
    "]Q1",
    "]E0",
    "]E4",
    "]E3",
    "]I1",
    "]e0",
    "01",
    "09506000134352",
    "10",
    "21",
    "17",
    "270100",
    "3103",
    "000195",
    "\u{1d}",
    "@",
    "~",
    "{GS}",
    "(",
    ")",
    "\\(",
    "https://a.b/",
    "/",
    "?",
    "=",
    "&",
    "%2F",
    "%",
    "\r",
    "\n",
    "\0",
    "\u{feff}",
    "é",
    "8006",
    "00",
    "0",
    "A",
    "#",
    " ",
    "8030",
    "414",
    "254",
    "8020",
    "415",
    "7003",
    "4324",
    "8007",
];

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = interpret(&raw, &Options::scanner(TODAY));
        let _ = interpret(&raw, &Options::strict(TODAY));
    }

    #[test]
    fn gs1_like_text_never_panics(parts in prop::collection::vec(prop::sample::select(TOKENS), 0..24)) {
        let text = parts.concat();
        for options in [Options::scanner(TODAY), Options::strict(TODAY)] {
            if let Ok(read) = interpret(text.as_bytes(), &options) {
                let _ = read.to_element_string();
                let _ = read.to_bracketed();
                let _ = read.to_digital_link("https://id.gs1.org");
                let _ = read.expiry();
            }
        }
    }

    /// Scanner mode reads element strings first and cleans only when the reader met noise
    /// or failed. A substitute that could hide in valid data ("<" is in set 82) turns that off,
    /// so a reading with one more such substitute, on text that does not contain it, must be
    /// the same reading, error or not. And `read` holds what `interpret` gives.
    #[test]
    fn reading_before_cleaning_changes_nothing(
        aim in prop::sample::select(&["", "]C1", "]d2", "]Q3", "]e0"][..]),
        parts in prop::collection::vec(prop::sample::select(TOKENS), 0..24),
    ) {
        let text = format!("{aim}{}", parts.concat());
        let fast = Options::scanner(TODAY);
        let mut careful = Options::scanner(TODAY);
        careful.gs_substitutes.push("<GS>".to_owned());
        prop_assume!(!text.contains("<GS>"));
        let want = interpret(text.as_bytes(), &careful);
        prop_assert_eq!(&interpret(text.as_bytes(), &fast), &want);
        let reading = read(text.as_bytes(), &fast);
        let ids = reading.as_ref().map(|r| {
            let elements: Vec<(String, String)> = r
                .elements()
                .map(|(a, v)| (a.to_owned(), v.to_owned()))
                .collect();
            (r.kind, r.data().to_owned(), elements, r.gtin().map(str::to_owned),
             r.serial().map(str::to_owned), r.lot().map(str::to_owned), r.expiry())
        });
        let want_ids = want.as_ref().map(|w| {
            let elements: Vec<(String, String)> = w
                .elements
                .iter()
                .map(|e| (e.ai.clone(), e.value.clone()))
                .collect();
            (w.kind, w.data.clone(), elements, w.gtin().map(str::to_owned),
             w.serial().map(str::to_owned), w.lot().map(str::to_owned), w.expiry())
        });
        prop_assert_eq!(ids, want_ids);
    }

    #[test]
    fn odd_reference_years_never_panic(year in any::<i32>(), yymmdd in "[0-9]{6}") {
        let options = Options::strict(Date::new(year, 1, 1));
        let _ = interpret(format!("]C10109506000134352{yymmdd}").as_bytes(), &options);
        let _ = interpret(format!("]C117{yymmdd}").as_bytes(), &options);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn table_built_elements_round_trip(seed in any::<u64>()) {
        let elements = random_elements(seed);
        let text = to_element_string(&elements).unwrap();
        let (read, warnings) = parse_element_string(&text, 0, Mode::Strict, TODAY.year)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"));
        prop_assert_eq!(&read, &elements);
        prop_assert!(warnings.is_empty());

        let bracketed = to_bracketed(&elements).unwrap();
        let read = parse_bracketed(&bracketed, 0, TODAY.year)
            .unwrap_or_else(|e| panic!("{bracketed:?}: {e}"));
        prop_assert_eq!(&read, &elements);

        let uri = to_digital_link(&elements, "https://example.com/prefix")
            .unwrap_or_else(|e| panic!("{elements:?}: {e}"));
        let (from_uri, warnings) = parse_digital_link(&uri, 0, Mode::Strict, TODAY.year)
            .unwrap_or_else(|e| panic!("{uri}: {e}"));
        prop_assert!(warnings.is_empty());
        prop_assert_eq!(sorted(from_uri.clone()), sorted(elements.clone()));

        let again = to_element_string(&from_uri).unwrap();
        let (reread, _) = parse_element_string(&again, 0, Mode::Strict, TODAY.year).unwrap();
        prop_assert_eq!(reread, from_uri);
    }
}
