//! Domain types and rules that need no database.

pub mod enrolment_code;
pub mod ical;
pub mod interviews;
pub mod password;
pub mod reminders;
pub mod roles;
pub mod texts;
pub mod tokens;

pub use roles::{Language, ParticipantStatus, Role};
