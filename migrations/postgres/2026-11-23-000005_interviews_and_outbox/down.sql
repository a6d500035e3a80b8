DROP INDEX participants_calendar_feed_idx;
ALTER TABLE participants DROP COLUMN calendar_feed_token_hash;
DROP TABLE notifications;
DROP TABLE interviews;
