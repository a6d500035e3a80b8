-- The worker claims the oldest due rows first, ties broken by id (`ORDER BY next_attempt_at, id
-- LIMIT n`). With the id in the index the claim reads its batch straight off the index; without
-- it, a backlog due at the same minute (every 09:00 reminder) was sorted whole on every claim.
DROP INDEX notifications_due_idx;
CREATE INDEX notifications_due_idx ON notifications (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX notifications_lease_idx;
CREATE INDEX notifications_lease_idx ON notifications (lease_expires_at, id) WHERE status = 'in_flight';

-- Every lookup by subject (an interview's reminders still to come, cancelling them) asks for
-- pending rows only. Indexing only those keeps the index small and spares the worker an index
-- entry on each claim and settle (neither new row version is pending).
DROP INDEX notifications_subject_idx;
CREATE INDEX notifications_subject_idx ON notifications (subject_type, subject_id) WHERE status = 'pending';
DROP INDEX webhook_deliveries_due_idx;
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
DROP INDEX webhook_deliveries_lease_idx;
CREATE INDEX webhook_deliveries_lease_idx ON webhook_deliveries (lease_expires_at, id) WHERE status = 'in_flight';
