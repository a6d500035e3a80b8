DROP TABLE reassignments;
