DROP INDEX contact_requests_interview_idx;
ALTER TABLE contact_requests DROP COLUMN interview_id;
