-- Database-alone ceiling of GetLearner: the one statement the learner
-- service sends (as logged with log_statement = all), on a random learner
-- of the ones the RPC scenario reads. pgbench variable: keys.
\set n random(1, :keys)
SELECT "learners"."id", "learners"."email", "learners"."external_id", "learners"."full_name", "learners"."region", "learners"."gender", "learners"."birth_year", "learners"."employment_status", "learners"."organization", "learners"."state", "learners"."revision", "learners"."register_time", "learners"."create_time", "learners"."update_time" FROM "learners" WHERE "learners"."id" = (SELECT id FROM bench_keys WHERE n = (:n)::int) LIMIT 1;
