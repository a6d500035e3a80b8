-- The caseload view, reassignment and team reports.

-- Who carried a participant's case before: every reassignment by a supervisor, with its note.
-- Insert-only. The caseload rule itself follows `participants.specialist_id`; this is the history.
CREATE TABLE reassignments (
    id INTEGER PRIMARY KEY,
    participant_id BIGINT NOT NULL REFERENCES participants (id),
    from_specialist_id BIGINT NOT NULL REFERENCES staff (id),
    to_specialist_id BIGINT NOT NULL REFERENCES staff (id),
    note TEXT CHECK (length(note) <= 1000),
    reassigned_by BIGINT NOT NULL REFERENCES staff (id),
    reassigned_at TIMESTAMP NOT NULL,
    CHECK (from_specialist_id <> to_specialist_id)
);
CREATE INDEX reassignments_participant_idx ON reassignments (participant_id, id);
