DROP TABLE audit_events;
DROP TABLE auth_failures;
DROP TABLE used_refresh_tokens;
DROP TABLE sessions;
DROP TABLE enrolment_codes;
DROP TABLE participants;
DROP TABLE staff;
DROP TABLE teams;
