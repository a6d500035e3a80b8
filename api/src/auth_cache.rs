//! A short in-process memory of who an access token belongs to, so that most authenticated
//! requests need no database round trip to authenticate.
//!
//! Keyed by the token's SHA-256 hash (the token itself is never kept). An entry lives at most
//! `IPS_AUTH_CACHE_SECONDS` (0 turns the cache off), and never past the token's own expiry.
//! This process forgets a session or a person the moment it ends or changes one: logout, a revoked
//! session, a refresh (the old access token dies), a reused refresh token, a withdrawal, a staff
//! member's role, team or active flag, a password change. Another process (a second
//! `ips serve`, `ips admin`) learns of such a change from the database once the entry here runs
//! out, so revocation reaches every instance within the TTL.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};
use std::time::{Duration, Instant};

use ips_core::store::now;
use ips_core::store::sessions::{Principal, Subject};

/// Most tokens remembered at once: with the TTL of a few seconds this is far more than the
/// tokens in use; past it, new tokens are simply looked up in the database every time.
const MAX_ENTRIES: usize = 100_000;

pub struct AuthCache {
    ttl: Duration,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    /// Moves on every eviction. A lookup that read the database before an eviction must not
    /// store what it read after it: the session may have ended in between.
    generation: u64,
}

struct Entry {
    principal: Principal,
    until: Instant,
}

impl AuthCache {
    pub fn new(ttl_seconds: u64) -> Self {
        Self {
            ttl: Duration::from_secs(ttl_seconds),
            inner: RwLock::default(),
        }
    }

    fn enabled(&self) -> bool {
        !self.ttl.is_zero()
    }

    /// The principal remembered for this token hash, if it has not run out.
    pub fn get(&self, token_hash: &str) -> Option<Principal> {
        if !self.enabled() {
            return None;
        }
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        inner
            .entries
            .get(token_hash)
            .filter(|e| e.until > Instant::now())
            .map(|e| e.principal.clone())
    }

    /// Read before asking the database, and hand to [`AuthCache::remember`] with its answer.
    pub fn generation(&self) -> u64 {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .generation
    }

    /// Remembers the database's answer for this token hash, unless something was evicted since
    /// `generation` was read (the answer may be stale) or the token is about to expire.
    pub fn remember(&self, token_hash: String, principal: Principal, generation: u64) {
        if !self.enabled() {
            return;
        }
        let left = (principal.access_expires_at - now())
            .to_std()
            .unwrap_or_default();
        let life = self.ttl.min(left);
        if life.is_zero() {
            return;
        }
        let at = Instant::now();
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.retain(|_, e| e.until > at);
            if inner.entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        inner.entries.insert(
            token_hash,
            Entry {
                principal,
                until: at + life,
            },
        );
    }

    /// Forgets one session's token (logout, revocation, refresh).
    pub fn forget_session(&self, session_id: i64) {
        self.forget(|p| p.session_id == session_id);
    }

    /// Forgets every token of a person (withdrawal, a staff member changed or deactivated).
    pub fn forget_subject(&self, subject: Subject) {
        self.forget(|p| p.subject == subject);
    }

    fn forget(&self, matches: impl Fn(&Principal) -> bool) {
        let at = Instant::now();
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        inner.generation = inner.generation.wrapping_add(1);
        // Expired entries go too: evictions are rare, and this keeps the map small.
        inner
            .entries
            .retain(|_, e| e.until > at && !matches(&e.principal));
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration as Span;

    use super::*;

    fn principal(session_id: i64, subject: Subject, expires_in: Span) -> Principal {
        Principal {
            session_id,
            subject,
            role: None,
            team_id: None,
            access_expires_at: now() + expires_in,
        }
    }

    #[test]
    fn remembers_until_evicted() {
        let cache = AuthCache::new(5);
        let generation = cache.generation();
        let p = principal(1, Subject::Participant(7), Span::minutes(15));
        cache.remember("a".into(), p.clone(), generation);
        cache.remember(
            "b".into(),
            principal(2, Subject::Participant(8), Span::minutes(15)),
            generation,
        );
        assert_eq!(cache.get("a").map(|p| p.session_id), Some(1));
        cache.forget_session(1);
        assert!(cache.get("a").is_none());
        assert!(cache.get("b").is_some());
        cache.forget_subject(Subject::Participant(8));
        assert!(cache.get("b").is_none());
    }

    #[test]
    fn an_answer_read_before_an_eviction_is_not_remembered() {
        let cache = AuthCache::new(5);
        let generation = cache.generation();
        cache.forget_session(99);
        cache.remember(
            "a".into(),
            principal(1, Subject::Staff(3), Span::minutes(15)),
            generation,
        );
        assert!(cache.get("a").is_none());
    }

    #[test]
    fn off_at_zero_and_never_past_the_token() {
        let off = AuthCache::new(0);
        off.remember(
            "a".into(),
            principal(1, Subject::Staff(3), Span::minutes(15)),
            off.generation(),
        );
        assert!(off.get("a").is_none());
        let cache = AuthCache::new(5);
        cache.remember(
            "expired".into(),
            principal(1, Subject::Staff(3), Span::seconds(-1)),
            cache.generation(),
        );
        assert!(cache.get("expired").is_none());
    }
}
