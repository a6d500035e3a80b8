DROP INDEX notifications_lease_idx;
DROP TABLE deliveries;
