//! Cursor pagination: `?limit=&cursor=`, answered with `{items, next_cursor}`.
//!
//! The cursor is opaque to clients (base64url of a versioned position) so the position's
//! form can change without breaking them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ips_core::store::Page as StorePage;
use serde::{Deserialize, Serialize};

use crate::problem::ApiError;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A checked page request.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub limit: i64,
    pub after: Option<i64>,
}

impl PageQuery {
    pub fn check(&self) -> Result<PageRequest, ApiError> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid("limit", "must be between 1 and 200"));
        }
        let after =
            match &self.cursor {
                None => None,
                Some(c) => Some(decode(c).ok_or_else(|| {
                    ApiError::invalid("cursor", "is not a cursor this API issued")
                })?),
            };
        Ok(PageRequest { limit, after })
    }
}

fn encode(after: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{after}"))
}

fn decode(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("v1:")?.parse().ok()
}

/// The response shape of every list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    pub fn from_store<S>(page: StorePage<S>, f: impl FnMut(S) -> T) -> Self {
        let page = page.map(f);
        Page {
            items: page.items,
            next_cursor: page.next_after.map(encode),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        assert_eq!(decode(&encode(42)), Some(42));
        assert_eq!(decode("not-a-cursor"), None);
        assert_eq!(decode(""), None);
        let q = PageQuery {
            limit: Some(0),
            cursor: None,
        };
        assert!(q.check().is_err());
    }
}
