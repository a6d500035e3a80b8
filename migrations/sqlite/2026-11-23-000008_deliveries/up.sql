-- One row per attempt to deliver a notification to one device, with what the push provider said.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    notification_id BIGINT NOT NULL REFERENCES notifications (id),
    device_id BIGINT REFERENCES devices (id) ON DELETE SET NULL,
    platform TEXT NOT NULL CHECK (platform IN ('apns', 'fcm', 'log')),
    outcome TEXT NOT NULL CHECK (outcome IN ('attempting', 'delivered', 'in_doubt', 'retry', 'failed', 'gone')),
    provider_message_id TEXT,
    error TEXT,
    attempted_at TIMESTAMP NOT NULL
);
CREATE INDEX deliveries_notification_idx ON deliveries (notification_id);
CREATE INDEX deliveries_attempted_idx ON deliveries (attempted_at);

-- A crashed worker's claims are found by their lease expiry.
CREATE INDEX notifications_lease_idx ON notifications (lease_expires_at) WHERE status = 'in_flight';
