//! `order`, `shipment` and `recall`: the documents pick and dispatch scans are checked
//! against; `unit list`'s filters.

use crate::client::Conn;
use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use crate::domain::time::days_from_civil;
use crate::proto::v1 as pb;
use pb::list_units_request::Filter;
use pb::unit_service_client::UnitServiceClient;
use pb::warehouse_service_client::WarehouseServiceClient;

use super::{EXIT_OK, output, request_failed};

/// Which units: exactly one of the filters.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
pub struct UnitFilter {
    /// `SKU:LOT`: every unit of a SKU's lot.
    #[arg(long)]
    lot: Option<String>,
    /// `FIRST..LAST`: serials from FIRST to LAST inclusive, in byte order.
    #[arg(long)]
    serials: Option<String>,
    /// `FROM..TO`: units received from day FROM to day TO (YYYY-MM-DD, UTC, both included).
    #[arg(long)]
    received: Option<String>,
    #[arg(long)]
    location: Option<String>,
    #[arg(long)]
    order: Option<String>,
    #[arg(long)]
    shipment: Option<String>,
    /// Every unit.
    #[arg(long)]
    all: bool,
}

fn split_pair<'t>(
    flag: &str,
    text: &'t str,
    sep: &str,
    shape: &str,
) -> anyhow::Result<(&'t str, &'t str)> {
    text.split_once(sep)
        .with_context(|| format!("--{flag} {text:?} must be {shape}"))
}

/// `YYYY-MM-DD` as milliseconds since the epoch at 00:00 UTC.
fn day_ms(text: &str) -> anyhow::Result<i64> {
    let parts: Vec<&str> = text.split('-').collect();
    let parsed = match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            match (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) {
                (Ok(y), Ok(m @ 1..=12), Ok(d @ 1..=31)) => Some(days_from_civil(y, m, d)),
                _ => None,
            }
        }
        _ => None,
    };
    let days = parsed.with_context(|| format!("{text:?} is not a date like 2026-11-23"))?;
    Ok(days * 86_400_000)
}

impl UnitFilter {
    pub fn to_pb(&self) -> anyhow::Result<Filter> {
        if let Some(text) = &self.lot {
            let (sku, lot) = split_pair("lot", text, ":", "SKU:LOT")?;
            return Ok(Filter::Lot(pb::LotScope {
                sku: sku.to_owned(),
                lot: lot.to_owned(),
            }));
        }
        if let Some(text) = &self.serials {
            let (first, last) = split_pair("serials", text, "..", "FIRST..LAST")?;
            return Ok(Filter::Serials(pb::SerialRangeScope {
                first: first.to_owned(),
                last: last.to_owned(),
            }));
        }
        if let Some(text) = &self.received {
            let (from, to) = split_pair("received", text, "..", "YYYY-MM-DD..YYYY-MM-DD")?;
            return Ok(Filter::Received(pb::ReceivedScope {
                from_ms: day_ms(from)?,
                to_ms: day_ms(to)? + 86_400_000,
            }));
        }
        if let Some(location) = &self.location {
            return Ok(Filter::Location(location.clone()));
        }
        if let Some(order) = &self.order {
            return Ok(Filter::OrderId(order.clone()));
        }
        if let Some(shipment) = &self.shipment {
            return Ok(Filter::ShipmentId(shipment.clone()));
        }
        if self.all {
            return Ok(Filter::All(true));
        }
        bail!(
            "name the units: --lot, --serials, --received, --location, --order, --shipment or --all"
        )
    }

    /// A recall's scope: only lots, serial ranges and receive dates can be recalled.
    fn to_scope(&self) -> anyhow::Result<pb::recall::Scope> {
        Ok(match self.to_pb()? {
            Filter::Lot(lot) => pb::recall::Scope::Lot(lot),
            Filter::Serials(range) => pb::recall::Scope::Serials(range),
            Filter::Received(range) => pb::recall::Scope::Received(range),
            _ => bail!("a recall covers a --lot, --serials or --received range"),
        })
    }
}

/// Calls `each` with every unit `filter` selects, a page at a time.
pub async fn each_unit(
    client: &mut UnitServiceClient<Conn>,
    filter: Filter,
    mut each: impl FnMut(&pb::Unit),
) -> anyhow::Result<()> {
    let mut after_serial = String::new();
    loop {
        let page = client
            .list_units(pb::ListUnitsRequest {
                filter: Some(filter.clone()),
                after_serial,
                limit: 1000,
            })
            .await
            .map_err(request_failed)?
            .into_inner();
        page.units.iter().for_each(&mut each);
        if page.next_after_serial.is_empty() {
            return Ok(());
        }
        after_serial = page.next_after_serial;
    }
}

#[derive(Subcommand, Debug)]
pub enum RecallCommand {
    /// Recall a lot (`--lot SKU:LOT`), a serial range (`--serials FIRST..LAST`) or the units
    /// received on some days (`--received FROM..TO`): they are held from pick and dispatch.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        reason: String,
        #[arg(long, env = "USER")]
        operator: String,
        #[command(flatten)]
        scope: UnitFilter,
    },
    Show {
        id: String,
    },
    List,
    /// Lift a recall's hold.
    Release {
        id: String,
        #[arg(long, env = "USER")]
        by: String,
    },
    /// Every unit the recall covers and where it is now, one per line.
    Report {
        id: String,
    },
}

pub async fn recall(channel: Conn, json: bool, command: RecallCommand) -> anyhow::Result<u8> {
    let mut client = WarehouseServiceClient::new(channel);
    let response = match command {
        RecallCommand::Create {
            id,
            reason,
            operator,
            scope,
        } => {
            let scope = scope.to_scope()?;
            client
                .create_recall(pb::CreateRecallRequest {
                    recall: Some(pb::Recall {
                        id,
                        scope: Some(scope),
                        reason,
                        created_by: operator,
                        ..Default::default()
                    }),
                })
                .await
        }
        RecallCommand::Show { id } => client.get_recall(pb::GetRecallRequest { id }).await,
        RecallCommand::Release { id, by } => {
            client
                .release_recall(pb::ReleaseRecallRequest {
                    id,
                    released_by: by,
                })
                .await
        }
        RecallCommand::List => {
            let recalls = client
                .list_recalls(pb::ListRecallsRequest {})
                .await
                .map_err(request_failed)?
                .into_inner()
                .recalls;
            for recall in &recalls {
                output::print_recall(recall, json);
            }
            return Ok(EXIT_OK);
        }
        RecallCommand::Report { id } => {
            let mut chunks = client
                .recall_report(pb::RecallReportRequest { id })
                .await
                .map_err(request_failed)?
                .into_inner();
            while let Some(chunk) = chunks.message().await.map_err(request_failed)? {
                for unit in &chunk.units {
                    output::print_unit_line(unit, json);
                }
            }
            return Ok(EXIT_OK);
        }
    };
    let recall = response
        .map_err(request_failed)?
        .into_inner()
        .recall
        .unwrap_or_default();
    output::print_recall(&recall, json);
    Ok(EXIT_OK)
}

#[derive(Subcommand, Debug)]
pub enum OrderCommand {
    /// Create an order: `--line SKU:QUANTITY` or `--line SKU:QUANTITY:LOT`, repeated.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        customer: String,
        #[arg(long = "line", required = true)]
        lines: Vec<String>,
    },
    Show {
        id: String,
    },
    /// Directed picking: the unit to pick next for a line (FEFO, then FIFO) and where it is.
    Next {
        id: String,
        /// 1-based line; the first line that still needs units when left out.
        #[arg(long, default_value_t = 0)]
        line: u32,
    },
}

#[derive(Subcommand, Debug)]
pub enum ShipmentCommand {
    /// Create the shipment of an order.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long)]
        order: String,
    },
    Show {
        id: String,
    },
    /// Close a shipment; refused below 100 % dispatch verification unless a supervisor
    /// overrides.
    Close {
        id: String,
        #[arg(long)]
        override_by: Option<String>,
    },
}

/// `SKU:QUANTITY[:LOT]` as an order line.
pub fn parse_line(text: &str) -> anyhow::Result<pb::OrderLine> {
    let mut parts = text.splitn(3, ':');
    let (Some(sku), Some(quantity)) = (parts.next(), parts.next()) else {
        bail!("--line {text:?} must be SKU:QUANTITY or SKU:QUANTITY:LOT");
    };
    let Ok(quantity) = quantity.parse::<u32>() else {
        bail!("--line {text:?}: quantity {quantity:?} is not a whole number");
    };
    Ok(pb::OrderLine {
        sku: sku.to_owned(),
        lot: parts.next().unwrap_or_default().to_owned(),
        quantity,
        picked: Vec::new(),
    })
}

pub async fn order(channel: Conn, json: bool, command: OrderCommand) -> anyhow::Result<u8> {
    let mut client = WarehouseServiceClient::new(channel);
    let response = match command {
        OrderCommand::Create {
            id,
            customer,
            lines,
        } => {
            let lines = lines
                .iter()
                .map(|l| parse_line(l))
                .collect::<anyhow::Result<Vec<_>>>()?;
            client
                .create_order(pb::CreateOrderRequest {
                    order: Some(pb::Order {
                        id,
                        customer,
                        lines,
                        ..Default::default()
                    }),
                })
                .await
        }
        OrderCommand::Show { id } => client.get_order(pb::GetOrderRequest { id }).await,
        OrderCommand::Next { id, line } => {
            let advice = client
                .next_pick(pb::NextPickRequest { order_id: id, line })
                .await
                .map_err(request_failed)?
                .into_inner();
            output::print_next_pick(&advice, json);
            return Ok(EXIT_OK);
        }
    };
    let order = response
        .map_err(request_failed)?
        .into_inner()
        .order
        .unwrap_or_default();
    output::print_order(&order, json);
    Ok(EXIT_OK)
}

pub async fn shipment(channel: Conn, json: bool, command: ShipmentCommand) -> anyhow::Result<u8> {
    let mut client = WarehouseServiceClient::new(channel);
    let response = match command {
        ShipmentCommand::Create { id, order } => {
            client
                .create_shipment(pb::CreateShipmentRequest {
                    id,
                    order_id: order,
                })
                .await
        }
        ShipmentCommand::Show { id } => client.get_shipment(pb::GetShipmentRequest { id }).await,
        ShipmentCommand::Close { id, override_by } => {
            client
                .close_shipment(pb::CloseShipmentRequest {
                    id,
                    override_by: override_by.unwrap_or_default(),
                })
                .await
        }
    };
    let shipment = response
        .map_err(request_failed)?
        .into_inner()
        .shipment
        .unwrap_or_default();
    output::print_shipment(&shipment, json);
    Ok(EXIT_OK)
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum PolicyArg {
    Warn,
    Reject,
}

#[derive(Subcommand, Debug)]
pub enum ReceiptCommand {
    /// Create a receipt: expected serials from a CSV file (`SKU,SERIAL` per line, an optional
    /// `sku,serial` header; `-` reads stdin) and/or `--expect SKU:QUANTITY[:LOT]` lines.
    Create {
        #[arg(long)]
        id: String,
        #[arg(long, default_value = "")]
        supplier: String,
        /// Unexpected and over-quantity units: received with a warning, or refused.
        #[arg(long, value_enum, default_value_t = PolicyArg::Warn)]
        policy: PolicyArg,
        #[arg(long = "expect")]
        lines: Vec<String>,
        #[arg(long)]
        serials: Option<std::path::PathBuf>,
    },
    Show {
        id: String,
    },
    /// Close a receipt and list its discrepancies: short, unexpected and over units.
    Close {
        id: String,
        #[arg(long, env = "USER")]
        by: String,
    },
    /// Every serial of the receipt and how it stands.
    Report {
        id: String,
        /// Only short, unexpected and over units.
        #[arg(long)]
        discrepancies: bool,
    },
}

/// Reads `SKU,SERIAL` lines; blank lines and a `sku,serial` header are skipped.
pub fn parse_expected(text: &str) -> anyhow::Result<Vec<pb::ExpectedSerial>> {
    let mut expected = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() || (i == 0 && line.eq_ignore_ascii_case("sku,serial")) {
            continue;
        }
        let Some((sku, serial)) = line.split_once(',') else {
            bail!("line {}: {line:?} is not SKU,SERIAL", i + 1);
        };
        if serial.contains(',') {
            bail!("line {}: {line:?} has more than two fields", i + 1);
        }
        expected.push(pb::ExpectedSerial {
            serial: serial.trim().to_owned(),
            sku: sku.trim().to_owned(),
        });
    }
    Ok(expected)
}

async fn print_receipt_report(
    client: &mut WarehouseServiceClient<Conn>,
    id: String,
    discrepancies_only: bool,
    json: bool,
) -> anyhow::Result<()> {
    let mut chunks = client
        .receipt_report(pb::ReceiptReportRequest {
            id,
            discrepancies_only,
        })
        .await
        .map_err(request_failed)?
        .into_inner();
    while let Some(chunk) = chunks.message().await.map_err(request_failed)? {
        for entry in &chunk.entries {
            output::print_receipt_entry(entry, json);
        }
    }
    Ok(())
}

pub async fn receipt(channel: Conn, json: bool, command: ReceiptCommand) -> anyhow::Result<u8> {
    let mut client = WarehouseServiceClient::new(channel);
    let response = match command {
        ReceiptCommand::Create {
            id,
            supplier,
            policy,
            lines,
            serials,
        } => {
            let lines = lines
                .iter()
                .map(|l| {
                    parse_line(l).map(|o| pb::ReceiptLine {
                        sku: o.sku,
                        lot: o.lot,
                        quantity: o.quantity,
                        received: 0,
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let expected = match serials {
                None => Vec::new(),
                Some(path) => {
                    let text = if path.as_os_str() == "-" {
                        std::io::read_to_string(std::io::stdin())
                            .context("cannot read serials from stdin")?
                    } else {
                        std::fs::read_to_string(&path)
                            .with_context(|| format!("cannot read {}", path.display()))?
                    };
                    parse_expected(&text).with_context(|| format!("{}", path.display()))?
                }
            };
            client
                .create_receipt(pb::CreateReceiptRequest {
                    receipt: Some(pb::Receipt {
                        id,
                        supplier,
                        policy: match policy {
                            PolicyArg::Warn => pb::UnexpectedPolicy::Warn,
                            PolicyArg::Reject => pb::UnexpectedPolicy::Reject,
                        }
                        .into(),
                        lines,
                        ..Default::default()
                    }),
                    expected,
                })
                .await
        }
        ReceiptCommand::Show { id } => client.get_receipt(pb::GetReceiptRequest { id }).await,
        ReceiptCommand::Close { id, by } => {
            let closed = client
                .close_receipt(pb::CloseReceiptRequest {
                    id: id.clone(),
                    closed_by: by,
                })
                .await
                .map_err(request_failed)?
                .into_inner()
                .receipt
                .unwrap_or_default();
            output::print_receipt(&closed, json);
            print_receipt_report(&mut client, id, true, json).await?;
            return Ok(EXIT_OK);
        }
        ReceiptCommand::Report { id, discrepancies } => {
            print_receipt_report(&mut client, id, discrepancies, json).await?;
            return Ok(EXIT_OK);
        }
    };
    let receipt = response
        .map_err(request_failed)?
        .into_inner()
        .receipt
        .unwrap_or_default();
    output::print_receipt(&receipt, json);
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn order_lines() {
        let line = parse_line("TV-65:3:LOT7").unwrap();
        assert_eq!(
            (line.sku.as_str(), line.quantity, line.lot.as_str()),
            ("TV-65", 3, "LOT7")
        );
        assert_eq!(parse_line("TV-65:2").unwrap().lot, "");
        assert!(parse_line("TV-65").is_err());
        assert!(parse_line("TV-65:x").is_err());
    }

    #[test]
    fn expected_serial_files() {
        let expected = super::parse_expected("sku,serial\r\nTV,S1\r\n\nTV, S2\n").unwrap();
        let pairs: Vec<(&str, &str)> = expected
            .iter()
            .map(|e| (e.sku.as_str(), e.serial.as_str()))
            .collect();
        assert_eq!(pairs, [("TV", "S1"), ("TV", "S2")]);
        let err = super::parse_expected("TV,S1\nTVS2\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2: \"TVS2\" is not SKU,SERIAL");
        assert!(super::parse_expected("TV,S1,x").is_err());
    }

    #[test]
    fn days_are_utc_midnights() {
        assert_eq!(super::day_ms("1970-01-02").unwrap(), 86_400_000);
        assert_eq!(super::day_ms("2026-11-23").unwrap(), 1_795_392_000_000);
        for bad in ["2026-13-01", "2026-11", "26-11-23", "2026-11-2x"] {
            assert!(super::day_ms(bad).is_err(), "{bad}");
        }
    }
}
