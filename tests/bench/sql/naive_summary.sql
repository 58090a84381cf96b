-- The naive GetProgramSummary: the same figures (ARCHITECTURE.md's
-- definitions, with programId) computed from the learner service's source
-- tables in one statement, for the period and the one before it.
-- pgbench variables: program, start, end, prev_start, prev_end.
WITH members AS (
    SELECT learner_id, MIN(enroll_time)::date AS first_day
    FROM enrollments WHERE program_id = :program GROUP BY learner_id
), periods(which, s, e) AS (
    VALUES ('current', :start::date, :end::date), ('previous', :prev_start::date, :prev_end::date)
)
SELECT p.which,
  (SELECT COUNT(*) FROM members m WHERE m.first_day <= p.e) AS registered,
  (SELECT COUNT(*) FROM members m WHERE m.first_day BETWEEN p.s AND p.e) AS new_learners,
  (SELECT COUNT(DISTINCT en.learner_id) FROM progress_records r JOIN enrollments en ON en.id = r.enrollment_id
     WHERE en.program_id = :program AND r.occurred_at::date BETWEEN p.s AND p.e) AS active,
  (SELECT COALESCE(SUM(r.minutes_spent), 0) FROM progress_records r JOIN enrollments en ON en.id = r.enrollment_id
     WHERE en.program_id = :program AND r.occurred_at::date BETWEEN p.s AND p.e) AS minutes,
  (SELECT COUNT(*) FROM enrollments en WHERE en.program_id = :program AND en.enroll_time::date BETWEEN p.s AND p.e) AS enrollments,
  (SELECT COUNT(*) FROM enrollments en WHERE en.program_id = :program AND en.complete_time::date BETWEEN p.s AND p.e) AS completions,
  (SELECT COUNT(*) FROM enrollments en WHERE en.program_id = :program AND en.enroll_time::date BETWEEN p.s AND p.e
     AND en.complete_time::date <= p.e) AS completed_of_created,
  (SELECT COUNT(*) FROM certificates c JOIN enrollments en ON en.id = c.enrollment_id
     WHERE en.program_id = :program AND c.issue_time::date BETWEEN p.s AND p.e) AS certificates
FROM periods p;
