//! The sled key layout: one tree, one prefix byte per record kind. Integers are big-endian so
//! keys sort numerically; variable-length parts that are followed by more key are length
//! prefixed so no value can run into the next part.
//!
//! | prefix | key | value |
//! |---|---|---|
//! | `i` | sku | item record |
//! | `g` | gtin (14 digits) | sku |
//! | `u` | serial | unit record |
//! | `e` | seq (u64) | event record |
//! | `x` | event_id (16 bytes) | seq (u64) |
//! | `h` | serial length (u16), serial, seq (u64) | empty |
//! | `o` | order id | order record (lines with their pick counts; constant size) |
//! | `q` | order id length (u16), order id, serial length (u16), serial, ordinal (u64) | line index (u32): one key per pick |
//! | `s` | shipment id | shipment record (dispatch count, closure; constant size) |
//! | `d` | shipment id length (u16), shipment id, ordinal (u32) | serial: one key per serial scanned at dispatch |
//! | `r` | recall id | recall record (scope, reason, release) |
//! | `l` | sku length (u16), sku, lot length (u16), lot, serial | empty: units by lot |
//! | `p` | location length (u16), location, serial | empty: units by location |
//! | `n` | receipt id | receipt record (lines, counts, closure) |
//! | `m` | manufacturer serial | our serial |
//! | `a` | receipt id length (u16), receipt id, serial | mark (1 byte), SKU: the receipt's serials |
//! | `c` | parent id (kit serial or SSCC) | set record (children, unit count, its own parent) |
//! | `k` | day (u32 YYYYMMDD), station length (u16), station, operator length (u16), operator | KPI counters of that day, station and operator |
//! | `f` | sku length (u16), sku, expiry (u32 YYYYMMDD, max when unknown), received at (u64, sign-flipped ms), serial | empty: stored unpacked units in pick order |
//! | `t` | token name | token record (role, SHA-256 of the text, creation, revocation); see `tokens.rs` |
//! | `v` | SHA-256 of a token's text (32 bytes) | token name |
//! | `w` | webhook id | subscription record (URL, secret, filters, delivered through); see `webhooks.rs` |
//! | `b` | 1, sku length (u16), sku, scope | next counter value (u64): issuing's counters (scope: empty, the day YYYYMMDD, or the plant code) |
//! | `b` | 2, sku length (u16), sku, first (u64) | range record (owner, kind, last, next) |
//! | `j` | 1, name length (u16), name, version (u32) | label template record, every version kept |
//! | `j` | 2, job id | print job record (template and version, operator, time, the serials printed) |
//! | `j` | 3 | the next print job number (u64) |
//! | `z` | serial | facts a unit was issued or imported with (batch, size, colour, PO, manufacturing unit and date) and its label prints |
//! | `y` | (nothing more) | the layout version (u32), [`LAYOUT_VERSION`] |
//!
//! A record that a write changes is rewritten whole, and sled keeps the old copy in its log
//! until the segment is reclaimed: so no record may grow with use. A document's growing lists
//! (an order's picks, a shipment's dispatched serials) are keys of their own.

use uuid::Uuid;

pub const ITEM: u8 = b'i';
pub const GTIN: u8 = b'g';
pub const UNIT: u8 = b'u';
pub const EVENT: u8 = b'e';
pub const EVENT_ID: u8 = b'x';
pub const HISTORY: u8 = b'h';
pub const ORDER: u8 = b'o';
pub const SHIPMENT: u8 = b's';
pub const RECALL: u8 = b'r';
pub const LOT: u8 = b'l';
pub const PLACE: u8 = b'p';
pub const RECEIPT: u8 = b'n';
pub const MFR: u8 = b'm';
pub const SET: u8 = b'c';
pub const STOCK: u8 = b'f';
pub const KPI: u8 = b'k';
pub const PICK: u8 = b'q';
pub const DISPATCH: u8 = b'd';
pub const ISSUING: u8 = b'b';
pub const FACTS: u8 = b'z';
pub const LABEL: u8 = b'j';
/// The key of the next print job number.
pub const PRINT_JOB_NEXT: &[u8] = &[LABEL, 3];

/// The prefix of every version of one template; the versions follow in order.
pub fn template_prefix(name: &str) -> Option<Vec<u8>> {
    let mut key = vec![LABEL, 1];
    push_part(&mut key, name)?;
    Some(key)
}

/// The prefix of every template.
pub const TEMPLATES: &[u8] = &[LABEL, 1];

pub fn template(name: &str, version: u32) -> Option<Vec<u8>> {
    let mut key = template_prefix(name)?;
    key.extend_from_slice(&version.to_be_bytes());
    Some(key)
}

pub fn print_job(id: &str) -> Vec<u8> {
    let mut key = vec![LABEL, 2];
    key.extend_from_slice(id.as_bytes());
    key
}

/// An item's issuing counter for `scope`.
pub fn counter(sku: &str, scope: &str) -> Option<Vec<u8>> {
    let mut key = vec![ISSUING, 1];
    push_part(&mut key, sku)?;
    key.extend_from_slice(scope.as_bytes());
    Some(key)
}

/// The prefix of every range of one item.
pub fn range_prefix(sku: &str) -> Option<Vec<u8>> {
    let mut key = vec![ISSUING, 2];
    push_part(&mut key, sku)?;
    Some(key)
}

pub fn range(sku: &str, first: u64) -> Option<Vec<u8>> {
    let mut key = range_prefix(sku)?;
    key.extend_from_slice(&first.to_be_bytes());
    Some(key)
}

pub fn facts(serial: &str) -> Vec<u8> {
    with_prefix(FACTS, serial.as_bytes())
}
/// The one key that holds the layout version.
pub const LAYOUT: &[u8] = b"y";

/// The key layout this build writes. 1: an order's record held its picked serials and a
/// shipment's its dispatched ones; 2: they are `q` and `d` keys. Opening a store upgrades it
/// from 1; a store of a later version is refused.
pub const LAYOUT_VERSION: u32 = 2;

/// The prefix of every pick of one order.
pub fn pick_prefix(order_id: &str) -> Option<Vec<u8>> {
    let mut key = Vec::with_capacity(1 + 2 + order_id.len());
    key.push(PICK);
    push_part(&mut key, order_id)?;
    Some(key)
}

/// The prefix of the picks of one serial for one order.
pub fn pick_serial_prefix(order_id: &str, serial: &str) -> Option<Vec<u8>> {
    let mut key = pick_prefix(order_id)?;
    push_part(&mut key, serial)?;
    Some(key)
}

pub fn pick(order_id: &str, serial: &str, ordinal: u64) -> Option<Vec<u8>> {
    let mut key = pick_serial_prefix(order_id, serial)?;
    key.extend_from_slice(&ordinal.to_be_bytes());
    Some(key)
}

/// The serial and ordinal of a pick key, given the length of its order's [`pick_prefix`].
pub fn pick_parts(key: &[u8], prefix_len: usize) -> Option<(String, u64)> {
    let (serial, rest) = take_part(key.get(prefix_len..)?)?;
    let ordinal = u64::from_be_bytes(rest.try_into().ok()?);
    Some((serial, ordinal))
}

/// The prefix of every dispatched serial of one shipment.
pub fn dispatch_prefix(shipment_id: &str) -> Option<Vec<u8>> {
    let mut key = Vec::with_capacity(1 + 2 + shipment_id.len());
    key.push(DISPATCH);
    push_part(&mut key, shipment_id)?;
    Some(key)
}

pub fn dispatch(shipment_id: &str, ordinal: u32) -> Option<Vec<u8>> {
    let mut key = dispatch_prefix(shipment_id)?;
    key.extend_from_slice(&ordinal.to_be_bytes());
    Some(key)
}

/// A date as the number YYYYMMDD, which sorts like the date.
pub fn day_code(day: crate::barcode::Date) -> u32 {
    u32::try_from(day.year).unwrap_or(0) * 10_000 + u32::from(day.month) * 100 + u32::from(day.day)
}

/// The first KPI key of `day`.
pub fn kpi_day(day: crate::barcode::Date) -> Vec<u8> {
    let mut key = vec![KPI];
    key.extend_from_slice(&day_code(day).to_be_bytes());
    key
}

/// A key past every KPI key of `day` and before those of any later day.
pub fn kpi_after_day(day: crate::barcode::Date) -> Vec<u8> {
    let mut key = vec![KPI];
    key.extend_from_slice(&(day_code(day) + 1).to_be_bytes());
    key
}

pub fn kpi(day: crate::barcode::Date, station: &str, operator: &str) -> Option<Vec<u8>> {
    let mut key = kpi_day(day);
    push_part(&mut key, station)?;
    push_part(&mut key, operator)?;
    Some(key)
}

/// The day, station and operator of a KPI key.
pub fn kpi_parts(key: &[u8]) -> Option<(crate::barcode::Date, String, String)> {
    let rest = key.strip_prefix(&[KPI])?;
    let code = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?);
    let day = crate::barcode::Date::new(
        i32::try_from(code / 10_000).ok()?,
        u8::try_from(code / 100 % 100).ok()?,
        u8::try_from(code % 100).ok()?,
    );
    let (station, rest) = take_part(rest.get(4..)?)?;
    let (operator, rest) = take_part(rest)?;
    rest.is_empty().then_some((day, station, operator))
}

fn take_part(bytes: &[u8]) -> Option<(String, &[u8])> {
    let len = usize::from(u16::from_be_bytes(bytes.get(..2)?.try_into().ok()?));
    let part = std::str::from_utf8(bytes.get(2..2 + len)?).ok()?.to_owned();
    Some((part, &bytes[2 + len..]))
}

/// The prefix of one SKU's stock-index keys.
pub fn stock_prefix(sku: &str) -> Option<Vec<u8>> {
    let mut key = Vec::with_capacity(1 + 2 + sku.len());
    key.push(STOCK);
    push_part(&mut key, sku)?;
    Some(key)
}

/// The bytes between a stock prefix and the serial: expiry, then receipt time.
pub const STOCK_ORDER_LEN: usize = 4 + 8;

/// A stored unit's stock-index key: first expiring first (unknown expiry last), then first
/// received first, then by serial.
pub fn stock(
    sku: &str,
    expiry: Option<crate::barcode::Date>,
    received_at_ms: i64,
    serial: &str,
) -> Option<Vec<u8>> {
    let mut key = stock_prefix(sku)?;
    let expiry = expiry.map_or(u32::MAX, day_code);
    key.extend_from_slice(&expiry.to_be_bytes());
    // Flipping the sign bit makes two's-complement times sort as unsigned bytes.
    key.extend_from_slice(&(received_at_ms.cast_unsigned() ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(serial.as_bytes());
    Some(key)
}

pub fn set(id: &str) -> Vec<u8> {
    with_prefix(SET, id.as_bytes())
}

pub fn mfr(serial: &str) -> Vec<u8> {
    with_prefix(MFR, serial.as_bytes())
}
pub const RECEIPT_ENTRY: u8 = b'a';

pub fn receipt(id: &str) -> Vec<u8> {
    with_prefix(RECEIPT, id.as_bytes())
}

/// The prefix of every entry of one receipt; an entry's key adds its serial.
pub fn receipt_prefix(id: &str) -> Option<Vec<u8>> {
    let mut key = Vec::with_capacity(1 + 2 + id.len());
    key.push(RECEIPT_ENTRY);
    push_part(&mut key, id)?;
    Some(key)
}

pub fn recall(id: &str) -> Vec<u8> {
    with_prefix(RECALL, id.as_bytes())
}

/// Appends `part` with a u16 length prefix; `None` when it is too long to index.
fn push_part(key: &mut Vec<u8>, part: &str) -> Option<()> {
    let len = u16::try_from(part.len()).ok()?;
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(part.as_bytes());
    Some(())
}

/// The prefix of every lot-index key of one SKU's lot; a unit's key adds its serial.
pub fn lot_prefix(sku: &str, lot: &str) -> Option<Vec<u8>> {
    let mut key = Vec::with_capacity(1 + 4 + sku.len() + lot.len());
    key.push(LOT);
    push_part(&mut key, sku)?;
    push_part(&mut key, lot)?;
    Some(key)
}

/// The prefix of every location-index key of one location; a unit's key adds its serial.
pub fn place_prefix(location: &str) -> Option<Vec<u8>> {
    let mut key = Vec::with_capacity(1 + 2 + location.len());
    key.push(PLACE);
    push_part(&mut key, location)?;
    Some(key)
}

/// An index key: a prefix from [`lot_prefix`] or [`place_prefix`] and the serial.
pub fn indexed(prefix: &[u8], serial: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + serial.len());
    key.extend_from_slice(prefix);
    key.extend_from_slice(serial.as_bytes());
    key
}

pub fn order(id: &str) -> Vec<u8> {
    with_prefix(ORDER, id.as_bytes())
}

pub fn shipment(id: &str) -> Vec<u8> {
    with_prefix(SHIPMENT, id.as_bytes())
}

pub fn with_prefix(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + rest.len());
    key.push(prefix);
    key.extend_from_slice(rest);
    key
}

pub fn item(sku: &str) -> Vec<u8> {
    with_prefix(ITEM, sku.as_bytes())
}

pub fn gtin(gtin: &str) -> Vec<u8> {
    with_prefix(GTIN, gtin.as_bytes())
}

pub fn unit(serial: &str) -> Vec<u8> {
    with_prefix(UNIT, serial.as_bytes())
}

pub fn event(seq: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = EVENT;
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

pub fn event_id(id: &Uuid) -> [u8; 17] {
    let mut key = [0u8; 17];
    key[0] = EVENT_ID;
    key[1..].copy_from_slice(id.as_bytes());
    key
}

/// `None` when the serial is too long to index (such scans were rejected as BAD_FORMAT and
/// stay findable through the event log).
pub fn history(serial: &str, seq: u64) -> Option<Vec<u8>> {
    let len = u16::try_from(serial.len()).ok()?;
    let mut key = Vec::with_capacity(1 + 2 + serial.len() + 8);
    key.push(HISTORY);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(serial.as_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    Some(key)
}

/// The sequence number at the end of a history key.
pub fn history_seq(key: &[u8]) -> Option<u64> {
    let tail = key.len().checked_sub(8).map(|start| &key[start..])?;
    Some(u64::from_be_bytes(tail.try_into().ok()?))
}

pub fn seq_from_value(value: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(value.try_into().ok()?))
}

pub fn seq_from_event_key(key: &[u8]) -> Option<u64> {
    match key.split_first() {
        Some((&EVENT, rest)) => seq_from_value(rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keys_of_one_serial_never_interleave_with_a_longer_one() {
        let a = history("AB", u64::MAX).unwrap();
        let b = history("ABC", 0).unwrap();
        // Different lengths sort by the length prefix, so a range over "AB" stops before "ABC".
        assert!(a < b);
        assert_eq!(history_seq(&a), Some(u64::MAX));
        assert!(history(&"x".repeat(70_000), 1).is_none());
    }

    #[test]
    fn pick_keys_of_one_order_never_interleave_with_another() {
        let prefix = pick_prefix("O1").unwrap();
        let key = pick("O1", "SN01", 7).unwrap();
        assert!(key.starts_with(&prefix));
        assert!(key.starts_with(&pick_serial_prefix("O1", "SN01").unwrap()));
        assert!(!key.starts_with(&pick_serial_prefix("O1", "SN0").unwrap()));
        assert!(!pick("O10", "SN01", 0).unwrap().starts_with(&prefix));
        assert_eq!(pick_parts(&key, prefix.len()), Some(("SN01".to_owned(), 7)));
        assert_eq!(pick_parts(&key[..key.len() - 1], prefix.len()), None);
        // Dispatched serials sort in scan order.
        assert!(dispatch("S1", 255).unwrap() < dispatch("S1", 256).unwrap());
        assert!(
            !dispatch("S10", 0)
                .unwrap()
                .starts_with(&dispatch_prefix("S1").unwrap())
        );
    }

    #[test]
    fn event_keys_sort_by_sequence() {
        assert!(event(255) < event(256));
        assert_eq!(seq_from_event_key(&event(42)), Some(42));
        assert_eq!(seq_from_event_key(b"u42"), None);
    }
}
