//! The participant's data export (GDPR articles 15 and 20: access and portability): one JSON
//! document with everything stored about them, in the same shapes the API uses elsewhere.
//! Hashes and secrets never appear: push tokens only as their last characters, sessions without
//! their token hashes, enrolment codes without the code, the calendar feed as whether it exists.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use ips_core::store::audit::{self, Actor, Entry};
use ips_core::store::enrolment_codes::CodeRecord;
use ips_core::store::export::{self, ParticipantExport};
use ips_core::store::notifications::Notification;
use ips_core::store::sessions::SessionRecord;
use ips_core::store::{now, utc, StoreError};
use serde::Serialize;

use super::contact_requests::ContactRequestView;
use super::contacts::ContactView;
use super::devices::DeviceView;
use super::follow_up::{PlanView, StatusChangeView};
use super::interviews::InterviewView;
use super::job_preferences::{ChangeView, JobPreferencesView};
use super::jobs::JobView;
use super::messages::MessageView;
use super::participants::AuditEventView;
use super::views::ParticipantView;
use crate::auth::{request_id, ParticipantCaller};
use crate::problem::ApiError;
use crate::state::AppState;

/// Bumped when a section's shape changes in a way a reader of old exports must know about.
const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Serialize)]
struct CalendarFeedView {
    active: bool,
}

#[derive(Debug, Serialize)]
struct JobPreferencesSection {
    current: JobPreferencesView,
    history: Vec<ChangeView>,
}

#[derive(Debug, Serialize)]
struct SessionExportView {
    id: i64,
    device_label: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    revoked_reason: Option<String>,
    current: bool,
}

impl SessionExportView {
    fn new(s: SessionRecord, current_session: i64) -> Self {
        Self {
            current: s.id == current_session,
            id: s.id,
            device_label: s.device_label,
            created_at: utc(s.created_at),
            last_used_at: utc(s.last_used_at),
            expires_at: utc(s.refresh_expires_at),
            revoked_at: s.revoked_at.map(utc),
            revoked_reason: s.revoked_reason,
        }
    }
}

#[derive(Debug, Serialize)]
struct EnrolmentCodeExportView {
    id: i64,
    issued_by_staff_id: i64,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

impl From<CodeRecord> for EnrolmentCodeExportView {
    fn from(c: CodeRecord) -> Self {
        Self {
            id: c.id,
            issued_by_staff_id: c.created_by,
            created_at: utc(c.created_at),
            expires_at: utc(c.expires_at),
            used_at: c.used_at.map(utc),
            revoked_at: c.revoked_at.map(utc),
        }
    }
}

#[derive(Debug, Serialize)]
struct SubjectView {
    #[serde(rename = "type")]
    kind: String,
    id: i64,
}

/// A notification as stored: what it was about and what became of it (the payload holds ids only).
#[derive(Debug, Serialize)]
struct NotificationExportView {
    id: i64,
    kind: String,
    status: String,
    subject: Option<SubjectView>,
    payload: serde_json::Value,
    due_at: DateTime<Utc>,
    expires_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    read_at: Option<DateTime<Utc>>,
}

impl From<Notification> for NotificationExportView {
    fn from(n: Notification) -> Self {
        Self {
            id: n.id,
            payload: serde_json::from_str(&n.payload).unwrap_or(serde_json::Value::Null),
            subject: n
                .subject_type
                .zip(n.subject_id)
                .map(|(kind, id)| SubjectView { kind, id }),
            kind: n.kind,
            status: n.status,
            due_at: utc(n.due_at),
            expires_at: n.expires_at.map(utc),
            created_at: utc(n.created_at),
            sent_at: n.sent_at.map(utc),
            read_at: n.read_at.map(utc),
        }
    }
}

#[derive(Debug, Serialize)]
struct ExportDocument {
    format_version: u32,
    exported_at: DateTime<Utc>,
    profile: ParticipantView,
    calendar_feed: CalendarFeedView,
    job_preferences: JobPreferencesSection,
    interviews: Vec<InterviewView>,
    messages: Vec<MessageView>,
    contact_requests: Vec<ContactRequestView>,
    follow_up_plan: PlanView,
    status_history: Vec<StatusChangeView>,
    jobs: Vec<JobView>,
    contacts: Vec<ContactView>,
    devices: Vec<DeviceView>,
    sessions: Vec<SessionExportView>,
    enrolment_codes: Vec<EnrolmentCodeExportView>,
    notifications: Vec<NotificationExportView>,
    audit_events: Vec<AuditEventView>,
}

impl ExportDocument {
    fn new(
        data: ParticipantExport,
        exported_at: DateTime<Utc>,
        current_session: i64,
    ) -> Result<Self, StoreError> {
        Ok(Self {
            format_version: FORMAT_VERSION,
            exported_at,
            profile: ParticipantView::from(data.participant),
            calendar_feed: CalendarFeedView {
                active: data.calendar_feed_active,
            },
            job_preferences: JobPreferencesSection {
                current: data.job_preferences.into(),
                history: data
                    .job_preference_history
                    .into_iter()
                    .map(ChangeView::from)
                    .collect(),
            },
            interviews: data
                .interviews
                .into_iter()
                .map(|(i, reminders)| InterviewView::new(i, reminders))
                .collect(),
            messages: data.messages.into_iter().map(MessageView::from).collect(),
            contact_requests: data
                .contact_requests
                .into_iter()
                .map(ContactRequestView::from)
                .collect(),
            follow_up_plan: PlanView::try_from(data.follow_up_plan)?,
            status_history: data
                .status_history
                .into_iter()
                .map(StatusChangeView::try_from)
                .collect::<Result<_, _>>()?,
            jobs: data.jobs.into_iter().map(JobView::from).collect(),
            contacts: data.contacts.into_iter().map(ContactView::from).collect(),
            devices: data
                .devices
                .into_iter()
                .map(|d| DeviceView::new(d, current_session))
                .collect(),
            sessions: data
                .sessions
                .into_iter()
                .map(|s| SessionExportView::new(s, current_session))
                .collect(),
            enrolment_codes: data
                .enrolment_codes
                .into_iter()
                .map(EnrolmentCodeExportView::from)
                .collect(),
            notifications: data
                .notifications
                .into_iter()
                .map(NotificationExportView::from)
                .collect(),
            audit_events: data
                .audit_events
                .into_iter()
                .map(AuditEventView::from)
                .collect(),
        })
    }
}

/// Everything stored about the caller, as a file to keep. The export is collected in one read
/// snapshot, then audited; a copy that could not be audited is not handed out.
pub async fn export_mine(
    state: web::Data<AppState>,
    caller: ParticipantCaller,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let (id, session, request_id) = (caller.id, caller.session_id, request_id(&req));
    let at = now();
    let data = state
        .db
        .run(move |conn| export::collect(conn, id, at))
        .await?;
    state
        .db
        .write(move |conn| {
            let entry = Entry::new(Actor::Participant(id), "participant.exported")
                .participant(id)
                .subject("participant", id);
            audit::record(conn, &[entry], request_id.as_deref(), now())
        })
        .await?;
    let document = ExportDocument::new(data, utc(at), session)?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"ips-export-{id}.json\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(document))
}
