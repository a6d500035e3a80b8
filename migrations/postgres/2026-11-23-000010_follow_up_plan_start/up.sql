-- When a plan's current rhythm began: the enrolment, a resume after a pause, a reopening. With no
-- contact since, the next one is due a cadence after it (docs/follow-up.md, "the plan's start").
-- Existing plans began when migration 000009 made them.
ALTER TABLE follow_up_plans ADD COLUMN started_at TIMESTAMP;
UPDATE follow_up_plans SET started_at = updated_at;
ALTER TABLE follow_up_plans ALTER COLUMN started_at SET NOT NULL;
