ALTER TABLE participants DROP COLUMN withdrawal_note;
ALTER TABLE participants DROP COLUMN closed_reason;
DROP TABLE devices;
