//! Who is calling: bearer-token extractors.
//!
//! `Caller` is anyone with a live session; `StaffCaller` and `ParticipantCaller` narrow it to
//! one side, answering 403 to the other side's token. A participant's token therefore reaches
//! only `/v1/me...` (and its own `/v1/auth/...`) routes.

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use ips_core::domain::tokens::{self, TokenKind};
use ips_core::domain::Role;
use ips_core::store::audit::Actor;
use ips_core::store::now;
use ips_core::store::participants::Caseload;
use ips_core::store::sessions::{self, Principal, Subject};
use tracing_actix_web::RequestId;

use crate::problem::ApiError;
use crate::state::AppState;

/// Any authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    pub fn actor(&self) -> Actor {
        match self.0.subject {
            Subject::Staff(id) => Actor::Staff(id),
            Subject::Participant(id) => Actor::Participant(id),
        }
    }
}

/// A staff member: specialist, supervisor or admin.
#[derive(Debug, Clone)]
pub struct StaffCaller {
    pub id: i64,
    pub role: Role,
    pub team_id: Option<i64>,
    pub session_id: i64,
}

impl StaffCaller {
    pub fn caseload(&self) -> Caseload {
        Caseload::of(self.id, self.role, self.team_id)
    }

    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden("Your role does not allow this."))
        }
    }

    pub fn actor(&self) -> Actor {
        Actor::Staff(self.id)
    }
}

/// A participant's device session.
#[derive(Debug, Clone)]
pub struct ParticipantCaller {
    pub id: i64,
    pub session_id: i64,
}

fn bearer(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated(
            "Send an access token as `Authorization: Bearer <token>`.",
        ))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("The Authorization header is not readable."))?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthenticated(
        "The Authorization header must be `Bearer <token>`.",
    ))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthenticated(
            "The Authorization header must be `Bearer <token>`.",
        ));
    }
    let token = token.trim();
    if !tokens::is_well_formed(TokenKind::Access, token) {
        return Err(ApiError::Unauthenticated(
            "The access token is not valid or has expired.",
        ));
    }
    Ok(token.to_owned())
}

fn state(req: &HttpRequest) -> Result<AppState, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .map(|d| d.get_ref().clone())
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))
}

async fn authenticate(req: HttpRequest) -> Result<Principal, ApiError> {
    if let Some(principal) = req.extensions().get::<Principal>() {
        return Ok(principal.clone());
    }
    let token = bearer(&req)?;
    let state = state(&req)?;
    let hash = tokens::hash(&token);
    let principal = match state.auth_cache.get(&hash) {
        Some(principal) => principal,
        None => {
            let generation = state.auth_cache.generation();
            let key = hash.clone();
            let principal = state
                .db
                .run(move |conn| sessions::authenticate(conn, &key, now()))
                .await?
                .ok_or(ApiError::Unauthenticated(
                    "The access token is not valid or has expired.",
                ))?;
            state
                .auth_cache
                .remember(hash, principal.clone(), generation);
            principal
        }
    };
    req.extensions_mut().insert(principal.clone());
    Ok(principal)
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(req).await.map(Caller) })
    }
}

impl FromRequest for StaffCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let principal = authenticate(req).await?;
            match (principal.subject, principal.role) {
                (Subject::Staff(id), Some(role)) => Ok(StaffCaller {
                    id,
                    role,
                    team_id: principal.team_id,
                    session_id: principal.session_id,
                }),
                _ => Err(ApiError::Forbidden(
                    "This route is for staff; participants use /v1/me.",
                )),
            }
        })
    }
}

impl FromRequest for ParticipantCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let principal = authenticate(req).await?;
            match principal.subject {
                Subject::Participant(id) => Ok(ParticipantCaller {
                    id,
                    session_id: principal.session_id,
                }),
                Subject::Staff(_) => {
                    Err(ApiError::Forbidden("This route is for participants' apps."))
                }
            }
        })
    }
}

/// The request id tracing-actix-web gave this request, for the audit trail.
pub fn request_id(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<RequestId>().map(|id| id.to_string())
}

/// The client's address for rate limits: the peer, or the proxy's report of it when trusted.
pub fn client_address(req: &HttpRequest, trust_forwarded: bool) -> String {
    if trust_forwarded {
        if let Some(ip) = req
            .connection_info()
            .realip_remote_addr()
            .and_then(|a| a.parse::<IpAddr>().ok())
        {
            return ip.to_string();
        }
    }
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;
    use actix_web::test::TestRequest;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    use super::*;

    fn with_authorization(value: HeaderValue) -> HttpRequest {
        TestRequest::default()
            .insert_header((header::AUTHORIZATION, value))
            .to_http_request()
    }

    proptest! {
        /// Any bytes a header can carry are a well-formed access token after a Bearer scheme,
        /// or a 401; never a panic.
        #[test]
        fn any_authorization_header_is_a_token_or_a_401(
            bytes in prop_oneof![
                vec(any::<u8>(), 0..80),
                "(Bearer|bearer|Basic|) {0,2}(ipsa_|ipsr_)?[A-Za-z0-9_=+/ -]{0,50}"
                    .prop_map(String::into_bytes),
            ],
        ) {
            let Ok(value) = HeaderValue::from_bytes(&bytes) else {
                return Ok(());
            };
            match bearer(&with_authorization(value)) {
                Ok(token) => {
                    let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
                    prop_assert!(text.starts_with("bearer "), "{}", text);
                    prop_assert!(tokens::is_well_formed(TokenKind::Access, &token));
                }
                Err(refusal) => prop_assert!(matches!(refusal, ApiError::Unauthenticated(_))),
            }
        }

        /// parse(format(x)) == x: a Bearer header, in any case and spacing, reads back as
        /// its token.
        #[test]
        fn a_bearer_header_reads_back_as_its_token(
            bytes in any::<[u8; 32]>(),
            scheme in select(vec!["Bearer", "bearer", "BEARER"]),
            gap in " {0,3}",
        ) {
            let token = format!("ipsa_{}", URL_SAFE_NO_PAD.encode(bytes));
            let value = HeaderValue::from_str(&format!("{scheme} {gap}{token}{gap}"))
                .expect("a header value");
            prop_assert_eq!(bearer(&with_authorization(value)).ok(), Some(token));
        }
    }
}
