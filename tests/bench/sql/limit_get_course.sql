-- Database-alone ceiling of GetCourse: the course row, its modules and its
-- skills, the three statements the course service sends (as logged with
-- log_statement = all). pgbench variable: keys.
\set n random(1, :keys)
SELECT "courses"."id", "courses"."code", "courses"."title", "courses"."description", "courses"."provider", "courses"."language", "courses"."level", "courses"."estimated_hours", "courses"."state", "courses"."revision", "courses"."create_time", "courses"."update_time", "courses"."publish_time" FROM "courses" WHERE "courses"."id" = (SELECT id FROM bench_keys WHERE n = (:n)::int) LIMIT 1;
SELECT "course_modules"."id", "course_modules"."course_id", "course_modules"."position", "course_modules"."title", "course_modules"."estimated_minutes" FROM "course_modules" WHERE "course_modules"."course_id" IN ((SELECT id FROM bench_keys WHERE n = (:n)::int)) ORDER BY "course_modules"."position" ASC;
SELECT "course_skills"."course_id", "course_skills"."skill_id", "course_skills"."position" FROM "course_skills" WHERE "course_skills"."course_id" IN ((SELECT id FROM bench_keys WHERE n = (:n)::int)) ORDER BY "course_skills"."position" ASC;
