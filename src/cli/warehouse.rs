//! `order` and `shipment`: the documents pick and dispatch scans are checked against.

use anyhow::bail;
use clap::Subcommand;
use tonic::transport::Channel;

use crate::proto::v1 as pb;
use pb::warehouse_service_client::WarehouseServiceClient;

use super::{EXIT_OK, output, request_failed};

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

pub async fn order(channel: Channel, json: bool, command: OrderCommand) -> anyhow::Result<u8> {
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
    };
    let order = response
        .map_err(request_failed)?
        .into_inner()
        .order
        .unwrap_or_default();
    output::print_order(&order, json);
    Ok(EXIT_OK)
}

pub async fn shipment(
    channel: Channel,
    json: bool,
    command: ShipmentCommand,
) -> anyhow::Result<u8> {
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
}
