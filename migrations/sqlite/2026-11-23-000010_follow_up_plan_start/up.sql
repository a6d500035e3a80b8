-- When a plan's current rhythm began: the enrolment, a resume after a pause, a reopening. With no
-- contact since, the next one is due a cadence after it (docs/follow-up.md, "the plan's start").
-- SQLite adds a NOT NULL column only with a default; every row is given its real value at once.
-- Existing plans began when migration 000009 made them.
ALTER TABLE follow_up_plans ADD COLUMN started_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE follow_up_plans SET started_at = updated_at;
