//! What a push transport is given and what it answers, whatever the provider.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// A push, already rendered in the recipient's language and with nothing sensitive on the lock
/// screen unless they allowed previews.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    pub notification_id: i64,
    pub title: String,
    pub body: String,
    /// The app's action set (an APNs category; the same name in FCM data), e.g. the reminder's
    /// confirm / cancel / "I need to talk" buttons.
    pub category: Option<&'static str>,
    /// Ids the app needs to act (never sensitive text).
    pub data: BTreeMap<String, String>,
    /// A later push with the same key replaces this one on the device (a moved interview).
    pub collapse_key: String,
    /// After this the push is useless and the provider should drop it.
    pub expires_at: Option<DateTime<Utc>>,
}

/// One device to push to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub device_id: i64,
    pub token: String,
}

/// What the provider said about one push to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered {
        provider_id: Option<String>,
    },
    /// A transient failure (network, 5xx, 429): try again, not before `after_seconds` if given.
    Retry {
        after_seconds: Option<u64>,
        error: String,
    },
    /// The push itself is wrong and will never succeed (a bad payload, bad credentials).
    Failed {
        error: String,
    },
    /// The device's token is gone (app uninstalled, token expired): stop pushing to it.
    Gone {
        error: String,
    },
}

/// A push provider (APNs, FCM) or the development log.
#[async_trait::async_trait]
pub trait Transport: Send + Sync {
    /// The `devices.platform` this transport serves (`apns`, `fcm`), or `log`.
    fn name(&self) -> &'static str;
    async fn send(&self, target: &Target, message: &PushMessage) -> Outcome;
}
