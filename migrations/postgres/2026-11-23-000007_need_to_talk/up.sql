-- "I need to talk" about an interview: a call-me request that says which interview it is about.
ALTER TABLE contact_requests ADD COLUMN interview_id BIGINT REFERENCES interviews (id);
CREATE INDEX contact_requests_interview_idx ON contact_requests (interview_id);
