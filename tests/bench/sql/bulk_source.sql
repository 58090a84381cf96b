-- Bulk loader, part 1: the learner service's own tables (learners,
-- enrollments, progress_records, certificates) for one program, written
-- with generate_series in a few set-based INSERTs instead of millions of
-- RPCs. Column formats are the service's own (ids are 36-character text,
-- enums their stored names, module ids comma-joined, active_key
-- "<learner>:<course>"), so the naive report reads exactly what the
-- service would have written.
--
-- Runs between bulk_indexes_drop.sql and bulk_indexes_restore.sql.
-- Variables: learners, per_learner (enrollments per learner), program.
-- Learners register evenly from 2019-07-01 over six years; each takes
-- per_learner courses within 180 days of registering; 40% complete (with a
-- certificate the same day); each enrollment has one progress record.
SET timezone = 'UTC';
SET synchronous_commit = off;

INSERT INTO learners (id, email, external_id, full_name, region, gender, birth_year,
                      employment_status, organization, state, revision,
                      register_time, create_time, update_time)
SELECT md5('learner' || i)::uuid::text,
       'bulk' || i || '@example.az',
       NULL,
       'Learner ' || i,
       (ARRAY['Baku','Nakhchivan','Absheron-Khizi','Daglig Shirvan','Ganja-Dashkasan',
              'Karabakh','Gazakh-Tovuz','Guba-Khachmaz','Lankaran-Astara','Central Aran',
              'Mil-Mugan','Shaki-Zagatala','East Zangezur','Shirvan-Salyan'])[1 + i % 14],
       (ARRAY['FEMALE','MALE'])[1 + i % 2],
       1960 + i % 45,
       (ARRAY['EMPLOYED','UNEMPLOYED','STUDENT','SELF_EMPLOYED'])[1 + i % 4],
       'Org ' || (i % 300),
       'ACTIVE', 1, t, t, t
FROM generate_series(1, :learners) AS i,
     LATERAL (SELECT timestamptz '2019-07-01' + (i - 1) * (interval '2191 days' / :learners) AS t) AS r;

INSERT INTO enrollments (id, learner_id, course_id, program_id, state, active_key, module_ids,
                         skill_ids, completed_module_ids, minutes_spent, enroll_time,
                         complete_time, withdraw_time, create_time, update_time)
SELECT md5('enrollment' || e.j)::uuid::text,
       md5('learner' || e.i)::uuid::text,
       e.course,
       :'program',
       CASE WHEN e.done THEN 'COMPLETED' ELSE 'IN_PROGRESS' END,
       md5('learner' || e.i)::uuid::text || ':' || e.course,
       e.module,
       '',
       CASE WHEN e.done THEN e.module ELSE '' END,
       15 + e.j % 60,
       e.enrolled,
       CASE WHEN e.done THEN e.enrolled + (10 + e.j % 50) * interval '1 day' END,
       NULL, e.enrolled, e.enrolled
FROM (
    SELECT j, i, k,
           md5('course' || k)::uuid::text AS course,
           md5('module' || k)::uuid::text AS module,
           timestamptz '2019-07-01' + (i - 1) * (interval '2191 days' / :learners)
             + ((j::bigint * 7919) % 180) * interval '1 day' AS enrolled,
           j % 5 < 2 AS done
    FROM generate_series(1, :learners) AS i,
         generate_series(0, :per_learner - 1) AS k,
         LATERAL (SELECT (i - 1) * :per_learner + k + 1 AS j) AS n
) AS e;

INSERT INTO progress_records (id, enrollment_id, module_id, minutes_spent, occurred_at, create_time)
SELECT md5('progress' || e.id)::uuid::text, e.id, e.module_ids, e.minutes_spent,
       COALESCE(e.complete_time, e.enroll_time + interval '3 days'),
       COALESCE(e.complete_time, e.enroll_time + interval '3 days')
FROM enrollments e;

INSERT INTO certificates (id, code, enrollment_id, learner_id, course_id, issue_time)
SELECT md5('certificate' || e.id)::uuid::text, substr(md5('code' || e.id), 1, 16), e.id,
       e.learner_id, e.course_id, e.complete_time
FROM enrollments e
WHERE e.complete_time IS NOT NULL;
