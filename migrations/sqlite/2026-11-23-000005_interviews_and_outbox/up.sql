-- Job interviews and the notification outbox their reminders go through.

CREATE TABLE interviews (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    employer TEXT NOT NULL,
    role_title TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    time_zone TEXT NOT NULL,
    address TEXT,
    video_link TEXT,
    contact_person TEXT,
    specialist_attends BOOLEAN NOT NULL,
    notes TEXT,
    checklist TEXT NOT NULL,
    debrief TEXT,
    cancel_reason TEXT,
    status TEXT NOT NULL CHECK (status IN ('scheduled', 'confirmed', 'cancelled', 'completed')),
    outcome TEXT CHECK (outcome IN ('offer', 'rejected', 'waiting', 'no_show')),
    sequence INTEGER NOT NULL,
    created_by_kind TEXT NOT NULL CHECK (created_by_kind IN ('participant', 'staff')),
    created_by_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX interviews_participant_start_idx ON interviews (participant_id, starts_at, id);
-- For the follow-up scan "an interview passed without an outcome".
CREATE INDEX interviews_open_end_idx ON interviews (ends_at) WHERE status IN ('scheduled', 'confirmed');

-- One row per notification to one person. The worker claims due rows with a lease.
CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    recipient_kind TEXT NOT NULL CHECK (recipient_kind IN ('participant', 'staff')),
    recipient_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    subject_type TEXT,
    subject_id BIGINT,
    payload TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP,
    status TEXT NOT NULL CHECK (status IN ('pending', 'in_flight', 'sent', 'failed', 'cancelled')),
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_owner TEXT,
    lease_expires_at TIMESTAMP,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    read_at TIMESTAMP
);
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_recipient_idx ON notifications (recipient_kind, recipient_id, id);
CREATE INDEX notifications_subject_idx ON notifications (subject_type, subject_id);

-- The participant's calendar feed: a random token in the URL, stored hashed, revocable.
ALTER TABLE participants ADD COLUMN calendar_feed_token_hash TEXT;
CREATE UNIQUE INDEX participants_calendar_feed_idx ON participants (calendar_feed_token_hash);
