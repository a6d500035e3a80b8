DROP TABLE idempotency_keys;
DROP TABLE contact_requests;
DROP TABLE messages;
