//! Logging in, enrolling a device, refreshing, logging out, and managing one's own sessions.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Duration;
use ips_core::domain::{enrolment_code, password};
use ips_core::store::audit::{self, Actor, Entry};
use ips_core::store::auth_failures::{self, Limit};
use ips_core::store::sessions::{self, Lifetimes, RefreshOutcome, RevokeReason, Subject};
use ips_core::store::{enrolment_codes, now, staff};
use ips_core::Config;
use serde::Deserialize;
use validator::Validate;

use super::views::{SessionView, TokenView};
use crate::auth::{client_address, request_id, Caller, StaffCaller};
use crate::input::{parse_query, Body};
use crate::pagination::{Page, PageQuery};
use crate::problem::ApiError;
use crate::state::AppState;

fn lifetimes(config: &Config) -> Lifetimes {
    Lifetimes {
        access: Duration::seconds(config.access_token_ttl_seconds),
        staff_idle: Duration::days(config.staff_session_idle_days),
        participant_idle: Duration::days(config.participant_session_idle_days),
    }
}

/// Token responses must not be cached anywhere (RFC 6749 §5.1).
fn tokens_response(view: TokenView) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(view)
}

fn rate_limited(wait: Duration) -> ApiError {
    ApiError::RateLimited(u64::try_from(wait.num_seconds()).unwrap_or(1).max(1))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[validate(length(min = 3, max = 254, message = "must be an e-mail address"))]
    email: String,
    #[validate(length(min = 1, max = 256, message = "must be 1 to 256 characters"))]
    password: String,
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    device_label: Option<String>,
}

/// Staff login. Wrong e-mail and wrong password look the same, take the same time, and count
/// against the same limits, so the answer never reveals whether an account exists.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let LoginRequest {
        email,
        password: given,
        device_label,
    } = body.0;
    let config = state.config.clone();
    let window = Duration::seconds(config.auth_failure_window_seconds);
    let account_bucket = auth_failures::bucket("login-account", &staff::normalise_email(&email));
    let client_bucket = auth_failures::bucket(
        "login-client",
        &client_address(&req, config.trust_forwarded_for),
    );

    // The attempt is counted before the slow password check (see `auth_failures::admit`).
    let (admitted, account) = {
        let config = config.clone();
        let (account, client) = (account_bucket.clone(), client_bucket.clone());
        state
            .db
            .write_in_turn(&[&account_bucket, &client_bucket], move |conn| {
                let limits = [
                    Limit {
                        bucket: &account,
                        max: config.login_max_failures_per_account,
                    },
                    Limit {
                        bucket: &client,
                        max: config.login_max_failures_per_client,
                    },
                ];
                match auth_failures::admit(conn, &limits, window, now())? {
                    Ok(admitted) => Ok(Ok((admitted, staff::find_for_login(conn, &email)?))),
                    Err(wait) => Ok(Err(rate_limited(wait))),
                }
            })
            .await??
    };

    // argon2 is deliberately slow: verify on the blocking pool, outside any transaction.
    let verified = web::block(move || match account {
        Some((member, hash)) => {
            (password::verify(&given, &hash) && member.active).then_some(member)
        }
        None => {
            password::verify_dummy(&given);
            None
        }
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("password check failed: {e}")))?;
    // A failure is already counted.
    let Some(member) = verified else {
        return Err(ApiError::InvalidCredentials);
    };

    let lifetimes = lifetimes(&config);
    let account = account_bucket.clone();
    let outcome = state
        .db
        .write_in_turn(&[&account_bucket, &client_bucket], move |conn| {
            let at = now();
            auth_failures::forgive(conn, admitted, Some(&account))?;
            let tokens = sessions::create(
                conn,
                Subject::Staff(member.id),
                device_label,
                &lifetimes,
                at,
            )?;
            Ok((tokens, at))
        })
        .await?;
    Ok(tokens_response(TokenView::new(outcome.0, outcome.1)))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    #[validate(length(
        min = 1,
        max = 32,
        message = "must be the code your job specialist gave you"
    ))]
    code: String,
    #[validate(length(max = 100, message = "must be at most 100 characters"))]
    device_label: Option<String>,
}

/// The participant's app exchanges a one-time enrolment code for a device session.
pub async fn enrol(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Body<EnrolRequest>,
) -> Result<HttpResponse, ApiError> {
    let EnrolRequest { code, device_label } = body.0;
    let config = state.config.clone();
    let client_bucket = auth_failures::bucket(
        "enrol-client",
        &client_address(&req, config.trust_forwarded_for),
    );
    let canonical = enrolment_code::normalise(&code);
    let lifetimes = lifetimes(&config);
    let request_id = request_id(&req);
    let window = Duration::seconds(config.auth_failure_window_seconds);
    let client = client_bucket.clone();
    let outcome = state
        .db
        .write_in_turn(&[&client_bucket], move |conn| {
            let at = now();
            let limit = Limit {
                bucket: &client,
                max: config.enrol_max_failures_per_client,
            };
            let admitted = match auth_failures::admit(conn, &[limit], window, at)? {
                Ok(admitted) => admitted,
                Err(wait) => return Ok(Err(rate_limited(wait))),
            };
            let participant = match &canonical {
                Some(code) => enrolment_codes::redeem(conn, code, at)?,
                None => None,
            };
            // A wrong code stays counted (the transaction commits with the refusal).
            let Some(participant_id) = participant else {
                return Ok(Err(ApiError::InvalidCredentials));
            };
            auth_failures::forgive(conn, admitted, None)?;
            let tokens = sessions::create(
                conn,
                Subject::Participant(participant_id),
                device_label,
                &lifetimes,
                at,
            )?;
            let entry = Entry::new(
                Actor::Participant(participant_id),
                "participant.device_enrolled",
            )
            .participant(participant_id)
            .subject("session", tokens.session_id);
            audit::record(conn, &[entry], request_id.as_deref(), at)?;
            Ok(Ok((tokens, at)))
        })
        .await??;
    Ok(tokens_response(TokenView::new(outcome.0, outcome.1)))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    #[validate(length(min = 1, max = 200, message = "must be a refresh token"))]
    refresh_token: String,
}

/// Rotates the pair. A refresh token that was already used means it leaked: the whole session ends.
pub async fn refresh(
    state: web::Data<AppState>,
    body: Body<RefreshRequest>,
) -> Result<HttpResponse, ApiError> {
    let presented = body.0.refresh_token;
    if !ips_core::domain::tokens::is_well_formed(
        ips_core::domain::tokens::TokenKind::Refresh,
        &presented,
    ) {
        return Err(ApiError::InvalidCredentials);
    }
    let lifetimes = lifetimes(&state.config);
    let outcome = state
        .db
        .write(move |conn| {
            let at = now();
            Ok((sessions::refresh(conn, &presented, &lifetimes, at)?, at))
        })
        .await?;
    match outcome {
        (RefreshOutcome::Rotated(tokens), at) => {
            // The session's previous access token no longer works.
            state.auth_cache.forget_session(tokens.session_id);
            Ok(tokens_response(TokenView::new(tokens, at)))
        }
        (RefreshOutcome::Reused { session_id }, _) => {
            state.auth_cache.forget_session(session_id);
            tracing::warn!("a used refresh token was presented again; its session is revoked");
            Err(ApiError::InvalidCredentials)
        }
        (RefreshOutcome::Invalid, _) => Err(ApiError::InvalidCredentials),
    }
}

/// Ends the caller's own session.
pub async fn logout(state: web::Data<AppState>, caller: Caller) -> Result<HttpResponse, ApiError> {
    let session_id = caller.0.session_id;
    state
        .db
        .write(move |conn| sessions::revoke(conn, session_id, RevokeReason::Logout, now()))
        .await?;
    state.auth_cache.forget_session(session_id);
    Ok(HttpResponse::NoContent().finish())
}

/// The caller's live sessions (devices), newest first; `current` marks this one.
pub async fn list_sessions(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let page = parse_query::<PageQuery>(&req)?.check()?;
    let (subject, current) = (caller.0.subject, caller.0.session_id);
    let sessions = state
        .db
        .run(move |conn| sessions::list_live(conn, subject, page.after, page.limit, now()))
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_store(sessions, |s| SessionView::new(s, current))))
}

/// Ends one of the caller's sessions (the lost-phone case). Another user's session id is 404.
pub async fn revoke_session(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let (subject, id) = (caller.0.subject, path.into_inner());
    state
        .db
        .write(move |conn| sessions::revoke_own(conn, subject, id, now()))
        .await?;
    state.auth_cache.forget_session(id);
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    #[validate(length(min = 1, max = 256, message = "must be 1 to 256 characters"))]
    current_password: String,
    #[validate(custom(function = "crate::routes::staff::strong_password"))]
    new_password: String,
}

/// A staff member changes their password; every other session of theirs ends. A wrong current
/// password counts against the same per-account limit as a failed login, so a stolen access
/// token cannot be used to guess the password.
pub async fn change_password(
    state: web::Data<AppState>,
    caller: StaffCaller,
    body: Body<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    let PasswordChange {
        current_password,
        new_password,
    } = body.0;
    let id = caller.id;
    let config = state.config.clone();
    let window = Duration::seconds(config.auth_failure_window_seconds);
    let max = config.login_max_failures_per_account;
    // Counted before the check, like a login (see `auth_failures::admit`).
    let (admitted, stored) = state
        .db
        .write(move |conn| {
            let (email, hash) = staff::credentials(conn, id)?;
            let bucket = auth_failures::bucket("login-account", &email);
            let limit = Limit {
                bucket: &bucket,
                max,
            };
            match auth_failures::admit(conn, &[limit], window, now())? {
                Ok(admitted) => Ok(Ok((admitted, hash))),
                Err(wait) => Ok(Err(rate_limited(wait))),
            }
        })
        .await??;
    let new_hash = web::block(move || {
        if !password::verify(&current_password, &stored) {
            return Ok(None);
        }
        password::hash(&new_password).map(Some)
    })
    .await
    .map_err(|e| ApiError::Internal(anyhow::anyhow!("password hashing failed: {e}")))??;
    let session_id = caller.session_id;
    // A wrong current password is already counted.
    let changed = match new_hash {
        None => false,
        Some(new_hash) => {
            state
                .db
                .write(move |conn| {
                    let at = now();
                    auth_failures::forgive(conn, admitted, None)?;
                    let changes = staff::StaffChanges {
                        password_hash: Some(new_hash),
                        updated_at: Some(at),
                        ..Default::default()
                    };
                    staff::update(conn, id, changes)?;
                    sessions::revoke_all_except(
                        conn,
                        Subject::Staff(id),
                        session_id,
                        RevokeReason::Revoked,
                        at,
                    )?;
                    Ok(true)
                })
                .await?
        }
    };
    if changed {
        // Every other session of theirs has ended.
        state.auth_cache.forget_subject(Subject::Staff(id));
    }
    if !changed {
        return Err(ApiError::invalid(
            "current_password",
            "is not your current password",
        ));
    }
    Ok(HttpResponse::NoContent().finish())
}
