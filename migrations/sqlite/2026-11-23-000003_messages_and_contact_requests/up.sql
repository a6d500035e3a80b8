-- Contact between a participant and their team: one message thread per participant, "please call me" and
-- benefits-counselling requests, and the stored answers that make retried POSTs safe (Idempotency-Key).

-- One thread per participant. A participant's message has no staff sender; a staff message names its sender.
-- `read_at` is when the other side read it (read receipts both ways).
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    sender_kind TEXT NOT NULL CHECK (sender_kind IN ('participant', 'staff')),
    sender_staff_id BIGINT REFERENCES staff (id),
    body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4000),
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP,
    CHECK ((sender_kind = 'staff') = (sender_staff_id IS NOT NULL))
);
CREATE INDEX messages_participant_idx ON messages (participant_id, id);
-- Unread counts look only at unread rows of one side of one thread.
CREATE INDEX messages_unread_idx ON messages (participant_id, sender_kind, id) WHERE read_at IS NULL;

-- IPS principle 4: a benefits-counselling request must never silently drop, so open requests are found
-- by (status, created_at) for the alerts that flag them.
CREATE TABLE contact_requests (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    kind TEXT NOT NULL CHECK (kind IN ('call_me', 'benefits_counselling')),
    preferred_time TEXT CHECK (length(preferred_time) <= 200),
    note TEXT CHECK (length(note) <= 1000),
    status TEXT NOT NULL CHECK (status IN ('open', 'handled')),
    created_at TIMESTAMP NOT NULL,
    handled_at TIMESTAMP,
    handled_by_staff_id BIGINT REFERENCES staff (id),
    response_note TEXT CHECK (length(response_note) <= 1000),
    CHECK ((status = 'handled') = (handled_at IS NOT NULL AND handled_by_staff_id IS NOT NULL))
);
CREATE INDEX contact_requests_participant_idx ON contact_requests (participant_id, id);
CREATE INDEX contact_requests_status_idx ON contact_requests (status, created_at);

-- The answer to a POST made with an Idempotency-Key, so a retry gets the same answer and creates nothing.
-- Keys are per caller; housekeeping deletes them after 24 hours.
CREATE TABLE idempotency_keys (
    id INTEGER PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('participant', 'staff')),
    subject_id BIGINT NOT NULL,
    "key" TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response_status INTEGER NOT NULL,
    response_body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (subject_kind, subject_id, "key")
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
