//! When to try again: exponential backoff with jitter, never sooner than the other side asked
//! (`Retry-After`). Shared by the push dispatcher and the webhook sender.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How retries space out: `base * factor^(n-1)` after the n-th attempt, capped at `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub factor: u32,
    pub max: Duration,
}

impl Backoff {
    /// The wait after attempt number `attempts` (1 for the first): a random point in the upper
    /// half of the step (jitter, so receivers that failed together do not retry together), or
    /// what the other side asked for if that is longer.
    pub fn delay(&self, attempts: i32, asked_seconds: Option<u64>) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
        let step = i64::from(self.factor.max(1)).saturating_pow(exponent);
        let capped = self
            .base
            .num_milliseconds()
            .saturating_mul(step)
            .min(self.max.num_milliseconds());
        let jittered = rand::thread_rng().gen_range(capped / 2..=capped.max(1));
        let asked = asked_seconds.map_or(0, |s| {
            i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000)
        });
        Duration::milliseconds(jittered.max(asked))
    }
}

/// `Retry-After` in seconds from now: delay-seconds, or an HTTP date (RFC 9110), whichever
/// the other side sent. A date in the past asks for nothing.
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<u64> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(seconds);
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?;
    u64::try_from((at.with_timezone(&Utc) - now).num_seconds()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn delays_grow_stay_capped_and_honour_the_asked_time() {
        let b = Backoff {
            base: Duration::seconds(10),
            factor: 2,
            max: Duration::seconds(60),
        };
        for _ in 0..20 {
            let first = b.delay(1, None);
            assert!(first >= Duration::seconds(5) && first <= Duration::seconds(10));
            let third = b.delay(3, None);
            assert!(third >= Duration::seconds(20) && third <= Duration::seconds(40));
            assert!(b.delay(30, None) <= Duration::seconds(60));
            assert_eq!(b.delay(1, Some(600)), Duration::seconds(600));
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        assert_eq!(retry_after(&headers, now), Some(120));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Mon, 23 Nov 2026 12:05:00 GMT"),
        );
        assert_eq!(retry_after(&headers, now), Some(300));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Mon, 23 Nov 2026 11:00:00 GMT"),
        );
        assert_eq!(retry_after(&headers, now), None);
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, now), None);
    }
}
