//! How the CLI prints replies, items, units and events: aligned text for people, or one JSON
//! object per line with stable field names (documented in the README) for scripts. Enum
//! values print as their names without the proto prefix: `ACCEPTED`, `DUPLICATE_SERIAL`.

use serde_json::json;

use crate::domain::time::format_utc;
use crate::proto::v1 as pb;

/// `OUTCOME_ACCEPTED` → `ACCEPTED`.
pub fn short(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_owned()
}

pub(super) fn outcome(value: i32) -> String {
    pb::Outcome::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "OUTCOME_"),
    )
}

pub(super) fn reason(value: i32) -> String {
    pb::Reason::try_from(value)
        .map_or_else(|_| value.to_string(), |v| short(v.as_str_name(), "REASON_"))
}

fn feedback(value: i32) -> String {
    pb::Feedback::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "FEEDBACK_"),
    )
}

pub(super) fn state(value: i32) -> String {
    pb::UnitState::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "UNIT_STATE_"),
    )
}

pub(super) fn action(value: i32) -> String {
    pb::Action::try_from(value)
        .map_or_else(|_| value.to_string(), |v| short(v.as_str_name(), "ACTION_"))
}

pub(super) fn entry_mode(value: i32) -> String {
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
            "issuing": item.issuing.as_ref().map(|p| json!({
                "strategy": short(p.strategy().as_str_name(), "ISSUE_STRATEGY_"),
                "prefix": p.prefix,
                "width": p.width,
                "random_length": p.random_length,
                "reprint": short(p.reprint().as_str_name(), "REPRINT_POLICY_"),
                "qr": p.qr,
            })),
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
        if let Some(policy) = &item.issuing {
            println!("  issuing {}", issuing_text(policy));
        }
    }
}

/// An issuing policy in a line: the strategy with its settings, the reprint policy, the QR.
pub fn issuing_text(policy: &pb::IssuePolicy) -> String {
    let strategy = policy.strategy();
    let settings = match strategy {
        pb::IssueStrategy::Sequential => {
            format!(" prefix {:?} width {}", policy.prefix, policy.width)
        }
        pb::IssueStrategy::Dated => format!(" prefix {:?}", policy.prefix),
        pb::IssueStrategy::Plant => format!(" width {}", policy.width),
        pb::IssueStrategy::Random => format!(" length {} + check", policy.random_length),
        pb::IssueStrategy::Sgtin | pb::IssueStrategy::Unspecified => String::new(),
    };
    format!(
        "{}{settings}  reprint {}  qr {}",
        short(strategy.as_str_name(), "ISSUE_STRATEGY_"),
        short(policy.reprint().as_str_name(), "REPRINT_POLICY_"),
        if policy.qr.is_empty() {
            "default"
        } else {
            &policy.qr
        }
    )
}

fn unit_json(unit: &pb::Unit) -> serde_json::Value {
    json!({
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
        "received_at_ms": unit.received_at_ms,
        "hold": unit.hold,
        "hold_reference": unit.hold_reference,
        "order_id": unit.order_id,
        "shipment_id": unit.shipment_id,
        "customer": unit.customer,
        "dispatched_at_ms": unit.dispatched_at_ms,
        "mfr_serial": unit.mfr_serial,
        "parent": unit.parent,
    })
}

/// Where a unit is now: its location, or the customer and shipment it went to.
fn whereabouts(unit: &pb::Unit) -> String {
    if !unit.customer.is_empty() && unit.state() == pb::UnitState::Dispatched {
        format!(
            "customer {} shipment {} since {}",
            unit.customer,
            unit.shipment_id,
            format_utc(unit.dispatched_at_ms)
        )
    } else if unit.location.is_empty() {
        "-".to_owned()
    } else {
        unit.location.clone()
    }
}

fn hold_text(unit: &pb::Unit) -> String {
    if unit.hold.is_empty() {
        String::new()
    } else {
        format!("{} ({})", unit.hold, unit.hold_reference)
    }
}

pub fn print_unit(unit: &pb::Unit, as_json: bool) {
    if as_json {
        println!("{}", unit_json(unit));
        return;
    }
    let dash = |text: &str| {
        if text.is_empty() {
            "-".to_owned()
        } else {
            text.to_owned()
        }
    };
    println!("serial      {}", unit.serial);
    println!("sku         {}", unit.sku);
    if !unit.mfr_serial.is_empty() {
        println!("mfr serial  {}", unit.mfr_serial);
    }
    println!("gtin        {}", dash(&unit.gtin));
    println!("lot         {}", dash(&unit.lot));
    if !unit.expiry.is_empty() {
        println!("expiry      {}", unit.expiry);
    }
    println!("state       {}", state(unit.state));
    println!("where       {}", whereabouts(unit));
    if !unit.hold.is_empty() {
        println!("hold        {}", hold_text(unit));
    }
    if !unit.order_id.is_empty() {
        println!("order       {}", unit.order_id);
    }
    println!(
        "first seen  {} at {} (event {})",
        format_utc(unit.first_seen_at_ms),
        unit.first_seen_station,
        unit.first_seen_seq
    );
    println!("received    {}", format_utc(unit.received_at_ms));
    if !unit.parent.is_empty() {
        println!("packed in   {}", unit.parent);
    }
    println!("last event  {}", unit.last_seq);
}

/// Directed picking's advice: which unit, where, and why that one.
pub fn print_next_pick(advice: &pb::NextPickResponse, as_json: bool) {
    let unit = advice.unit.clone().unwrap_or_default();
    if as_json {
        let value = json!({
            "order_id": advice.order_id,
            "line": advice.line,
            "sku": advice.sku,
            "lot": advice.lot,
            "remaining": advice.remaining,
            "strategy": advice.strategy,
            "skipped_held": advice.skipped_held,
            "skipped_expired": advice.skipped_expired,
            "unit": unit_json(&unit),
        });
        println!("{value}");
        return;
    }
    let why = if unit.expiry.is_empty() {
        format!(
            "{}: received {}",
            advice.strategy,
            format_utc(unit.received_at_ms)
        )
    } else {
        format!("{}: expires {}", advice.strategy, unit.expiry)
    };
    println!(
        "pick {} at {} for order {} line {} ({}{}, {} to go); {why}",
        unit.serial,
        unit.location,
        advice.order_id,
        advice.line,
        advice.sku,
        if advice.lot.is_empty() {
            String::new()
        } else {
            format!(" lot {}", advice.lot)
        },
        advice.remaining
    );
    if advice.skipped_held + advice.skipped_expired > 0 {
        println!(
            "  passed over {} on hold and {} past expiry",
            advice.skipped_held, advice.skipped_expired
        );
    }
}

/// A trace: the sets above the id, the tree of its top-most set (the id marked), its events.
pub fn print_trace(trace: &pb::TraceResponse, as_json: bool) {
    if as_json {
        let nodes: Vec<serde_json::Value> = trace
            .nodes
            .iter()
            .map(|n| {
                json!({
                    "id": n.id,
                    "depth": n.depth,
                    "kind": n.kind,
                    "units": n.units,
                    "children": n.children,
                    "unit": n.unit.as_ref().map(unit_json),
                })
            })
            .collect();
        let events: Vec<serde_json::Value> = trace.events.iter().map(event_json).collect();
        println!(
            "{}",
            json!({
                "id": trace.id,
                "ancestors": trace.ancestors,
                "nodes": nodes,
                "events": events,
            })
        );
        return;
    }
    if trace.ancestors.is_empty() {
        println!("{}: packed in nothing", trace.id);
    } else {
        println!("{}: packed in {}", trace.id, trace.ancestors.join(" in "));
    }
    for node in &trace.nodes {
        let indent = "  ".repeat(node.depth as usize);
        let marker = if node.id == trace.id { "  <-" } else { "" };
        let what = match &node.unit {
            Some(unit) => format!("{}  {}  {}", unit.sku, state(unit.state), whereabouts(unit)),
            None => String::new(),
        };
        let holds = if node.kind == "UNIT" {
            String::new()
        } else {
            format!("  ({} children, {} units)", node.children, node.units)
        };
        println!("{indent}{} {}  {what}{holds}{marker}", node.kind, node.id);
    }
    for event in &trace.events {
        print_event(event, false);
    }
}

/// One unit per line, for listings and recall reports.
pub fn print_unit_line(unit: &pb::Unit, as_json: bool) {
    if as_json {
        println!("{}", unit_json(unit));
        return;
    }
    println!(
        "{}  {}  lot {}  {}  {}{}",
        unit.serial,
        unit.sku,
        if unit.lot.is_empty() { "-" } else { &unit.lot },
        state(unit.state),
        whereabouts(unit),
        if unit.hold.is_empty() {
            String::new()
        } else {
            format!("  hold {}", hold_text(unit))
        }
    );
}

pub fn print_recall(recall: &pb::Recall, as_json: bool) {
    let scope = match &recall.scope {
        Some(pb::recall::Scope::Lot(l)) => format!("lot {} of SKU {}", l.lot, l.sku),
        Some(pb::recall::Scope::Serials(r)) => format!("serials {} to {}", r.first, r.last),
        Some(pb::recall::Scope::Received(r)) => format!(
            "received from {} to {}",
            format_utc(r.from_ms),
            format_utc(r.to_ms)
        ),
        None => "-".to_owned(),
    };
    let by_state: Vec<(String, u64)> = recall
        .by_state
        .iter()
        .map(|c| (state(c.state), c.units))
        .collect();
    if as_json {
        let counts: serde_json::Map<String, serde_json::Value> = by_state
            .iter()
            .map(|(s, n)| (s.clone(), json!(n)))
            .collect();
        let value = json!({
            "id": recall.id,
            "scope": scope,
            "reason": recall.reason,
            "created_by": recall.created_by,
            "created_at_ms": recall.created_at_ms,
            "released": recall.released,
            "released_at_ms": recall.released_at_ms,
            "released_by": recall.released_by,
            "affected": recall.affected,
            "by_state": counts,
        });
        println!("{value}");
        return;
    }
    let status = if recall.released {
        format!(
            "RELEASED by {} on {}",
            recall.released_by,
            format_utc(recall.released_at_ms)
        )
    } else {
        "ACTIVE".to_owned()
    };
    println!(
        "recall {}  {status}  {scope}  by {} on {}: {}",
        recall.id,
        recall.created_by,
        format_utc(recall.created_at_ms),
        recall.reason
    );
    if !by_state.is_empty() || recall.affected > 0 {
        let counts: Vec<String> = by_state.iter().map(|(s, n)| format!("{s} {n}")).collect();
        println!("  {} units: {}", recall.affected, counts.join(", "));
    }
}

fn event_json(event: &pb::Event) -> serde_json::Value {
    json!({
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
            "location": event.location,
            "reference": event.reference,
    })
}

pub fn print_event(event: &pb::Event, as_json: bool) {
    if as_json {
        println!("{}", event_json(event));
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

fn receipt_status(value: i32) -> String {
    pb::ReceiptStatus::try_from(value).map_or_else(
        |_| value.to_string(),
        |v| short(v.as_str_name(), "RECEIPT_STATUS_"),
    )
}

pub fn print_receipt(receipt: &pb::Receipt, as_json: bool) {
    let policy = pb::UnexpectedPolicy::try_from(receipt.policy).map_or_else(
        |_| receipt.policy.to_string(),
        |v| short(v.as_str_name(), "UNEXPECTED_POLICY_"),
    );
    if as_json {
        let lines: Vec<serde_json::Value> = receipt
            .lines
            .iter()
            .map(|l| json!({"sku": l.sku, "lot": l.lot, "quantity": l.quantity, "received": l.received}))
            .collect();
        let value = json!({
            "id": receipt.id,
            "supplier": receipt.supplier,
            "policy": policy,
            "lines": lines,
            "expected_serials": receipt.expected_serials,
            "received_expected": receipt.received_expected,
            "unexpected": receipt.unexpected,
            "over": receipt.over,
            "short": receipt.short,
            "received": receipt.received,
            "created_at_ms": receipt.created_at_ms,
            "closed": receipt.closed,
            "closed_at_ms": receipt.closed_at_ms,
            "closed_by": receipt.closed_by,
        });
        println!("{value}");
        return;
    }
    let status = if receipt.closed {
        format!(
            "CLOSED by {} on {}",
            receipt.closed_by,
            format_utc(receipt.closed_at_ms)
        )
    } else {
        "OPEN".to_owned()
    };
    println!(
        "receipt {}  {status}  {}policy {policy}",
        receipt.id,
        if receipt.supplier.is_empty() {
            String::new()
        } else {
            format!("supplier {}  ", receipt.supplier)
        }
    );
    println!(
        "  received {}  expected serials {}/{}  short {}  unexpected {}  over {}",
        receipt.received,
        receipt.received_expected,
        receipt.expected_serials,
        receipt.short,
        receipt.unexpected,
        receipt.over
    );
    for (i, line) in receipt.lines.iter().enumerate() {
        println!(
            "  line {}: {}{} {}/{}",
            i + 1,
            line.sku,
            if line.lot.is_empty() {
                String::new()
            } else {
                format!(" lot {}", line.lot)
            },
            line.received,
            line.quantity
        );
    }
}

pub fn print_receipt_entry(entry: &pb::ReceiptEntry, as_json: bool) {
    let status = receipt_status(entry.status);
    if as_json {
        println!(
            "{}",
            json!({"serial": entry.serial, "sku": entry.sku, "status": status})
        );
    } else {
        println!("{:<16} {}  {}", status, entry.serial, entry.sku);
    }
}
