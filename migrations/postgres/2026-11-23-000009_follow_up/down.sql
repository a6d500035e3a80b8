DROP INDEX participants_withdrawal_check_idx;
ALTER TABLE participants DROP COLUMN withdrawal_alerted_at;
DROP INDEX contact_requests_alert_check_idx;
ALTER TABLE contact_requests DROP COLUMN alerted_at;
DROP INDEX messages_answer_due_idx;
ALTER TABLE messages DROP COLUMN answer_due_at;
DROP INDEX interviews_outcome_check_idx;
ALTER TABLE interviews DROP COLUMN outcome_alerted_at;
DROP TABLE alerts;
DROP TABLE contacts;
DROP TABLE jobs;
DROP TABLE follow_up_plans;
DROP TABLE status_changes;
UPDATE participants SET closed_reason = 'other' WHERE closed_reason = 'lost_contact';
ALTER TABLE participants DROP CONSTRAINT participants_closed_reason_check;
ALTER TABLE participants ADD CONSTRAINT participants_closed_reason_check
    CHECK (closed_reason IN ('work', 'education', 'withdrew', 'moved', 'other'));
