//! Apple Push Notification service through the `a2` crate, with token authentication (a .p8
//! key). a2 cannot be pointed at a local server, so this transport stays thin: it builds the
//! request and maps a2's answers to outcomes; the mapping is what the tests pin down.

use a2::request::notification::{
    DefaultNotificationBuilder, NotificationBuilder, NotificationOptions,
};
use a2::{Client, ClientConfig, CollapseId, Endpoint, Error, ErrorReason, Priority, PushType};

use crate::push::{Outcome, PushMessage, Target, Transport};

pub struct ApnsTransport {
    client: Client,
    topic: String,
}

/// What configures APNs: all four set, or none.
pub struct ApnsSettings<'a> {
    pub key_file: &'a str,
    pub key_id: &'a str,
    pub team_id: &'a str,
    pub topic: &'a str,
    pub sandbox: bool,
}

impl ApnsTransport {
    /// `Ok(None)` when APNs is not configured; a one-line reason when it is configured wrongly.
    pub fn from_settings(s: &ApnsSettings<'_>) -> Result<Option<Self>, String> {
        let parts = [
            ("IPS_APNS_KEY_FILE", s.key_file),
            ("IPS_APNS_KEY_ID", s.key_id),
            ("IPS_APNS_TEAM_ID", s.team_id),
            ("IPS_APNS_TOPIC", s.topic),
        ];
        let missing: Vec<&str> = parts
            .iter()
            .filter(|(_, v)| v.trim().is_empty())
            .map(|(name, _)| *name)
            .collect();
        if missing.len() == parts.len() {
            return Ok(None);
        }
        if !missing.is_empty() {
            return Err(format!("{} not set", missing.join(", ")));
        }
        let file = std::fs::File::open(s.key_file.trim())
            .map_err(|e| format!("IPS_APNS_KEY_FILE {}: {e}", s.key_file.trim()))?;
        let endpoint = if s.sandbox {
            Endpoint::Sandbox
        } else {
            Endpoint::Production
        };
        let config = ClientConfig {
            endpoint,
            request_timeout_secs: Some(10),
            ..ClientConfig::default()
        };
        // The key's text never appears in the error: a2's signer error names only the failure.
        let client =
            Client::token(file, s.key_id.trim(), s.team_id.trim(), config).map_err(|e| {
                format!(
                    "IPS_APNS_KEY_FILE {} is not a usable .p8 key: {e}",
                    s.key_file.trim()
                )
            })?;
        Ok(Some(Self {
            client,
            topic: s.topic.trim().to_owned(),
        }))
    }
}

#[async_trait::async_trait]
impl Transport for ApnsTransport {
    fn name(&self) -> &'static str {
        "apns"
    }

    async fn send(&self, target: &Target, message: &PushMessage) -> Outcome {
        let mut builder = DefaultNotificationBuilder::new()
            .set_title(&message.title)
            .set_body(&message.body);
        if let Some(category) = message.category {
            builder = builder.set_category(category);
        }
        let options = NotificationOptions {
            apns_push_type: Some(PushType::Alert),
            apns_priority: Some(Priority::High),
            apns_topic: Some(&self.topic),
            // One collapse id per interview: a moved interview's reminder replaces the earlier one.
            apns_collapse_id: CollapseId::new(&message.collapse_key).ok(),
            // No reminder may arrive after the interview has started.
            apns_expiration: message
                .expires_at
                .and_then(|at| u64::try_from(at.timestamp()).ok()),
            ..NotificationOptions::default()
        };
        let mut payload = builder.build(&target.token, options);
        for (key, value) in &message.data {
            if let Err(e) = payload.add_custom_data(key, value) {
                return Outcome::Failed {
                    error: format!("custom data: {e}"),
                };
            }
        }
        match self.client.send(payload).await {
            Ok(response) => Outcome::Delivered {
                provider_id: response.apns_id,
            },
            Err(e) => outcome_of(&e),
        }
    }
}

/// What an a2 error means for the notification and the device.
pub fn outcome_of(error: &Error) -> Outcome {
    match error {
        Error::ResponseError(response) => {
            let reason = response.error.as_ref().map(|e| &e.reason);
            let text = format!(
                "APNs {}: {}",
                response.code,
                reason.map_or_else(|| "no reason".to_owned(), |r| format!("{r:?}"))
            );
            match (response.code, reason) {
                (410, _)
                | (
                    _,
                    Some(
                        ErrorReason::Unregistered
                        | ErrorReason::BadDeviceToken
                        | ErrorReason::DeviceTokenNotForTopic,
                    ),
                ) => Outcome::Gone { error: text },
                // a2 renews its provider token itself; try again shortly.
                (
                    _,
                    Some(
                        ErrorReason::ExpiredProviderToken
                        | ErrorReason::TooManyProviderTokenUpdates,
                    ),
                ) => Outcome::Retry {
                    after_seconds: None,
                    error: text,
                },
                (429 | 500..=599, _) => Outcome::Retry {
                    after_seconds: None,
                    error: text,
                },
                _ => Outcome::Failed { error: text },
            }
        }
        Error::ConnectionError(_) | Error::ClientError(_) | Error::RequestTimeout(_) => {
            Outcome::Retry {
                after_seconds: None,
                error: error.to_string(),
            }
        }
        other => Outcome::Failed {
            error: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use a2::{ErrorBody, Response};

    use super::*;

    fn answer(code: u16, reason: Option<ErrorReason>) -> Outcome {
        outcome_of(&Error::ResponseError(Response {
            error: reason.map(|reason| ErrorBody {
                reason,
                timestamp: None,
            }),
            apns_id: None,
            code,
        }))
    }

    #[test]
    fn gone_tokens_disable_the_device() {
        assert!(matches!(
            answer(410, Some(ErrorReason::Unregistered)),
            Outcome::Gone { .. }
        ));
        assert!(matches!(
            answer(400, Some(ErrorReason::BadDeviceToken)),
            Outcome::Gone { .. }
        ));
        assert!(matches!(
            answer(400, Some(ErrorReason::DeviceTokenNotForTopic)),
            Outcome::Gone { .. }
        ));
        assert!(matches!(answer(410, None), Outcome::Gone { .. }));
    }

    #[test]
    fn throttling_and_server_trouble_are_retried() {
        assert!(matches!(
            answer(429, Some(ErrorReason::TooManyRequests)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            answer(500, Some(ErrorReason::InternalServerError)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            answer(503, Some(ErrorReason::ServiceUnavailable)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            answer(503, Some(ErrorReason::Shutdown)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            answer(403, Some(ErrorReason::ExpiredProviderToken)),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            outcome_of(&Error::RequestTimeout(10)),
            Outcome::Retry { .. }
        ));
    }

    #[test]
    fn a_wrong_request_fails_without_retrying() {
        for (code, reason) in [
            (400, ErrorReason::BadTopic),
            (400, ErrorReason::PayloadEmpty),
            (403, ErrorReason::InvalidProviderToken),
            (413, ErrorReason::PayloadTooLarge),
        ] {
            let outcome = answer(code, Some(reason));
            assert!(
                matches!(&outcome, Outcome::Failed { error } if error.starts_with(&format!("APNs {code}"))),
                "{outcome:?}"
            );
        }
        assert!(matches!(
            outcome_of(&Error::InvalidOptions("x".into())),
            Outcome::Failed { .. }
        ));
    }

    fn settings<'a>(key_file: &'a str, key_id: &'a str) -> ApnsSettings<'a> {
        ApnsSettings {
            key_file,
            key_id,
            team_id: "TEAM123456",
            topic: "no.ips.companion",
            sandbox: true,
        }
    }

    #[test]
    fn configuration_is_all_or_nothing_with_one_clear_reason() {
        let none = ApnsSettings {
            key_file: "",
            key_id: "",
            team_id: "",
            topic: "",
            sandbox: false,
        };
        assert!(matches!(ApnsTransport::from_settings(&none), Ok(None)));
        let Err(partial) = ApnsTransport::from_settings(&settings("", "KEY1234567")) else {
            panic!("a partial configuration is refused")
        };
        assert_eq!(partial, "IPS_APNS_KEY_FILE not set");
        let Err(missing) =
            ApnsTransport::from_settings(&settings("/nonexistent/key.p8", "KEY1234567"))
        else {
            panic!("a missing file is refused")
        };
        assert!(
            missing.starts_with("IPS_APNS_KEY_FILE /nonexistent/key.p8:"),
            "{missing}"
        );
        let dir = tempfile::tempdir().expect("dir");
        let junk = dir.path().join("junk.p8");
        std::fs::write(
            &junk,
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LW5vdC1hLWtleQ==\n-----END PRIVATE KEY-----\n",
        )
        .expect("write");
        let Err(bad) =
            ApnsTransport::from_settings(&settings(junk.to_str().expect("path"), "KEY1234567"))
        else {
            panic!("junk is refused")
        };
        assert!(
            bad.contains("is not a usable .p8 key") && !bad.contains("c2VjcmV0"),
            "{bad}"
        );
        assert_eq!(bad.lines().count(), 1);
    }

    #[tokio::test]
    async fn a_real_p8_key_makes_a_transport() {
        // A P-256 key in PKCS#8, as Apple issues them, made with the openssl command line.
        let dir = tempfile::tempdir().expect("dir");
        let key = dir.path().join("AuthKey.p8");
        let made = std::process::Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
            ])
            .arg(&key)
            .status()
            .expect("openssl is installed");
        assert!(made.success());
        let transport =
            ApnsTransport::from_settings(&settings(key.to_str().expect("path"), "KEY1234567"));
        assert!(matches!(transport, Ok(Some(_))), "{:?}", transport.err());
    }
}
