//! The participant's own records, for the companion app.

use actix_web::{web, HttpRequest, HttpResponse};
use ips_core::domain::settings::{
    encode_reminder_offsets, normalise_reminder_offsets, parse_clock, QuietHours,
};
use ips_core::store::audit::{self, Actor, Entry};
use ips_core::store::now;
use ips_core::store::participants::{self, ParticipantChanges};
use ips_core::store::sessions::Subject;
use ips_core::store::{staff, teams};
use ips_core::StoreError;
use serde::{Deserialize, Serialize};
use validator::{Validate, ValidationErrors};

use super::participants::{iana_time_zone, language};
use super::views::ParticipantView;
use crate::auth::{request_id, ParticipantCaller};
use crate::input::{invalid, not_blank, outcome, Body};
use crate::problem::ApiError;
use crate::state::AppState;

pub async fn get(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let me = state
        .db
        .run(move |conn| participants::get(conn, id))
        .await?;
    Ok(HttpResponse::Ok().json(ParticipantView::from(me)))
}

/// Quiet hours as the app sends them: local wall-clock `HH:MM`, both ends required.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursInput {
    start: String,
    end: String,
}

/// What a participant may change about themselves. An absent field stays as it is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MePatch {
    #[serde(default, deserialize_with = "crate::input::not_null")]
    display_name: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    preferred_language: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    time_zone: Option<String>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    quiet_hours: Option<QuietHoursInput>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    reminder_offsets_minutes: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "crate::input::not_null")]
    lock_screen_previews: Option<bool>,
}

const CLOCK_MESSAGE: &str = "must be a time of day written HH:MM, from 00:00 to 23:59";

// Written by hand: the quiet-hours window is one rule over two fields, and the rules live in core.
impl Validate for MePatch {
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if let Some(name) = &self.display_name {
            if !(1..=100).contains(&name.chars().count()) {
                errors.add("display_name", invalid("must be 1 to 100 characters"));
            } else if let Err(e) = not_blank(name) {
                errors.add("display_name", e);
            }
        }
        if let Some(code) = &self.preferred_language {
            if let Err(e) = language(code) {
                errors.add("preferred_language", e);
            }
        }
        if let Some(zone) = &self.time_zone {
            if zone.chars().count() > 64 {
                errors.add("time_zone", invalid("must be at most 64 characters"));
            } else if let Err(e) = iana_time_zone(zone) {
                errors.add("time_zone", e);
            }
        }
        if let Some(window) = &self.quiet_hours {
            let start = parse_clock(&window.start);
            let end = parse_clock(&window.end);
            if start.is_none() {
                errors.add("quiet_hours.start", invalid(CLOCK_MESSAGE));
            }
            if end.is_none() {
                errors.add("quiet_hours.end", invalid(CLOCK_MESSAGE));
            }
            if let (Some(start), Some(end)) = (start, end) {
                if let Err(why) = QuietHours::new(start, end) {
                    errors.add("quiet_hours.end", invalid(why));
                }
            }
        }
        if let Some(offsets) = &self.reminder_offsets_minutes {
            if let Err(why) = normalise_reminder_offsets(offsets) {
                errors.add("reminder_offsets_minutes", invalid(why));
            }
        }
        outcome(errors)
    }
}

/// The participant changes their own profile and notification settings.
pub async fn update(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    body: Body<MePatch>,
) -> Result<HttpResponse, ApiError> {
    let MePatch {
        display_name,
        preferred_language,
        time_zone,
        quiet_hours,
        reminder_offsets_minutes,
        lock_screen_previews,
    } = body.0;
    let reminder_offsets = reminder_offsets_minutes
        .as_deref()
        .map(normalise_reminder_offsets)
        .transpose()
        .map_err(|why| ApiError::invalid("reminder_offsets_minutes", &why))?
        .map(|offsets| encode_reminder_offsets(&offsets));
    let (quiet_hours_start, quiet_hours_end) = quiet_hours.map(|q| (q.start, q.end)).unzip();
    let (id, request_id) = (caller.id, request_id(&req));
    let me = state
        .db
        .write(move |conn| {
            let at = now();
            let changes = ParticipantChanges {
                display_name: display_name.map(|n| n.trim().to_owned()),
                preferred_language,
                time_zone,
                quiet_hours_start,
                quiet_hours_end,
                reminder_offsets,
                lock_screen_previews,
                updated_at: Some(at),
            };
            let me = participants::update(conn, id, changes)?;
            audit::record(
                conn,
                &[
                    Entry::new(Actor::Participant(id), "participant.settings_updated")
                        .participant(id),
                ],
                request_id.as_deref(),
                at,
            )?;
            Ok(me)
        })
        .await?;
    Ok(HttpResponse::Ok().json(ParticipantView::from(me)))
}

#[derive(Debug, Deserialize, Validate)]
#[serde(deny_unknown_fields)]
pub struct Withdrawal {
    /// In the participant's own words, if they want to say why; never required.
    #[validate(length(max = 500, message = "must be at most 500 characters"))]
    reason: Option<String>,
}

/// The participant leaves the programme (IPS: their own wish decides, and no one has to agree).
/// Their case closes, every session and push device of theirs ends in the same transaction, and
/// the specialist still sees the closed case. Nothing is erased here (see the README).
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
    body: Body<Withdrawal>,
) -> Result<HttpResponse, ApiError> {
    let note = body
        .0
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    let (id, request_id) = (caller.id, request_id(&req));
    let rules = state.config.follow_up_rules();
    let withdrawn = state
        .db
        .write(move |conn| {
            let at = now();
            let withdrawn = match participants::withdraw(conn, id, note, &rules, at) {
                Ok(p) => p,
                // A concurrent withdrawal got there first: this token died with it.
                Err(StoreError::NotFound) => {
                    return Ok(Err(ApiError::Unauthenticated(
                        "The access token is not valid or has expired.",
                    )))
                }
                Err(e) => return Err(e),
            };
            let entry = Entry::new(Actor::Participant(id), "participant.withdrew")
                .participant(id)
                .subject("participant", id);
            audit::record(conn, &[entry], request_id.as_deref(), at)?;
            Ok(Ok(withdrawn))
        })
        .await??;
    // Every session of theirs ended with the withdrawal.
    state.auth_cache.forget_subject(Subject::Participant(id));
    Ok(HttpResponse::Ok().json(ParticipantView::from(withdrawn)))
}

#[derive(Debug, Serialize)]
struct SpecialistContact {
    id: i64,
    name: String,
    role: String,
    phone: Option<String>,
    email: String,
    working_hours: Option<String>,
}

#[derive(Debug, Serialize)]
struct TeamContact {
    id: i64,
    name: String,
    phone: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Serialize)]
struct ContactCard {
    specialist: SpecialistContact,
    team: TeamContact,
}

/// Who the participant's team is and how to reach them (IPS principle 2: the team is visible to
/// the participant as contacts).
pub async fn team(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
) -> Result<HttpResponse, ApiError> {
    let id = caller.id;
    let (specialist, team) = state
        .db
        .run(move |conn| {
            let me = participants::get(conn, id)?;
            Ok((
                staff::get(conn, me.specialist_id)?,
                teams::get(conn, me.team_id)?,
            ))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ContactCard {
        specialist: SpecialistContact {
            id: specialist.id,
            name: specialist.name,
            role: specialist.role,
            phone: specialist.phone,
            email: specialist.email,
            working_hours: specialist.working_hours,
        },
        team: TeamContact {
            id: team.id,
            name: team.name,
            phone: team.phone,
            email: team.email,
        },
    }))
}
