-- Push devices: the push token of an app install, tied to the session that registered it, so that
-- ending the session (logout, a lost phone, a withdrawal) ends the pushes. A token exists once:
-- registering it again moves it to whoever registered it last (a phone changed hands).
CREATE TABLE devices (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT REFERENCES participants (id),
    staff_id BIGINT REFERENCES staff (id),
    session_id BIGINT REFERENCES sessions (id) ON DELETE CASCADE,
    platform TEXT NOT NULL CHECK (platform IN ('apns', 'fcm')),
    token TEXT NOT NULL UNIQUE,
    app_version TEXT NOT NULL,
    locale TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    last_registered_at TIMESTAMP NOT NULL,
    CHECK ((participant_id IS NULL) <> (staff_id IS NULL))
);
-- One app install per session, so one push token per session.
CREATE UNIQUE INDEX devices_session_idx ON devices (session_id);
CREATE INDEX devices_participant_idx ON devices (participant_id, id);
CREATE INDEX devices_staff_idx ON devices (staff_id, id);

-- Why a case was closed; a withdrawal records 'withdrew' and the participant's own words, if any.
ALTER TABLE participants ADD COLUMN closed_reason TEXT CHECK (closed_reason IN ('work', 'education', 'withdrew', 'moved', 'other'));
ALTER TABLE participants ADD COLUMN withdrawal_note TEXT;
