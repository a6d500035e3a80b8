//! The store: every query the product makes, one module per table or aggregate.
//!
//! Functions take `&mut DbConnection` so callers compose them inside one transaction
//! (`Db::write`); none of them opens a transaction of its own unless it says so.

pub mod alert_scans;
pub mod alerts;
pub mod audit;
pub mod auth_failures;
pub mod bulk;
pub mod caseload;
pub mod contact_requests;
pub mod contacts;
pub mod devices;
pub mod enrolment_codes;
pub mod export;
pub mod follow_up;
pub mod housekeeping;
pub mod idempotency;
pub mod inbox;
pub mod interviews;
pub mod job_preferences;
pub mod jobs;
pub mod messages;
pub mod notice_facts;
pub mod notifications;
pub mod outbox;
pub mod participants;
pub mod prepared;
pub mod reassignments;
pub mod reports;
pub mod sessions;
pub mod staff;
pub mod status_changes;
pub mod teams;
pub mod webhook_deliveries;
pub mod webhooks;

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// A store failure, classified by what the caller should tell its client.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    /// A uniqueness or state conflict; the text names what clashed (safe to show).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or is too busy: worth retrying later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<DieselError> for StoreError {
    fn from(err: DieselError) -> Self {
        match err {
            DieselError::NotFound => StoreError::NotFound,
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                StoreError::Conflict(info.constraint_name().unwrap_or("unique").to_owned())
            }
            DieselError::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                info,
            ) => StoreError::Unavailable(info.message().to_owned()),
            DieselError::DatabaseError(_, ref info) if is_transient(info.message()) => {
                StoreError::Unavailable(info.message().to_owned())
            }
            DieselError::BrokenTransactionManager => {
                StoreError::Unavailable("broken transaction".into())
            }
            // COMMIT failed and so did the ROLLBACK diesel then tries: what went wrong is the
            // commit's error (on a lost connection, both fail; the database rolls back itself).
            DieselError::RollbackErrorOnCommit { commit_error, .. } => Self::from(*commit_error),
            other => StoreError::Internal(anyhow::Error::new(other)),
        }
    }
}

/// Messages that mean "the server went away or is busy", which diesel reports as `Unknown`.
fn is_transient(message: &str) -> bool {
    const MARKERS: &[&str] = &[
        "database is locked",
        "server closed the connection",
        "terminating connection",
        "connection to server",
        "no connection to the server",
        "could not receive data",
        "could not send data",
        "SSL connection has been closed",
        "the database system is",
    ];
    MARKERS.iter().any(|m| message.contains(m))
}

/// Now, in UTC, at the microsecond precision both backends store.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// Stored timestamps are naive UTC; the API speaks RFC 3339 with an explicit `Z`.
pub fn utc(at: NaiveDateTime) -> DateTime<Utc> {
    at.and_utc()
}

/// A page of a keyset-paginated list: `next_after` is the last id when more rows follow.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_after: Option<i64>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only says that more follow.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> i64) -> Self {
        let limit = usize::try_from(limit).unwrap_or(0);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_after = if more { rows.last().map(&id_of) } else { None };
        Page {
            items: rows,
            next_after,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_after: self.next_after,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database_error(kind: DatabaseErrorKind, message: &str) -> DieselError {
        DieselError::DatabaseError(kind, Box::new(message.to_owned()))
    }

    #[test]
    fn a_lost_connection_is_unavailable_wherever_it_is_noticed() {
        let lost = || {
            database_error(
                DatabaseErrorKind::ClosedConnection,
                "server closed the connection unexpectedly",
            )
        };
        assert!(matches!(
            StoreError::from(lost()),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            StoreError::from(database_error(
                DatabaseErrorKind::Unknown,
                "could not send data to server: Broken pipe"
            )),
            StoreError::Unavailable(_)
        ));
        // A COMMIT on a dead connection fails, and so does the ROLLBACK diesel tries next.
        let at_commit = DieselError::RollbackErrorOnCommit {
            rollback_error: Box::new(database_error(
                DatabaseErrorKind::ClosedConnection,
                "no connection to the server",
            )),
            commit_error: Box::new(lost()),
        };
        assert!(matches!(
            StoreError::from(at_commit),
            StoreError::Unavailable(_)
        ));
        // A commit refused for another reason stays an internal error.
        let refused = DieselError::RollbackErrorOnCommit {
            rollback_error: Box::new(DieselError::BrokenTransactionManager),
            commit_error: Box::new(database_error(
                DatabaseErrorKind::CheckViolation,
                "new row violates check constraint",
            )),
        };
        assert!(matches!(StoreError::from(refused), StoreError::Internal(_)));
    }
}
