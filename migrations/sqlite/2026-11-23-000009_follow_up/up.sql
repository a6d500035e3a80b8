-- Follow-up without end (IPS principle 6): plans, status history, jobs, the contact log, alerts.

-- A case may close because the participant could not be reached, but only after logged outreach (item 25).
-- SQLite cannot alter a CHECK, so the column is replaced by one with the new rule.
ALTER TABLE participants ADD COLUMN closed_reason_new TEXT
    CHECK (closed_reason_new IN ('work', 'education', 'withdrew', 'moved', 'lost_contact', 'other'));
UPDATE participants SET closed_reason_new = closed_reason;
ALTER TABLE participants DROP COLUMN closed_reason;
ALTER TABLE participants RENAME COLUMN closed_reason_new TO closed_reason;

-- The history of every status change: who moved the case from what to what, and why.
-- Insert-only. The first row of a case has no `from_status` (the enrolment).
CREATE TABLE status_changes (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    from_status TEXT CHECK (from_status IN ('referred', 'job_seeking', 'in_work', 'in_education', 'paused', 'closed')),
    to_status TEXT NOT NULL CHECK (to_status IN ('referred', 'job_seeking', 'in_work', 'in_education', 'paused', 'closed')),
    closed_reason TEXT CHECK (closed_reason IN ('work', 'education', 'withdrew', 'moved', 'lost_contact', 'other')),
    note TEXT CHECK (length(note) <= 1000),
    changed_at TIMESTAMP NOT NULL,
    changed_by_kind TEXT NOT NULL CHECK (changed_by_kind IN ('staff', 'participant', 'system')),
    changed_by_id BIGINT,
    CHECK ((to_status = 'closed') = (closed_reason IS NOT NULL))
);
CREATE INDEX status_changes_participant_idx ON status_changes (participant_id, id);
-- Reports count closures and starts in a period.
CREATE INDEX status_changes_time_idx ON status_changes (changed_at, to_status);

-- Every active participant's follow-up plan (IPS principle 6): a cadence, an optional agreed next contact,
-- no end date. `due_at` is the latest time the next contact is due (NULL once the case is closed).
-- The scanner's work is found through the two `*_check_at` columns alone, so a scan costs what is due:
--   follow_up_check_at / follow_up_check_stage: when to raise the 'due' alert, then the 'overdue' one;
--   employer_check_at: enrolment + N days, cleared by the first employer contact or by the alert.
CREATE TABLE follow_up_plans (
    participant_id BIGINT PRIMARY KEY REFERENCES participants (id),
    phase TEXT NOT NULL CHECK (phase IN ('job_search', 'before_job_start', 'new_job', 'established_job', 'education', 'after_job_loss')),
    cadence_days INTEGER NOT NULL CHECK (cadence_days BETWEEN 1 AND 366),
    next_contact_at TIMESTAMP,
    last_contact_at TIMESTAMP,
    due_at TIMESTAMP,
    paused_until TIMESTAMP,
    pause_reason TEXT CHECK (length(pause_reason) <= 500),
    follow_up_check_at TIMESTAMP,
    follow_up_check_stage TEXT CHECK (follow_up_check_stage IN ('due', 'overdue')),
    employer_check_at TIMESTAMP,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by_kind TEXT NOT NULL CHECK (updated_by_kind IN ('staff', 'participant', 'system')),
    updated_by_id BIGINT,
    CHECK ((paused_until IS NULL) = (pause_reason IS NULL)),
    CHECK ((follow_up_check_at IS NULL) = (follow_up_check_stage IS NULL))
);
CREATE INDEX follow_up_plans_check_idx ON follow_up_plans (follow_up_check_at) WHERE follow_up_check_at IS NOT NULL;
CREATE INDEX follow_up_plans_employer_check_idx ON follow_up_plans (employer_check_at) WHERE employer_check_at IS NOT NULL;

-- Jobs: competitive (ordinary, paid, open to anyone) or not; a start and, later, an end with its reason.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    employer TEXT NOT NULL CHECK (length(employer) BETWEEN 1 AND 200),
    role_title TEXT NOT NULL CHECK (length(role_title) BETWEEN 1 AND 200),
    hours_per_week REAL NOT NULL CHECK (hours_per_week > 0 AND hours_per_week <= 80),
    competitive BOOLEAN NOT NULL,
    start_date DATE NOT NULL,
    end_date DATE,
    end_reason TEXT CHECK (end_reason IN ('quit', 'dismissed', 'contract_ended', 'laid_off', 'other')),
    end_note TEXT CHECK (length(end_note) <= 1000),
    recorded_by_kind TEXT NOT NULL CHECK (recorded_by_kind IN ('staff', 'participant')),
    recorded_by_id BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (end_date IS NULL OR end_date >= start_date),
    CHECK ((end_date IS NULL) = (end_reason IS NULL))
);
CREATE INDEX jobs_participant_idx ON jobs (participant_id, start_date, id);
CREATE INDEX jobs_start_idx ON jobs (start_date);

-- The follow-up log: each contact a specialist had or tried to have, with a participant or with an employer
-- (job development, IPS principle 8, with or without a participant). `reached = false` is an outreach attempt
-- that did not reach the person (fidelity item 25). Location and duration feed fidelity item 24.
CREATE TABLE contacts (
    id INTEGER PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    team_id BIGINT NOT NULL REFERENCES teams (id),
    participant_id BIGINT REFERENCES participants (id),
    party TEXT NOT NULL CHECK (party IN ('participant', 'employer')),
    channel TEXT NOT NULL CHECK (channel IN ('meeting', 'phone', 'video', 'message')),
    reached BOOLEAN NOT NULL,
    employer TEXT CHECK (length(employer) BETWEEN 1 AND 200),
    location TEXT CHECK (location IN ('community', 'office')),
    duration_minutes INTEGER CHECK (duration_minutes BETWEEN 1 AND 1440),
    note TEXT CHECK (length(note) <= 1000),
    contacted_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    CHECK (party = 'employer' OR participant_id IS NOT NULL),
    CHECK (party = 'participant' OR employer IS NOT NULL)
);
CREATE INDEX contacts_participant_idx ON contacts (participant_id, contacted_at);
CREATE INDEX contacts_team_idx ON contacts (team_id, party, contacted_at);
CREATE INDEX contacts_staff_idx ON contacts (staff_id, contacted_at);

-- Alerts to a participant's specialist. One row per occurrence of a cause (the dedupe key names it), raised by
-- the worker's scans, delivered through the notification outbox. Who may see an alert follows the caseload
-- (the participant's current specialist, their supervisor); `staff_id` is whom it was raised for.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    kind TEXT NOT NULL CHECK (kind IN ('follow_up_due', 'follow_up_overdue', 'no_employer_contact', 'interview_without_outcome', 'message_unanswered', 'request_waiting', 'participant_withdrew')),
    dedupe_key TEXT NOT NULL UNIQUE,
    subject_type TEXT,
    subject_id BIGINT,
    cause_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'acknowledged', 'snoozed', 'resolved')),
    raised_at TIMESTAMP NOT NULL,
    acknowledged_at TIMESTAMP,
    acknowledged_by BIGINT REFERENCES staff (id),
    snoozed_until TIMESTAMP,
    resolved_at TIMESTAMP,
    resolved_by BIGINT REFERENCES staff (id),
    resolution TEXT CHECK (resolution IN ('by_staff', 'cause_gone', 'superseded')),
    resolution_note TEXT CHECK (length(resolution_note) <= 1000),
    updated_at TIMESTAMP NOT NULL,
    CHECK ((status = 'snoozed') = (snoozed_until IS NOT NULL)),
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL AND resolution IS NOT NULL))
);
CREATE INDEX alerts_participant_idx ON alerts (participant_id, status, id);
CREATE INDEX alerts_staff_idx ON alerts (staff_id, status, id);
-- Snoozed alerts come back when their time is up.
CREATE INDEX alerts_snoozed_idx ON alerts (snoozed_until) WHERE status = 'snoozed';

-- What the other scans look at, each a partial index holding only rows still waiting for the scanner.
-- An interview that ended without an outcome (set once its alert is raised):
ALTER TABLE interviews ADD COLUMN outcome_alerted_at TIMESTAMP;
CREATE INDEX interviews_outcome_check_idx ON interviews (ends_at) WHERE status IN ('scheduled', 'confirmed') AND outcome_alerted_at IS NULL;
-- A participant's message waiting for an answer: the deadline in working hours, on the oldest unanswered one.
ALTER TABLE messages ADD COLUMN answer_due_at TIMESTAMP;
CREATE INDEX messages_answer_due_idx ON messages (answer_due_at) WHERE answer_due_at IS NOT NULL;
-- An open call-me or benefits-counselling request not yet alerted:
ALTER TABLE contact_requests ADD COLUMN alerted_at TIMESTAMP;
CREATE INDEX contact_requests_alert_check_idx ON contact_requests (created_at) WHERE status = 'open' AND alerted_at IS NULL;
-- A withdrawal not yet alerted:
ALTER TABLE participants ADD COLUMN withdrawal_alerted_at TIMESTAMP;
CREATE INDEX participants_withdrawal_check_idx ON participants (withdrawn_at) WHERE withdrawn_at IS NOT NULL AND withdrawal_alerted_at IS NULL;

-- Every existing case gets its history's first row and a plan: weekly, first due a week from now.
INSERT INTO status_changes (participant_id, from_status, to_status, closed_reason, changed_at, changed_by_kind, changed_by_id)
SELECT id, NULL, status, closed_reason, enrolled_at, 'staff', created_by FROM participants;
INSERT INTO follow_up_plans (participant_id, phase, cadence_days, due_at, follow_up_check_at, follow_up_check_stage, version, updated_at, updated_by_kind)
SELECT id, 'job_search', 7,
       CASE WHEN status = 'closed' THEN NULL ELSE datetime('now', '+7 days') END,
       CASE WHEN status = 'closed' THEN NULL ELSE datetime('now', '+6 days') END,
       CASE WHEN status = 'closed' THEN NULL ELSE 'due' END,
       1, datetime('now'), 'system'
FROM participants;
