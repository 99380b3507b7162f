//! API tokens in the sled store: `t` name → token record (role, SHA-256 of the text, creation
//! and revocation), `v` SHA-256 → name. The text of a token is never stored.

use prost::Message;

use crate::auth::{self, Revocation, Role, Token};

use super::StoreError;
use super::sled_store::Get;

pub const TOKEN: u8 = b't';
pub const TOKEN_HASH: u8 = b'v';

pub fn token_key(name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(1 + name.len());
    key.push(TOKEN);
    key.extend_from_slice(name.as_bytes());
    key
}

pub fn hash_key(hash: &[u8; 32]) -> Vec<u8> {
    let mut key = Vec::with_capacity(33);
    key.push(TOKEN_HASH);
    key.extend_from_slice(hash);
    key
}

#[derive(Clone, PartialEq, Message)]
struct TokenRecord {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(uint32, tag = "2")]
    role: u32,
    #[prost(bytes = "vec", tag = "3")]
    hash: Vec<u8>,
    #[prost(int64, tag = "4")]
    created_at_ms: i64,
    #[prost(string, tag = "5")]
    created_by: String,
    #[prost(bool, tag = "6")]
    revoked: bool,
    #[prost(int64, tag = "7")]
    revoked_at_ms: i64,
    #[prost(string, tag = "8")]
    revoked_by: String,
}

// Stable numbers on disk, never Rust discriminants.
fn role_code(role: Role) -> u32 {
    match role {
        Role::Operator => 1,
        Role::Supervisor => 2,
        Role::Admin => 3,
    }
}

fn role_from(code: u32) -> Option<Role> {
    match code {
        1 => Some(Role::Operator),
        2 => Some(Role::Supervisor),
        3 => Some(Role::Admin),
        _ => None,
    }
}

pub fn encode_token(token: &Token) -> Vec<u8> {
    let (revoked, revoked_at_ms, revoked_by) = match &token.revoked {
        Some(r) => (true, r.at_ms, r.by.clone()),
        None => (false, 0, String::new()),
    };
    TokenRecord {
        name: token.name.clone(),
        role: role_code(token.role),
        hash: token.hash.to_vec(),
        created_at_ms: token.created_at_ms,
        created_by: token.created_by.clone(),
        revoked,
        revoked_at_ms,
        revoked_by,
    }
    .encode_to_vec()
}

pub fn decode_token(bytes: &[u8]) -> Result<Token, StoreError> {
    let corrupt = |why: String| StoreError::Corrupt(format!("token record: {why}"));
    let r = TokenRecord::decode(bytes).map_err(|e| corrupt(e.to_string()))?;
    let role = role_from(r.role).ok_or_else(|| corrupt(format!("unknown role {}", r.role)))?;
    let hash = <[u8; 32]>::try_from(r.hash.as_slice())
        .map_err(|_| corrupt(format!("a hash of {} bytes", r.hash.len())))?;
    auth::check_name(&r.name).map_err(corrupt)?;
    Ok(Token {
        name: r.name,
        role,
        hash,
        created_at_ms: r.created_at_ms,
        created_by: r.created_by,
        revoked: r.revoked.then_some(Revocation {
            at_ms: r.revoked_at_ms,
            by: r.revoked_by,
        }),
    })
}

pub fn read_token(tree: &impl Get, name: &str) -> Result<Option<Token>, StoreError> {
    tree.get(token_key(name))?
        .map(|v| decode_token(&v))
        .transpose()
}

/// The token whose text hashes to `hash`, revoked or not.
pub fn read_token_by_hash(tree: &impl Get, hash: &[u8; 32]) -> Result<Option<Token>, StoreError> {
    let Some(name) = tree.get(hash_key(hash))? else {
        return Ok(None);
    };
    let name = std::str::from_utf8(&name)
        .map_err(|_| StoreError::Corrupt("a token hash names a non-UTF-8 token".to_owned()))?;
    match read_token(tree, name)? {
        Some(token) if token.hash == *hash => Ok(Some(token)),
        Some(_) => Err(StoreError::Corrupt(format!(
            "the token index and token {name:?} disagree on its hash"
        ))),
        None => Err(StoreError::Corrupt(format!(
            "a token hash names token {name:?}, which is not stored"
        ))),
    }
}

/// Every token, by name.
pub fn read_tokens(
    entries: impl Iterator<Item = Result<(sled::IVec, sled::IVec), StoreError>>,
) -> Result<Vec<Token>, StoreError> {
    entries.map(|entry| decode_token(&entry?.1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{TokenOp, decide, tests::create};

    #[test]
    fn records_round_trip() {
        let token = decide(create("sam"), None, 0, 5).unwrap();
        assert_eq!(decode_token(&encode_token(&token)).unwrap(), token);
        let revoked = decide(
            TokenOp::Revoke {
                name: "sam".to_owned(),
                by: "admin".to_owned(),
            },
            Some(token),
            1,
            9,
        )
        .unwrap();
        assert_eq!(decode_token(&encode_token(&revoked)).unwrap(), revoked);
        assert_eq!(revoked.revoked.as_ref().unwrap().at_ms, 9);
    }

    #[test]
    fn bad_records_are_corrupt() {
        let mut token = decide(create("sam"), None, 0, 5).unwrap();
        token.name = "bad name".to_owned();
        assert!(matches!(
            decode_token(&encode_token(&token)),
            Err(StoreError::Corrupt(_))
        ));
        let short = TokenRecord {
            name: "sam".to_owned(),
            role: 1,
            hash: vec![1, 2, 3],
            ..Default::default()
        }
        .encode_to_vec();
        assert!(matches!(decode_token(&short), Err(StoreError::Corrupt(_))));
        let role = TokenRecord {
            name: "sam".to_owned(),
            role: 9,
            hash: vec![0; 32],
            ..Default::default()
        }
        .encode_to_vec();
        assert!(matches!(decode_token(&role), Err(StoreError::Corrupt(_))));
    }
}
