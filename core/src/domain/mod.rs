//! Domain types and rules that need no database.

pub mod alerts;
pub mod case_status;
pub mod caseload;
pub mod contacts;
pub mod device;
pub mod enrolment_code;
pub mod follow_up;
pub mod ical;
pub mod interviews;
pub mod job_preferences;
pub mod jobs;
pub mod notices;
pub mod password;
pub mod reminders;
pub mod reports;
pub mod roles;
pub mod settings;
pub mod texts;
pub mod tokens;
pub mod webhooks;
pub mod working_hours;

pub use roles::{
    ClosedReason, ContactRequestKind, ContactRequestStatus, Disclosure, Goal, Language,
    ParticipantStatus, Platform, PreferredTime, Role, SenderKind,
};
