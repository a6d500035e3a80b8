//! The development transport: every push is written to the log instead of being sent. It logs
//! ids and the action category only, never the text.

use crate::push::{Outcome, PushMessage, Target, Transport};

pub struct LogTransport;

#[async_trait::async_trait]
impl Transport for LogTransport {
    fn name(&self) -> &'static str {
        "log"
    }

    async fn send(&self, target: &Target, message: &PushMessage) -> Outcome {
        tracing::info!(
            notification = message.notification_id,
            device = target.device_id,
            category = message.category.unwrap_or("-"),
            "push (log transport)"
        );
        Outcome::Delivered { provider_id: None }
    }
}
