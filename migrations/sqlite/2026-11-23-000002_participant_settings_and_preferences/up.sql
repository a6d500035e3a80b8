-- A participant's own settings, and their job preferences (IPS principle 7) with a history of every
-- version (the fidelity item "vocational profile kept current").

-- Quiet hours are local wall-clock "HH:MM" in the participant's time zone; the window may cross midnight.
-- Reminder offsets are a JSON list of minutes before an interview, largest first.
ALTER TABLE participants ADD COLUMN quiet_hours_start TEXT NOT NULL DEFAULT '22:00';
ALTER TABLE participants ADD COLUMN quiet_hours_end TEXT NOT NULL DEFAULT '08:00';
ALTER TABLE participants ADD COLUMN reminder_offsets TEXT NOT NULL DEFAULT '[1440,120]';
ALTER TABLE participants ADD COLUMN lock_screen_previews BOOLEAN NOT NULL DEFAULT FALSE;

-- One row per participant, created by the first save. Lists are JSON arrays of strings.
CREATE TABLE job_preferences (
    participant_id BIGINT PRIMARY KEY REFERENCES participants (id),
    goal TEXT CHECK (goal IN ('work', 'education')),
    desired_roles TEXT NOT NULL,
    industries TEXT NOT NULL,
    interests TEXT NOT NULL,
    skills TEXT NOT NULL,
    experience TEXT,
    hours_per_week_min INTEGER,
    hours_per_week_max INTEGER,
    preferred_times TEXT NOT NULL,
    locations TEXT NOT NULL,
    max_commute_minutes INTEGER,
    avoid TEXT NOT NULL,
    disclosure TEXT CHECK (disclosure IN ('no', 'partial', 'full')),
    disclosure_notes TEXT,
    notes TEXT,
    version INTEGER NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    updated_by_kind TEXT NOT NULL CHECK (updated_by_kind IN ('participant', 'staff')),
    updated_by_id BIGINT NOT NULL
);

-- Every saved version, written in the same transaction as the save. Insert-only.
CREATE TABLE job_preference_changes (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    version INTEGER NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    changed_by_kind TEXT NOT NULL CHECK (changed_by_kind IN ('participant', 'staff')),
    changed_by_id BIGINT NOT NULL,
    snapshot TEXT NOT NULL,
    UNIQUE (participant_id, version)
);
CREATE INDEX job_preference_changes_participant_idx ON job_preference_changes (participant_id, id);
