ALTER TABLE follow_up_plans DROP COLUMN started_at;
