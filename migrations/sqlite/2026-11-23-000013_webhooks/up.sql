-- Webhooks for integrations (README, "Webhooks"): endpoints an administrator registers, the
-- events written in the transaction of the change that caused them, and one delivery per
-- subscribed endpoint, claimed by the worker under a lease like the notification outbox.

-- An endpoint: where events are POSTed and the secret they are signed with. The secret is kept
-- as it is (the worker needs it to sign); after a rotation the previous one stays valid, and is
-- signed with too, until `previous_secret_expires_at`.
CREATE TABLE webhook_endpoints (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL CHECK (length(url) <= 2000),
    description TEXT NOT NULL CHECK (length(description) <= 500),
    status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'disabled')),
    disabled_reason TEXT,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_expires_at TIMESTAMP,
    created_by BIGINT NOT NULL REFERENCES staff (id),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The event types an endpoint wants: one row each, so an event finds its endpoints by index.
CREATE TABLE webhook_subscriptions (
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL CHECK (event_type IN ('alert.raised', 'alert.resolved', 'interview.created', 'interview.changed', 'interview.cancelled', 'participant.enrolled', 'participant.withdrawn', 'reminder.delivered', 'reminder.failed')),
    PRIMARY KEY (endpoint_id, event_type)
);
CREATE INDEX webhook_subscriptions_type_idx ON webhook_subscriptions (event_type, endpoint_id);

-- An event, as sent: `payload` is the exact JSON body, so every delivery and redelivery of the
-- event is byte for byte the same. Ids, types, statuses and times only, never names or text.
CREATE TABLE webhook_events (
    id INTEGER PRIMARY KEY,
    event_id TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL CHECK (event_type IN ('alert.raised', 'alert.resolved', 'interview.created', 'interview.changed', 'interview.cancelled', 'participant.enrolled', 'participant.withdrawn', 'reminder.delivered', 'reminder.failed', 'ping')),
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- One event to one endpoint: the worker's queue, with the same lease columns as `notifications`.
CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY,
    webhook_event_id BIGINT NOT NULL REFERENCES webhook_events (id),
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('pending', 'in_flight', 'delivered', 'failed')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_expires_at TIMESTAMP,
    last_status_code INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP
);
-- The worker's claim: due pending rows, and in-flight rows whose lease ran out.
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_lease_idx ON webhook_deliveries (lease_expires_at) WHERE status = 'in_flight';
-- An endpoint's deliveries, newest first.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (webhook_event_id);

-- Every attempt of a delivery: the HTTP status (none when no answer came), a short error and
-- how long it took. No response body is kept.
CREATE TABLE webhook_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);
