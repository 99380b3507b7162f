//! `serialtrack webhook`: subscriptions that POST matching events to a URL (SUPERVISOR).

use anyhow::Context;
use clap::Subcommand;
use serde_json::json;

use super::{EXIT_OK, FilterArgs, request_failed};
use crate::client::Conn;
use crate::domain::time::format_utc;
use crate::proto::v1 as pb;
use crate::proto::v1::webhook_service_client::WebhookServiceClient;

#[derive(Subcommand, Debug)]
pub enum WebhookCommand {
    /// Subscribe a URL to the events matching every filter given. Without --secret, a secret
    /// is made and printed once.
    Add {
        #[arg(long)]
        id: String,
        /// http:// or https://.
        #[arg(long)]
        url: String,
        /// The HMAC-SHA256 key for the X-Serialtrack-Signature header (16 to 256 characters).
        #[arg(long, env = "SERIALTRACK_WEBHOOK_SECRET", hide_env_values = true)]
        secret: Option<String>,
        #[command(flatten)]
        filter: FilterArgs,
        /// The first event to deliver (default: the next one recorded).
        #[arg(long, default_value_t = 0)]
        from: u64,
    },
    /// Every subscription and how its delivery stands.
    List,
    /// Stop and forget a subscription.
    Remove { id: String },
}

pub async fn webhook(channel: Conn, json: bool, command: WebhookCommand) -> anyhow::Result<u8> {
    let mut client = WebhookServiceClient::new(channel);
    match command {
        WebhookCommand::Add {
            id,
            url,
            secret,
            filter,
            from,
        } => {
            let filter = filter.to_pb(from)?;
            let made = secret.is_none();
            let secret = match secret {
                Some(secret) => secret,
                None => crate::auth::new_secret().context("no random bytes from the OS")?,
            };
            let webhook = client
                .create_webhook(pb::CreateWebhookRequest {
                    id,
                    url,
                    secret: secret.clone(),
                    filter: Some(filter),
                })
                .await
                .map_err(request_failed)?
                .into_inner()
                .webhook
                .unwrap_or_default();
            print_webhook(&webhook, json);
            if made {
                println!("{secret}");
                eprintln!(
                    "the line above is the webhook's secret, shown this once: the receiver checks \
                     X-Serialtrack-Signature (sha256=HMAC-SHA256 of the body) with it"
                );
            }
        }
        WebhookCommand::List => {
            let webhooks = client
                .list_webhooks(pb::ListWebhooksRequest {})
                .await
                .map_err(request_failed)?
                .into_inner()
                .webhooks;
            for webhook in &webhooks {
                print_webhook(webhook, json);
            }
        }
        WebhookCommand::Remove { id } => {
            let webhook = client
                .delete_webhook(pb::DeleteWebhookRequest { id })
                .await
                .map_err(request_failed)?
                .into_inner()
                .webhook
                .unwrap_or_default();
            if json {
                println!("{}", json!({"removed": webhook.id}));
            } else {
                println!("removed webhook {}", webhook.id);
            }
        }
    }
    Ok(EXIT_OK)
}

fn filters(webhook: &pb::Webhook) -> String {
    let Some(f) = &webhook.filter else {
        return "every event".to_owned();
    };
    let mut parts = Vec::new();
    for (name, value) in [("serial", &f.serial), ("sku", &f.sku), ("lot", &f.lot)] {
        if !value.is_empty() {
            parts.push(format!("{name} {value}"));
        }
    }
    if f.action() != pb::Action::Unspecified {
        parts.push(
            f.action()
                .as_str_name()
                .trim_start_matches("ACTION_")
                .to_owned(),
        );
    }
    if f.outcome() != pb::Outcome::Unspecified {
        parts.push(
            f.outcome()
                .as_str_name()
                .trim_start_matches("OUTCOME_")
                .to_owned(),
        );
    }
    if parts.is_empty() {
        "every event".to_owned()
    } else {
        parts.join(", ")
    }
}

fn print_webhook(webhook: &pb::Webhook, json: bool) {
    if json {
        println!(
            "{}",
            json!({
                "id": webhook.id,
                "url": webhook.url,
                "filter": filters(webhook),
                "created_at": format_utc(webhook.created_at_ms),
                "created_by": webhook.created_by,
                "delivered_through": webhook.delivered_through,
                "failures": webhook.failures,
                "last_error": webhook.last_error,
            })
        );
        return;
    }
    let state = if webhook.failures == 0 {
        "delivering".to_owned()
    } else {
        format!(
            "FAILING ({} tries; {}; next try {})",
            webhook.failures,
            webhook.last_error,
            format_utc(webhook.next_attempt_ms)
        )
    };
    println!(
        "{:<16} {}  [{}]  delivered through event {}  {state}",
        webhook.id,
        webhook.url,
        filters(webhook),
        webhook.delivered_through
    );
}
