//! How the CLI prints replies, items, units and events: aligned text for people, or one JSON
//! object per line with stable field names (documented in the README) for scripts. Enum
//! values print as their names without the proto prefix: `ACCEPTED`, `DUPLICATE_SERIAL`.

use serde_json::json;

use crate::domain::time::format_utc;
use crate::proto::v1 as pb;

/// `OUTCOME_ACCEPTED` → `ACCEPTED`.
fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

fn outcome(value: i32) -> String {
    pb::Outcome::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "OUTCOME_"),
    )
}

fn reason(value: i32) -> String {
    pb::Reason::try_from(value)
        .map_or_else(|_| value.to_string(), |v| short(v.as_str_name(), "REASON_"))
}

fn feedback(value: i32) -> String {
    pb::Feedback::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "FEEDBACK_"),
    )
}

fn state(value: i32) -> String {
    pb::UnitState::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "UNIT_STATE_"),
    )
}

fn action(value: i32) -> String {
    pb::Action::try_from(value)
        .map_or_else(|_| value.to_string(), |v| short(v.as_str_name(), "ACTION_"))
}

fn entry_mode(value: i32) -> String {
    pb::EntryMode::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "ENTRY_MODE_"),
    )
}

fn charset(value: i32) -> String {
    pb::Charset::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "CHARSET_"),
    )
}

fn check(value: i32) -> String {
    pb::CheckScheme::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "CHECK_SCHEME_"),
    )
}

fn confusables(value: i32) -> String {
    pb::Confusables::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "CONFUSABLES_"),
    )
}

/// A scan reply as the stable JSON object of `--json`.
pub fn reply_json(reply: &pb::ScanReply) -> serde_json::Value {
    json!({
        "event_id": reply.event_id,
        "outcome": outcome(reply.outcome),
        "reason": reason(reply.reason),
        "message": reply.message,
        "feedback": feedback(reply.feedback),
        "state": state(reply.state),
        "seq": reply.seq,
        "serial": reply.serial,
        "sku": reply.sku,
        "gtin": reply.gtin,
        "lot": reply.lot,
        "expiry": reply.expiry,
        "replayed": reply.replayed,
    })
}

/// A scan reply as one aligned line of text.
pub fn reply_text(reply: &pb::ScanReply) -> String {
    format!(
        "{:<8} {:<18} seq {:<8} {}",
        outcome(reply.outcome),
        reason(reply.reason),
        reply.seq,
        reply.message
    )
}

pub fn print_reply(reply: &pb::ScanReply, as_json: bool) {
    if as_json {
        println!("{}", reply_json(reply));
    } else {
        println!("{}", reply_text(reply));
    }
}

pub fn print_item(item: &pb::Item, created: Option<bool>, as_json: bool) {
    let rule = item.serial_rule.clone().unwrap_or_default();
    if as_json {
        let mut value = json!({
            "sku": item.sku,
            "gtin": item.gtin,
            "description": item.description,
            "lot_tracked": item.lot_tracked,
            "warranty_months": item.warranty_months,
            "serial_rule": {
                "length_min": rule.length_min,
                "length_max": rule.length_max,
                "charset": charset(rule.charset),
                "prefix": rule.prefix,
                "check": check(rule.check),
                "pattern": rule.pattern,
                "confusables": confusables(rule.confusables),
            },
            "updated_at_ms": item.updated_at_ms,
        });
        if let (Some(created), Some(object)) = (created, value.as_object_mut()) {
            object.insert("created".to_owned(), json!(created));
        }
        println!("{value}");
    } else {
        let verb = match created {
            Some(true) => "created ",
            Some(false) => "updated ",
            None => "",
        };
        println!(
            "{verb}{}  gtin {}  lot tracked {}  warranty {} months  serial {}..{} {}{}{}{}{}  {}",
            item.sku,
            if item.gtin.is_empty() {
                "-"
            } else {
                &item.gtin
            },
            if item.lot_tracked { "yes" } else { "no" },
            item.warranty_months,
            rule.length_min,
            rule.length_max,
            charset(rule.charset),
            if rule.prefix.is_empty() {
                String::new()
            } else {
                format!(" prefix {:?}", rule.prefix)
            },
            if rule.pattern.is_empty() {
                String::new()
            } else {
                format!(" pattern {}", rule.pattern)
            },
            match confusables(rule.confusables).as_str() {
                "ALLOW" => String::new(),
                policy => format!(" confusables {policy}"),
            },
            format_args!(" check {}", check(rule.check)),
            item.description
        );
    }
}

pub fn print_unit(unit: &pb::Unit, as_json: bool) {
    if as_json {
        let value = json!({
            "serial": unit.serial,
            "sku": unit.sku,
            "gtin": unit.gtin,
            "lot": unit.lot,
            "expiry": unit.expiry,
            "state": state(unit.state),
            "location": unit.location,
            "first_seen_station": unit.first_seen_station,
            "first_seen_at_ms": unit.first_seen_at_ms,
            "first_seen_seq": unit.first_seen_seq,
            "last_seq": unit.last_seq,
        });
        println!("{value}");
    } else {
        println!("serial      {}", unit.serial);
        println!("sku         {}", unit.sku);
        println!(
            "gtin        {}",
            if unit.gtin.is_empty() {
                "-"
            } else {
                &unit.gtin
            }
        );
        println!(
            "lot         {}",
            if unit.lot.is_empty() { "-" } else { &unit.lot }
        );
        if !unit.expiry.is_empty() {
            println!("expiry      {}", unit.expiry);
        }
        println!("state       {}", state(unit.state));
        println!("location    {}", unit.location);
        println!(
            "first seen  {} at {} (event {})",
            format_utc(unit.first_seen_at_ms),
            unit.first_seen_station,
            unit.first_seen_seq
        );
        println!("last event  {}", unit.last_seq);
    }
}

pub fn print_event(event: &pb::Event, as_json: bool) {
    if as_json {
        let value = json!({
            "seq": event.seq,
            "event_id": event.event_id,
            "recorded_at_ms": event.recorded_at_ms,
            "client_time_ms": event.client_time_ms,
            "station": event.station,
            "operator": event.operator,
            "action": action(event.action),
            "raw": String::from_utf8_lossy(&event.raw),
            "entry_mode": entry_mode(event.entry_mode),
            "serial": event.serial,
            "sku": event.sku,
            "gtin": event.gtin,
            "lot": event.lot,
            "expiry": event.expiry,
            "outcome": outcome(event.outcome),
            "reason": reason(event.reason),
            "message": event.message,
            "state_after": state(event.state_after),
        });
        println!("{value}");
    } else {
        println!(
            "{:>8}  {}  {:<8} {:<8} {:<18} {:<12} {}",
            event.seq,
            format_utc(event.recorded_at_ms),
            action(event.action),
            outcome(event.outcome),
            reason(event.reason),
            event.station,
            event.message
        );
    }
}

pub fn print_bench(report: &crate::bench::ReceiveReport, as_json: bool) {
    if as_json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// `decode`: the JSON fields are a stable contract (README, "serialtrack decode"); absent
/// values are `null`.
pub fn print_decoded(d: &pb::DecodeResponse, as_json: bool) {
    if as_json {
        let error = d.error.as_ref().map(|e| {
            json!({
                "kind": e.kind,
                "ai": non_empty(&e.ai),
                "position": (e.position > 0).then_some(e.position),
                "message": e.message,
            })
        });
        let elements: Vec<_> = d
            .elements
            .iter()
            .map(|e| json!({"ai": e.ai, "title": e.title, "value": e.value}))
            .collect();
        let value = json!({
            "valid": d.valid,
            "symbology": non_empty(&d.symbology),
            "symbology_name": non_empty(&d.symbology_name),
            "kind": non_empty(&d.kind),
            "elements": elements,
            "gtin": non_empty(&d.gtin),
            "serial": non_empty(&d.serial),
            "lot": non_empty(&d.lot),
            "expiry": non_empty(&d.expiry),
            "digital_link": non_empty(&d.digital_link),
            "bracketed": non_empty(&d.bracketed),
            "warnings": d.warnings,
            "error": error,
        });
        println!("{value}");
        return;
    }
    if let Some(e) = &d.error {
        let mut at = String::new();
        if !e.ai.is_empty() {
            at.push_str(&format!(" AI ({})", e.ai));
        }
        if e.position > 0 {
            at.push_str(&format!(" position {}", e.position));
        }
        println!("INVALID {}{at}: {}", e.kind, e.message);
        return;
    }
    let symbology = match (d.symbology.as_str(), d.symbology_name.as_str()) {
        ("", _) => "no symbology identifier".to_owned(),
        (id, name) => format!("{name} ({id})"),
    };
    println!("VALID {}, {symbology}", d.kind);
    for e in &d.elements {
        println!("  ({}) {:<20} {}", e.ai, e.title, e.value);
    }
    for (label, value) in [
        ("gtin", &d.gtin),
        ("serial", &d.serial),
        ("lot", &d.lot),
        ("expiry", &d.expiry),
        ("bracketed", &d.bracketed),
        ("digital link", &d.digital_link),
    ] {
        if !value.is_empty() {
            println!("{label:<13}{value}");
        }
    }
    for w in &d.warnings {
        println!("warning: {w}");
    }
}

pub fn print_order(order: &pb::Order, as_json: bool) {
    if as_json {
        let lines: Vec<_> = order
            .lines
            .iter()
            .map(
                |l| json!({"sku": l.sku, "lot": l.lot, "quantity": l.quantity, "picked": l.picked}),
            )
            .collect();
        let value = json!({
            "id": order.id,
            "customer": order.customer,
            "lines": lines,
            "created_at_ms": order.created_at_ms,
            "shipment_id": order.shipment_id,
        });
        println!("{value}");
        return;
    }
    println!(
        "order {}  customer {}  shipment {}",
        order.id,
        order.customer,
        non_empty(&order.shipment_id).unwrap_or("-")
    );
    for line in &order.lines {
        println!(
            "  {}{}  picked {}/{}  {}",
            line.sku,
            non_empty(&line.lot)
                .map(|l| format!(" lot {l}"))
                .unwrap_or_default(),
            line.picked.len(),
            line.quantity,
            line.picked.join(" ")
        );
    }
}

pub fn print_shipment(shipment: &pb::Shipment, as_json: bool) {
    if as_json {
        let value = json!({
            "id": shipment.id,
            "order_id": shipment.order_id,
            "customer": shipment.customer,
            "dispatched": shipment.dispatched,
            "created_at_ms": shipment.created_at_ms,
            "closed": shipment.closed,
            "closed_at_ms": shipment.closed_at_ms,
            "picked": shipment.picked,
            "verified": shipment.verified,
            "verification_percent": shipment.verification_percent,
            "override_by": shipment.override_by,
        });
        println!("{value}");
        return;
    }
    println!(
        "shipment {}  order {}  customer {}  dispatched {}",
        shipment.id,
        shipment.order_id,
        shipment.customer,
        shipment.dispatched.len()
    );
    if shipment.closed {
        println!(
            "closed {}: verified {} of {} picked ({}%){}",
            format_utc(shipment.closed_at_ms),
            shipment.verified,
            shipment.picked,
            shipment.verification_percent,
            non_empty(&shipment.override_by)
                .map(|s| format!(", override by {s}"))
                .unwrap_or_default()
        );
    }
}

pub fn print_decode_bench(report: &crate::bench::DecodeReport, as_json: bool) {
    if as_json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
}
