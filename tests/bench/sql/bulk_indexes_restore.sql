-- Bulk loader: rebuilds what bulk_indexes_drop.sql set aside (indexes,
-- then primary and unique keys, then foreign keys), and analyzes.
SET maintenance_work_mem = '512MB';
DO $$
DECLARE r RECORD;
BEGIN
    FOR r IN SELECT * FROM bench_saved_ddl ORDER BY ord LOOP
        EXECUTE r.ddl;
    END LOOP;
END $$;
DROP TABLE bench_saved_ddl;
VACUUM ANALYZE;
