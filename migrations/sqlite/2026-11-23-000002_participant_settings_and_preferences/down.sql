DROP TABLE job_preference_changes;
DROP TABLE job_preferences;
ALTER TABLE participants DROP COLUMN lock_screen_previews;
ALTER TABLE participants DROP COLUMN reminder_offsets;
ALTER TABLE participants DROP COLUMN quiet_hours_end;
ALTER TABLE participants DROP COLUMN quiet_hours_start;
