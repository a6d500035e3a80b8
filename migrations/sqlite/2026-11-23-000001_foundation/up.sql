-- The foundation: teams, staff, participants, enrolment codes, sessions, rate limits, audit trail.
-- Timestamps are TIMESTAMP holding UTC; enums are TEXT with a CHECK; ids are BIGINT.

CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('specialist', 'supervisor', 'admin')),
    team_id BIGINT REFERENCES teams (id),
    phone TEXT,
    working_hours TEXT,
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX staff_team_idx ON staff (team_id);

CREATE TABLE participants (
    id INTEGER PRIMARY KEY,
    team_id BIGINT NOT NULL REFERENCES teams (id),
    specialist_id BIGINT NOT NULL REFERENCES staff (id),
    display_name TEXT NOT NULL,
    preferred_language TEXT NOT NULL CHECK (preferred_language IN ('nb', 'en')),
    time_zone TEXT NOT NULL,
    birth_year INTEGER,
    status TEXT NOT NULL CHECK (status IN ('referred', 'job_seeking', 'in_work', 'in_education', 'paused', 'closed')),
    enrolled_at TIMESTAMP NOT NULL,
    withdrawn_at TIMESTAMP,
    created_by BIGINT NOT NULL REFERENCES staff (id),
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX participants_specialist_idx ON participants (specialist_id, id);
CREATE INDEX participants_team_idx ON participants (team_id, id);

CREATE TABLE enrolment_codes (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    code_hash TEXT NOT NULL UNIQUE,
    created_by BIGINT NOT NULL REFERENCES staff (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX enrolment_codes_participant_idx ON enrolment_codes (participant_id);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    staff_id BIGINT REFERENCES staff (id),
    participant_id BIGINT REFERENCES participants (id),
    device_label TEXT,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP NOT NULL,
    access_token_hash TEXT NOT NULL UNIQUE,
    access_expires_at TIMESTAMP NOT NULL,
    refresh_token_hash TEXT NOT NULL UNIQUE,
    refresh_expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    revoked_reason TEXT CHECK (revoked_reason IN ('logout', 'revoked', 'refresh_reuse', 'staff_deactivated', 'withdrawn')),
    CHECK ((staff_id IS NULL) <> (participant_id IS NULL))
);
CREATE INDEX sessions_staff_idx ON sessions (staff_id);
CREATE INDEX sessions_participant_idx ON sessions (participant_id);
CREATE INDEX sessions_refresh_expiry_idx ON sessions (refresh_expires_at);

-- Refresh tokens already exchanged: presenting one again means it was stolen, and ends the session.
CREATE TABLE used_refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id BIGINT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    used_at TIMESTAMP NOT NULL
);
CREATE INDEX used_refresh_tokens_session_idx ON used_refresh_tokens (session_id);

-- Failed logins and enrolment-code guesses, by bucket (a hashed e-mail, a client address).
CREATE TABLE auth_failures (
    id INTEGER PRIMARY KEY,
    bucket TEXT NOT NULL,
    failed_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_failures_bucket_idx ON auth_failures (bucket, failed_at);
CREATE INDEX auth_failures_time_idx ON auth_failures (failed_at);

-- Who did what to which participant. Rows are only ever inserted.
CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY,
    occurred_at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL CHECK (actor_kind IN ('staff', 'participant', 'system')),
    actor_id BIGINT,
    action TEXT NOT NULL,
    participant_id BIGINT REFERENCES participants (id),
    subject_type TEXT,
    subject_id BIGINT,
    request_id TEXT
);
CREATE INDEX audit_events_participant_idx ON audit_events (participant_id, id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_kind, actor_id, id);
