//! Who may do what: API tokens, their roles, and the role each RPC needs.
//!
//! A token is 32 random bytes from the OS, written as `st_` and 64 hex digits. The store keeps
//! only its SHA-256 (a token has 256 bits of entropy, so a fast hash is enough: there is
//! nothing to guess) under the token's name. Roles are ordered: a SUPERVISOR may do all an
//! OPERATOR may, an ADMIN all a SUPERVISOR may.

use std::fmt;

use sha2::{Digest, Sha256};

use crate::proto::v1 as pb;

/// What a token may do; `Operator < Supervisor < Admin`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Scans and lookups.
    Operator,
    /// Receipts, orders, shipments, recalls, overrides, BLOCK and RELEASE scans, KPIs.
    Supervisor,
    /// Items and tokens.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Operator, Role::Supervisor, Role::Admin];

    pub fn name(self) -> &'static str {
        match self {
            Role::Operator => "OPERATOR",
            Role::Supervisor => "SUPERVISOR",
            Role::Admin => "ADMIN",
        }
    }

    /// A role by its name, in any case.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A stored token: never its text, only the SHA-256 of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub name: String,
    pub role: Role,
    pub hash: [u8; 32],
    pub created_at_ms: i64,
    pub created_by: String,
    pub revoked: Option<Revocation>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revocation {
    pub at_ms: i64,
    pub by: String,
}

/// A change to the tokens, decided by the writer.
#[derive(Clone, Debug)]
pub enum TokenOp {
    Create {
        name: String,
        role: Role,
        hash: [u8; 32],
        by: String,
    },
    Revoke {
        name: String,
        by: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("a token named {0:?} exists already (names are never reused, revoked ones included)")]
    Exists(String),
    #[error("no token is named {0:?}")]
    NotFound(String),
    #[error(
        "the store holds {} tokens, the most it may; revoked ones count",
        TOKENS_MAX
    )]
    Full,
}

/// Decides a token change: `current` is the token of the op's name (as the group sees it),
/// `count` how many tokens are stored. Answers the token to write.
pub fn decide(
    op: TokenOp,
    current: Option<Token>,
    count: usize,
    now_ms: i64,
) -> Result<Token, TokenError> {
    match op {
        TokenOp::Create {
            name,
            role,
            hash,
            by,
        } => {
            if current.is_some() {
                return Err(TokenError::Exists(name));
            }
            if count >= TOKENS_MAX {
                return Err(TokenError::Full);
            }
            Ok(Token {
                name,
                role,
                hash,
                created_at_ms: now_ms,
                created_by: by,
                revoked: None,
            })
        }
        TokenOp::Revoke { name, by } => {
            let Some(token) = current else {
                return Err(TokenError::NotFound(name));
            };
            // Revoking twice changes nothing: the first revocation stands.
            if token.revoked.is_some() {
                return Ok(token);
            }
            Ok(Token {
                revoked: Some(Revocation { at_ms: now_ms, by }),
                ..token
            })
        }
    }
}

/// The caller of an RPC, as the access check found it; handlers read it from the request's
/// extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

/// Token names: what events record as the operator, so the same limit and characters.
pub const TOKEN_NAME_MAX: usize = 64;
/// Tokens a store may hold, revoked ones included (they keep their names forever).
pub const TOKENS_MAX: usize = 10_000;
/// The name of the ADMIN token `serve` creates on first start.
pub const FIRST_ADMIN: &str = "admin";
/// The file in the data dir the first ADMIN token is written to.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
const TOKEN_PREFIX: &str = "st_";

/// Checks a token name: 1 to 64 characters of letters, digits and `.-_@`.
pub fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > TOKEN_NAME_MAX {
        return Err(format!(
            "a token name has 1 to {TOKEN_NAME_MAX} characters, not {}",
            name.len()
        ));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@')))
    {
        Some(c) => Err(format!(
            "a token name has letters, digits and . - _ @ only, not {c:?}"
        )),
        None => Ok(()),
    }
}

/// A new token's text: 32 bytes from the operating system's random source.
pub fn new_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let mut text = String::with_capacity(TOKEN_PREFIX.len() + 64);
    text.push_str(TOKEN_PREFIX);
    for b in bytes {
        text.push_str(&format!("{b:02x}"));
    }
    Ok(text)
}

/// The SHA-256 of a token's text, which is all the store keeps of it.
pub fn hash_secret(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// The token in an `authorization` metadata value: `Bearer <token>`.
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The role an RPC needs, by its path (`/package.Service/Method`); `None` for the calls anyone
/// may make (health checking and reflection, which standard tools use before they have a
/// token). An RPC this table does not know needs ADMIN.
pub fn required_role(path: &str) -> Option<Role> {
    let path = path.strip_prefix('/').unwrap_or(path);
    let (service, method) = path.split_once('/').unwrap_or((path, ""));
    if service == "grpc.health.v1.Health" || service.starts_with("grpc.reflection.") {
        return None;
    }
    Some(match service {
        pb::scan_service_server::SERVICE_NAME
        | pb::unit_service_server::SERVICE_NAME
        | pb::barcode_service_server::SERVICE_NAME => Role::Operator,
        pb::catalog_service_server::SERVICE_NAME => match method {
            "GetItem" | "ListItems" => Role::Operator,
            _ => Role::Admin,
        },
        pb::warehouse_service_server::SERVICE_NAME => match method {
            "GetOrder" | "NextPick" | "GetShipment" | "GetRecall" | "ListRecalls"
            | "RecallReport" | "GetReceipt" | "ReceiptReport" => Role::Operator,
            _ => Role::Supervisor,
        },
        pb::audit_service_server::SERVICE_NAME | pb::webhook_service_server::SERVICE_NAME => {
            Role::Supervisor
        }
        pb::auth_service_server::SERVICE_NAME => match method {
            "WhoAmI" => Role::Operator,
            _ => Role::Admin,
        },
        // A LOCKED template's change needs a SUPERVISOR: the service checks that itself.
        pb::label_service_server::SERVICE_NAME => Role::Operator,
        pb::issue_service_server::SERVICE_NAME => match method {
            "IssueSerials" | "ListRanges" | "Verify" => Role::Operator,
            _ => Role::Supervisor,
        },
        _ => Role::Admin,
    })
}

impl From<Role> for pb::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Operator => pb::Role::Operator,
            Role::Supervisor => pb::Role::Supervisor,
            Role::Admin => pb::Role::Admin,
        }
    }
}

impl TryFrom<pb::Role> for Role {
    type Error = ();

    fn try_from(role: pb::Role) -> Result<Self, ()> {
        match role {
            pb::Role::Operator => Ok(Role::Operator),
            pb::Role::Supervisor => Ok(Role::Supervisor),
            pb::Role::Admin => Ok(Role::Admin),
            pb::Role::Unspecified => Err(()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hash_to_their_own_digest() {
        let (a, b) = (new_secret().unwrap(), new_secret().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 3 + 64);
        assert!(a.starts_with("st_"));
        assert_ne!(hash_secret(&a), hash_secret(&b));
        // SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            hash_secret("abc")[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "not SHA-256"
        );
    }

    /// A SUPERVISOR token `name` created by `admin`.
    pub(crate) fn create(name: &str) -> TokenOp {
        TokenOp::Create {
            name: name.to_owned(),
            role: Role::Supervisor,
            hash: [7; 32],
            by: "admin".to_owned(),
        }
    }

    #[test]
    fn decisions() {
        let token = decide(create("sam"), None, 0, 5).unwrap();
        assert_eq!(
            decide(create("sam"), Some(token.clone()), 1, 6),
            Err(TokenError::Exists("sam".to_owned()))
        );
        assert_eq!(
            decide(create("kim"), None, TOKENS_MAX, 6),
            Err(TokenError::Full)
        );
        assert!(decide(create("kim"), None, TOKENS_MAX - 1, 6).is_ok());
        let revoke = |by: &str| TokenOp::Revoke {
            name: "sam".to_owned(),
            by: by.to_owned(),
        };
        assert_eq!(
            decide(revoke("a"), None, 0, 6),
            Err(TokenError::NotFound("sam".to_owned()))
        );
        let once = decide(revoke("a"), Some(token), 1, 7).unwrap();
        let twice = decide(revoke("b"), Some(once.clone()), 1, 8).unwrap();
        assert_eq!(once, twice, "the first revocation stands");
    }

    #[test]
    fn bearer_values() {
        assert_eq!(bearer("Bearer st_abc"), Some("st_abc"));
        assert_eq!(bearer("bearer  st_abc "), Some("st_abc"));
        assert_eq!(bearer("Basic dXNlcg=="), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("st_abc"), None);
    }

    #[test]
    fn names() {
        assert!(check_name("dock-1.scanner@site_a").is_ok());
        assert!(check_name("").is_err());
        assert!(check_name(&"a".repeat(65)).is_err());
        assert!(check_name("with space").unwrap_err().contains("' '"));
    }

    #[test]
    fn roles_by_rpc() {
        use Role::*;
        let cases = [
            ("/grpc.health.v1.Health/Check", None),
            (
                "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                None,
            ),
            ("/serialtrack.v1.ScanService/Scan", Some(Operator)),
            ("/serialtrack.v1.UnitService/WatchEvents", Some(Operator)),
            ("/serialtrack.v1.BarcodeService/Decode", Some(Operator)),
            ("/serialtrack.v1.CatalogService/GetItem", Some(Operator)),
            ("/serialtrack.v1.CatalogService/PutItem", Some(Admin)),
            ("/serialtrack.v1.WarehouseService/NextPick", Some(Operator)),
            (
                "/serialtrack.v1.WarehouseService/CreateOrder",
                Some(Supervisor),
            ),
            (
                "/serialtrack.v1.WarehouseService/CloseShipment",
                Some(Supervisor),
            ),
            ("/serialtrack.v1.WarehouseService/Kpi", Some(Supervisor)),
            ("/serialtrack.v1.AuthService/CreateToken", Some(Admin)),
            ("/serialtrack.v1.AuthService/WhoAmI", Some(Operator)),
            ("/serialtrack.v1.AuditService/Verify", Some(Supervisor)),
            (
                "/serialtrack.v1.WebhookService/CreateWebhook",
                Some(Supervisor),
            ),
            ("/some.Unknown/Thing", Some(Admin)),
            ("", Some(Admin)),
        ];
        for (path, role) in cases {
            assert_eq!(required_role(path), role, "{path}");
        }
        assert!(Operator < Supervisor && Supervisor < Admin);
        assert_eq!(Role::parse("supervisor"), Some(Supervisor));
        assert_eq!(Role::parse("root"), None);
    }
}
