//! The JSON shapes the API answers with (the `components.schemas` of openapi.yaml).

use chrono::{DateTime, NaiveDateTime, Utc};
use ips_core::domain::settings::{decode_reminder_offsets, DEFAULT_REMINDER_OFFSETS};
use ips_core::store::participants::Participant;
use ips_core::store::sessions::{IssuedTokens, SessionInfo};
use ips_core::store::staff::StaffMember;
use ips_core::store::teams::Team;
use ips_core::store::utc;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct TeamView {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Team> for TeamView {
    fn from(t: Team) -> Self {
        Self {
            id: t.id,
            name: t.name,
            phone: t.phone,
            email: t.email,
            created_at: utc(t.created_at),
            updated_at: utc(t.updated_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct StaffView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub team_id: Option<i64>,
    pub phone: Option<String>,
    pub working_hours: Option<String>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<StaffMember> for StaffView {
    fn from(s: StaffMember) -> Self {
        Self {
            id: s.id,
            email: s.email,
            name: s.name,
            role: s.role,
            team_id: s.team_id,
            phone: s.phone,
            working_hours: s.working_hours,
            active: s.active,
            created_at: utc(s.created_at),
            updated_at: utc(s.updated_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ParticipantView {
    pub id: i64,
    pub display_name: String,
    pub preferred_language: String,
    pub time_zone: String,
    pub birth_year: Option<i32>,
    pub status: String,
    pub team_id: i64,
    pub specialist_id: i64,
    pub enrolled_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub closed_reason: Option<String>,
    pub withdrawal_note: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub settings: SettingsView,
}

/// The participant's notification settings, as the app and their specialist see them.
#[derive(Debug, Serialize)]
pub struct SettingsView {
    pub quiet_hours: QuietHoursView,
    pub reminder_offsets_minutes: Vec<i32>,
    pub lock_screen_previews: bool,
}

/// Local wall-clock `HH:MM` in the participant's time zone; `end` before `start` crosses midnight.
#[derive(Debug, Serialize)]
pub struct QuietHoursView {
    pub start: String,
    pub end: String,
}

impl From<Participant> for ParticipantView {
    fn from(p: Participant) -> Self {
        Self {
            id: p.id,
            display_name: p.display_name,
            preferred_language: p.preferred_language,
            time_zone: p.time_zone,
            birth_year: p.birth_year,
            status: p.status,
            team_id: p.team_id,
            specialist_id: p.specialist_id,
            enrolled_at: utc(p.enrolled_at),
            withdrawn_at: p.withdrawn_at.map(utc),
            closed_reason: p.closed_reason,
            withdrawal_note: p.withdrawal_note,
            updated_at: utc(p.updated_at),
            settings: SettingsView {
                quiet_hours: QuietHoursView {
                    start: p.quiet_hours_start,
                    end: p.quiet_hours_end,
                },
                // Only this API writes the column, always through the same check; were it ever
                // unreadable, the defaults still remind the participant rather than not at all.
                reminder_offsets_minutes: decode_reminder_offsets(&p.reminder_offsets)
                    .unwrap_or_else(|| {
                        tracing::warn!(participant = p.id, "unreadable reminder offsets");
                        DEFAULT_REMINDER_OFFSETS.to_vec()
                    }),
                lock_screen_previews: p.lock_screen_previews,
            },
        }
    }
}

/// OAuth 2.0 token response field names (RFC 6749 §5.1), plus the session's id.
#[derive(Debug, Serialize)]
pub struct TokenView {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub refresh_token: String,
    pub refresh_token_expires_in: i64,
    pub session_id: i64,
}

impl TokenView {
    pub fn new(tokens: IssuedTokens, now: NaiveDateTime) -> Self {
        Self {
            expires_in: (tokens.access_expires_at - now).num_seconds(),
            refresh_token_expires_in: (tokens.refresh_expires_at - now).num_seconds(),
            access_token: tokens.access_token,
            token_type: "Bearer",
            refresh_token: tokens.refresh_token,
            session_id: tokens.session_id,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct SessionView {
    pub id: i64,
    pub device_label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub current: bool,
}

impl SessionView {
    pub fn new(s: SessionInfo, current_session: i64) -> Self {
        Self {
            current: s.id == current_session,
            id: s.id,
            device_label: s.device_label,
            created_at: utc(s.created_at),
            last_used_at: utc(s.last_used_at),
            expires_at: utc(s.refresh_expires_at),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct EnrolmentCodeView {
    pub code: String,
    pub expires_at: DateTime<Utc>,
}
