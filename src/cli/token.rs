//! `serialtrack token`: API tokens and their roles (ADMIN only).

use clap::Subcommand;
use serde_json::json;

use super::{EXIT_OK, request_failed};
use crate::client::Conn;
use crate::domain::time::format_utc;
use crate::proto::v1 as pb;
use crate::proto::v1::auth_service_client::AuthServiceClient;

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Create a token and print it, once: the server keeps only its SHA-256.
    Create {
        /// operator (scans, lookups), supervisor (also receipts, orders, shipments, recalls,
        /// overrides, BLOCK/RELEASE, KPIs) or admin (also items and tokens).
        #[arg(long)]
        role: String,
        /// Who or what holds it: events record this name as the operator.
        #[arg(long)]
        name: String,
    },
    /// Every token, revoked ones included.
    List,
    /// Revoke a token by name: it stops working at once.
    Revoke { name: String },
    /// The token this command sends.
    Whoami,
}

pub async fn token(channel: Conn, json: bool, command: TokenCommand) -> anyhow::Result<u8> {
    let mut client = AuthServiceClient::new(channel);
    match command {
        TokenCommand::Create { role, name } => {
            let wire = format!("ROLE_{}", role.to_ascii_uppercase());
            let Some(role) = pb::Role::from_str_name(&wire).filter(|r| *r != pb::Role::Unspecified)
            else {
                anyhow::bail!("--role {role:?} is not operator, supervisor or admin");
            };
            let created = client
                .create_token(pb::CreateTokenRequest {
                    name,
                    role: role.into(),
                })
                .await
                .map_err(request_failed)?
                .into_inner();
            let token = created.token.unwrap_or_default();
            if json {
                println!(
                    "{}",
                    json!({"token": token_json(&token), "secret": created.secret})
                );
            } else {
                println!("{}", created.secret);
                eprintln!(
                    "created {} token {:?}: the line above is its text, shown this once; keep it \
                     in a file only its user can read and pass it with --token-file",
                    role_name(&token),
                    token.name
                );
            }
        }
        TokenCommand::List => {
            let tokens = client
                .list_tokens(pb::ListTokensRequest {})
                .await
                .map_err(request_failed)?
                .into_inner()
                .tokens;
            for token in &tokens {
                print_token(token, json);
            }
        }
        TokenCommand::Revoke { name } => {
            let token = client
                .revoke_token(pb::RevokeTokenRequest { name })
                .await
                .map_err(request_failed)?
                .into_inner()
                .token
                .unwrap_or_default();
            print_token(&token, json);
        }
        TokenCommand::Whoami => {
            let token = client
                .who_am_i(pb::WhoAmIRequest {})
                .await
                .map_err(request_failed)?
                .into_inner()
                .token
                .unwrap_or_default();
            print_token(&token, json);
        }
    }
    Ok(EXIT_OK)
}

fn role_name(token: &pb::Token) -> &'static str {
    match token.role() {
        pb::Role::Operator => "OPERATOR",
        pb::Role::Supervisor => "SUPERVISOR",
        pb::Role::Admin => "ADMIN",
        pb::Role::Unspecified => "?",
    }
}

fn token_json(token: &pb::Token) -> serde_json::Value {
    json!({
        "name": token.name,
        "role": role_name(token),
        "created_at": format_utc(token.created_at_ms),
        "created_by": token.created_by,
        "revoked": token.revoked,
        "revoked_at": token.revoked.then(|| format_utc(token.revoked_at_ms)),
        "revoked_by": token.revoked_by,
    })
}

fn print_token(token: &pb::Token, json: bool) {
    if json {
        println!("{}", token_json(token));
        return;
    }
    let by = if token.created_by.is_empty() {
        "serve (first start)"
    } else {
        &token.created_by
    };
    let state = if token.revoked {
        format!(
            "REVOKED {} by {}",
            format_utc(token.revoked_at_ms),
            token.revoked_by
        )
    } else {
        "active".to_owned()
    };
    println!(
        "{:<24} {:<10} created {} by {}  {state}",
        token.name,
        role_name(token),
        format_utc(token.created_at_ms),
        by
    );
}
