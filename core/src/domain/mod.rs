//! Domain types and rules that need no database.

pub mod enrolment_code;
pub mod password;
pub mod roles;
pub mod tokens;

pub use roles::{
    ContactRequestKind, ContactRequestStatus, Language, ParticipantStatus, Role, SenderKind,
};
