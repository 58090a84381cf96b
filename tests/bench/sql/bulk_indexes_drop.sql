-- Bulk loader: sets aside the indexes, keys and foreign keys of the tables
-- it fills (their definitions kept in bench_saved_ddl), because building
-- them once after the load is many times faster than maintaining them row
-- by row; bulk_indexes_restore.sql puts every one back as it was.
CREATE TABLE bench_saved_ddl (ord INTEGER NOT NULL, tbl TEXT NOT NULL, name TEXT NOT NULL, ddl TEXT NOT NULL);

INSERT INTO bench_saved_ddl (ord, tbl, name, ddl)
SELECT CASE c.contype WHEN 'f' THEN 3 ELSE 2 END, c.conrelid::regclass::text, c.conname,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
FROM pg_constraint c
WHERE c.conrelid::regclass::text IN ('learners', 'enrollments', 'progress_records', 'certificates', 'earned_skills',
                                     'r_learners', 'r_enrollments', 'r_program_members', 'r_activity')
  AND c.contype IN ('p', 'u', 'f');

INSERT INTO bench_saved_ddl (ord, tbl, name, ddl)
SELECT 1, i.tablename, i.indexname, i.indexdef
FROM pg_indexes i
WHERE i.schemaname = 'public'
  AND i.tablename IN ('learners', 'enrollments', 'progress_records', 'certificates', 'earned_skills',
                      'r_learners', 'r_enrollments', 'r_program_members', 'r_activity')
  AND i.indexname NOT IN (SELECT conname FROM pg_constraint);

DO $$
DECLARE r RECORD;
BEGIN
    FOR r IN SELECT * FROM bench_saved_ddl WHERE ord > 1 ORDER BY ord DESC LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.name);
    END LOOP;
    FOR r IN SELECT * FROM bench_saved_ddl WHERE ord = 1 LOOP
        EXECUTE format('DROP INDEX %I', r.name);
    END LOOP;
END $$;
