-- Database-alone ceiling of Enroll: every statement the learner service
-- sends for one enrollment (as logged with log_statement = all), in the
-- same order and transaction: the idempotency look-up, the learner, then
-- BEGIN, the look-up again, the active-key check, the enrollment, the
-- idempotency key, the feed head bump, the audit entry and the outbox
-- event, COMMIT, and the
-- enrollment read back. The call to the course service is not database
-- work and is left out. Idempotency keys are SHA-256 hashes of (caller,
-- method, request id) with a digest of the request (issue #15); the
-- script hashes in SQL what the service hashes in Rust. Each transaction enrolls a known learner in a
-- course id of its own, so none collides. pgbench variable: keys.
\set n random(1, :keys)
\set u random(1, 1000000000000)
SELECT request_digest, resource_id FROM idempotency_keys WHERE key_hash = encode(sha256(('pgbench-' || (:u)::text)::bytea), 'hex') AND create_time >= now() - interval '24 hours';
SELECT "learners"."id", "learners"."email", "learners"."external_id", "learners"."full_name", "learners"."region", "learners"."gender", "learners"."birth_year", "learners"."employment_status", "learners"."organization", "learners"."state", "learners"."revision", "learners"."register_time", "learners"."create_time", "learners"."update_time" FROM "learners" WHERE "learners"."id" = (SELECT id FROM bench_keys WHERE n = (:n)::int) LIMIT 1;
BEGIN;
SELECT request_digest, resource_id FROM idempotency_keys WHERE key_hash = encode(sha256(('pgbench-' || (:u)::text)::bytea), 'hex') AND create_time >= now() - interval '24 hours';
SELECT "enrollments"."active_key" FROM "enrollments" WHERE "enrollments"."active_key" IN ((SELECT id FROM bench_keys WHERE n = (:n)::int) || ':' || 'pgbench-course-' || (:u)::text);
INSERT INTO "enrollments" ("id", "learner_id", "course_id", "program_id", "state", "active_key", "module_ids", "skill_ids", "completed_module_ids", "minutes_spent", "enroll_time", "complete_time", "withdraw_time", "create_time", "update_time") VALUES ('pgbench-' || (:u)::text, (SELECT id FROM bench_keys WHERE n = (:n)::int), 'pgbench-course-' || (:u)::text, NULL, 'ENROLLED', (SELECT id FROM bench_keys WHERE n = (:n)::int) || ':' || 'pgbench-course-' || (:u)::text, '01a22614-af90-7345-93c2-73f54be6b404,01a22614-af90-7345-93c2-73f63612e7ef,01a22614-af90-7345-93c2-73f63612e7f0', '01a22614-ac4b-7489-956d-3c577affbaf2', '', 0, now(), NULL, NULL, now(), now());
INSERT INTO idempotency_keys (key_hash, operation, request_digest, resource_id, create_time) VALUES (encode(sha256(('pgbench-' || (:u)::text)::bytea), 'hex'), 'Enroll', encode(sha256(('request-' || (:u)::text)::bytea), 'hex'), 'pgbench-' || (:u)::text, now());
UPDATE feed_head SET sequence = sequence + 1 WHERE id = 1 RETURNING sequence AS seq \gset
INSERT INTO audit_log (record_time, actor, method, action, resource_id, change_count, first_sequence, last_sequence) VALUES (now(), 'pgbench', '/academy.learner.v1.EnrollmentService/Enroll', 'enrollment.created', (SELECT id FROM bench_keys WHERE n = (:n)::int), 1, :seq, :seq);
INSERT INTO feed_events (sequence, event_type, occurred_at, record_time, subject_id, payload) VALUES (:seq, 'enrollment.created', now(), now(), (SELECT id FROM bench_keys WHERE n = (:n)::int), '\x0802120c08f997afd80610e1aee7a6011a12656e726f6c6c6d656e742e63726561746564220c08f997afd80610e7acb2ac01a201740a2430316132323631342d633630662d373339382d383536372d356532386662633861643233122430316132323631342d623630662d373332302d623633312d6531633736383731633363391a2430316132323631342d616638342d373266622d393561612d3536326435356130643637382802'::bytea);
COMMIT;
SELECT "enrollments"."id", "enrollments"."learner_id", "enrollments"."course_id", "enrollments"."program_id", "enrollments"."state", "enrollments"."active_key", "enrollments"."module_ids", "enrollments"."skill_ids", "enrollments"."completed_module_ids", "enrollments"."minutes_spent", "enrollments"."enroll_time", "enrollments"."complete_time", "enrollments"."withdraw_time", "enrollments"."create_time", "enrollments"."update_time" FROM "enrollments" WHERE "enrollments"."id" = 'pgbench-' || (:u)::text LIMIT 1;
