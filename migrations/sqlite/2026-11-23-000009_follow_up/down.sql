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
ALTER TABLE participants ADD COLUMN closed_reason_old TEXT
    CHECK (closed_reason_old IN ('work', 'education', 'withdrew', 'moved', 'other'));
UPDATE participants SET closed_reason_old = CASE WHEN closed_reason = 'lost_contact' THEN 'other' ELSE closed_reason END;
ALTER TABLE participants DROP COLUMN closed_reason;
ALTER TABLE participants RENAME COLUMN closed_reason_old TO closed_reason;
