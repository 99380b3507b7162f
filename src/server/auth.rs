//! The access check in front of every RPC, and the AuthService that manages tokens.
//!
//! [`GuardLayer`] is a tower layer around all services: it finds the role the called method
//! needs ([`auth::required_role`]), looks the bearer token up by its SHA-256 (a store read per
//! call, so a revocation counts from the next call on), and either answers UNAUTHENTICATED /
//! PERMISSION_DENIED itself or hands the request on with the [`Caller`] in its extensions.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tonic::{Request, Response, Status};

use super::store_status;
use crate::auth::{self, Caller, Role, Token, TokenError, TokenOp};
use crate::proto::v1 as pb;
use crate::store::Store;

/// Whether calls need a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Every call but health checking and reflection needs a token with the role it names.
    Tokens,
    /// Anyone may call anything, and clients name the operator themselves: for local trials
    /// and for benchmarks and tests that are not about access (`serve --insecure-no-auth`).
    Open,
}

#[derive(Clone)]
pub struct GuardLayer<S> {
    pub store: S,
    pub access: Access,
}

impl<S: Clone, I> tower_layer::Layer<I> for GuardLayer<S> {
    type Service = Guard<S, I>;

    fn layer(&self, inner: I) -> Self::Service {
        Guard {
            inner,
            store: self.store.clone(),
            access: self.access,
        }
    }
}

#[derive(Clone)]
pub struct Guard<S, I> {
    inner: I,
    store: S,
    access: Access,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, I, B> tower_service::Service<http::Request<B>> for Guard<S, I>
where
    S: Store,
    I: tower_service::Service<http::Request<B>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    I::Future: Send,
    B: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = I::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone that was polled ready serves this call; the fresh one waits for the next.
        let ready = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, ready);
        let store = self.store.clone();
        let access = self.access;
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            let header = request
                .headers()
                .get(http::header::AUTHORIZATION)
                .map(|v| v.to_str().map(str::to_owned));
            match check(&store, access, &path, header).await {
                Ok(Some(caller)) => {
                    request.extensions_mut().insert(caller);
                }
                Ok(None) => {}
                Err(status) => return Ok(status.into_http()),
            }
            inner.call(request).await
        })
    }
}

/// The caller of `path` with this `authorization` header, `None` when the call needs no token
/// (or access is open), or the status that refuses the call.
async fn check<S: Store>(
    store: &S,
    access: Access,
    path: &str,
    header: Option<Result<String, http::header::ToStrError>>,
) -> Result<Option<Caller>, Status> {
    let Some(needed) = auth::required_role(path) else {
        return Ok(None);
    };
    if access == Access::Open {
        return Ok(None);
    }
    let Some(header) = header else {
        return Err(Status::unauthenticated(
            "this call needs an API token: send the metadata `authorization: Bearer <token>` \
             (the CLI takes --token or --token-file; an ADMIN creates tokens with \
             `serialtrack token create`)",
        ));
    };
    let Some(secret) = header
        .ok()
        .as_deref()
        .and_then(auth::bearer)
        .map(str::to_owned)
    else {
        return Err(Status::unauthenticated(
            "the authorization metadata is not `Bearer <token>`",
        ));
    };
    let token = store
        .token_by_hash(&auth::hash_secret(&secret))
        .await
        .map_err(store_status)?;
    match token {
        None => Err(Status::unauthenticated(
            "the API token is not one this server issued",
        )),
        Some(Token {
            name,
            revoked: Some(revoked),
            ..
        }) => Err(Status::unauthenticated(format!(
            "token {name:?} was revoked by {} at {}",
            if revoked.by.is_empty() {
                "serve"
            } else {
                &revoked.by
            },
            crate::domain::time::format_utc(revoked.at_ms)
        ))),
        Some(token) if token.role < needed => Err(Status::permission_denied(format!(
            "{path} needs the {needed} role; token {:?} is {}",
            token.name, token.role
        ))),
        Some(token) => Ok(Some(Caller {
            name: token.name,
            role: token.role,
        })),
    }
}

/// The caller the guard found for this request (none when access is open).
pub fn caller<T>(request: &Request<T>) -> Option<Caller> {
    request.extensions().get::<Caller>().cloned()
}

/// The name a request records as who did it: the caller's token name, whatever the client
/// sent (so no token can act as another, and a gateway or CLI that fills the field from its
/// configuration or `$USER` still works); with open access, what the client sent.
pub fn acting_name(caller: Option<&Caller>, sent: &str) -> String {
    match caller {
        Some(caller) => caller.name.clone(),
        None => sent.to_owned(),
    }
}

/// Stamps a scan with its caller: the operator is the token's name, and BLOCK and RELEASE
/// scans need a SUPERVISOR.
pub fn stamp_scan(caller: Option<&Caller>, scan: &mut pb::ScanRequest) -> Result<(), Status> {
    let Some(caller) = caller else {
        return Ok(());
    };
    scan.operator = acting_name(Some(caller), &scan.operator);
    let action = pb::Action::try_from(scan.action).unwrap_or(pb::Action::Unspecified);
    if matches!(action, pb::Action::Block | pb::Action::Release) && caller.role < Role::Supervisor {
        return Err(Status::permission_denied(format!(
            "{} scans need the {} role; token {:?} is {}",
            action.as_str_name(),
            Role::Supervisor,
            caller.name,
            caller.role
        )));
    }
    Ok(())
}

pub struct Tokens<S> {
    pub store: S,
}

impl<S: Store> Tokens<S> {
    async fn decide(&self, op: TokenOp) -> Result<Token, Status> {
        match self.store.token_op(op).await.map_err(store_status)? {
            Ok(token) => Ok(token),
            Err(e @ TokenError::Exists(_)) => Err(Status::already_exists(e.to_string())),
            Err(e @ TokenError::NotFound(_)) => Err(Status::not_found(e.to_string())),
            Err(e @ TokenError::Full) => Err(Status::resource_exhausted(e.to_string())),
        }
    }
}

pub fn token_to_pb(token: Token) -> pb::Token {
    let (revoked_at_ms, revoked_by) = token
        .revoked
        .as_ref()
        .map_or((0, String::new()), |r| (r.at_ms, r.by.clone()));
    pb::Token {
        name: token.name,
        role: pb::Role::from(token.role).into(),
        created_at_ms: token.created_at_ms,
        created_by: token.created_by,
        revoked: token.revoked.is_some(),
        revoked_at_ms,
        revoked_by,
    }
}

fn checked_name(name: &str) -> Result<(), Status> {
    auth::check_name(name).map_err(Status::invalid_argument)
}

#[tonic::async_trait]
impl<S: Store> pb::auth_service_server::AuthService for Tokens<S> {
    async fn create_token(
        &self,
        request: Request<pb::CreateTokenRequest>,
    ) -> Result<Response<pb::CreateTokenResponse>, Status> {
        let by = caller(&request).map(|c| c.name).unwrap_or_default();
        let request = request.into_inner();
        checked_name(&request.name)?;
        let role = pb::Role::try_from(request.role)
            .ok()
            .and_then(|r| Role::try_from(r).ok())
            .ok_or_else(|| {
                Status::invalid_argument(format!(
                    "role {} is not OPERATOR, SUPERVISOR or ADMIN",
                    request.role
                ))
            })?;
        let secret = auth::new_secret()
            .map_err(|e| Status::unavailable(format!("no random bytes from the OS: {e}")))?;
        let token = self
            .decide(TokenOp::Create {
                name: request.name,
                role,
                hash: auth::hash_secret(&secret),
                by,
            })
            .await?;
        Ok(Response::new(pb::CreateTokenResponse {
            token: Some(token_to_pb(token)),
            secret,
        }))
    }

    async fn list_tokens(
        &self,
        _request: Request<pb::ListTokensRequest>,
    ) -> Result<Response<pb::ListTokensResponse>, Status> {
        let tokens = self.store.tokens().await.map_err(store_status)?;
        Ok(Response::new(pb::ListTokensResponse {
            tokens: tokens.into_iter().map(token_to_pb).collect(),
        }))
    }

    async fn revoke_token(
        &self,
        request: Request<pb::RevokeTokenRequest>,
    ) -> Result<Response<pb::TokenResponse>, Status> {
        let by = caller(&request).map(|c| c.name).unwrap_or_default();
        let name = request.into_inner().name;
        checked_name(&name)?;
        let token = self.decide(TokenOp::Revoke { name, by }).await?;
        Ok(Response::new(pb::TokenResponse {
            token: Some(token_to_pb(token)),
        }))
    }

    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::TokenResponse>, Status> {
        let Some(caller) = caller(&request) else {
            return Err(Status::failed_precondition(
                "this server runs with --insecure-no-auth: calls carry no token",
            ));
        };
        let token = self
            .store
            .tokens()
            .await
            .map_err(store_status)?
            .into_iter()
            .find(|t| t.name == caller.name)
            .ok_or_else(|| Status::unauthenticated("the token is gone"))?;
        Ok(Response::new(pb::TokenResponse {
            token: Some(token_to_pb(token)),
        }))
    }
}

/// On a store with no token at all (first start): creates the ADMIN token named
/// [`auth::FIRST_ADMIN`] and answers its text, for `serve` to write to a file only its owner
/// can read. `None` when the store has tokens already.
pub async fn first_admin<S: Store>(store: &S) -> anyhow::Result<Option<String>> {
    if !store.tokens().await?.is_empty() {
        return Ok(None);
    }
    let secret = auth::new_secret()?;
    let created = store
        .token_op(TokenOp::Create {
            name: auth::FIRST_ADMIN.to_owned(),
            role: Role::Admin,
            hash: auth::hash_secret(&secret),
            by: String::new(),
        })
        .await?;
    created.map_err(|e| anyhow::anyhow!("cannot create the first ADMIN token: {e}"))?;
    Ok(Some(secret))
}
