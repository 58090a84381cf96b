-- The naive GetCrossTab(GENDER x REGION): per gender and region, the
-- learners new to the program, enrollments, completions, completions of the
-- period's enrollments and learning minutes, from the learner service's
-- source tables (naive_breakdown.sql split one dimension further). pgbench
-- variables: program, start, end.
WITH en AS MATERIALIZED (
    SELECT en.id, en.learner_id, en.enroll_time, en.complete_time, l.gender, l.region
    FROM enrollments en JOIN learners l ON l.id = en.learner_id
    WHERE en.program_id = :program
), new_learners AS (
    SELECT gender, region, COUNT(*) AS n FROM (
        SELECT gender, region, MIN(enroll_time)::date AS first_day
        FROM en GROUP BY learner_id, gender, region
    ) AS f
    WHERE first_day BETWEEN :start::date AND :end::date GROUP BY gender, region
), minutes AS (
    SELECT en.gender, en.region, SUM(r.minutes_spent) AS n
    FROM progress_records r JOIN en ON en.id = r.enrollment_id
    WHERE r.occurred_at::date BETWEEN :start::date AND :end::date GROUP BY en.gender, en.region
), counts AS (
    SELECT gender, region,
      COUNT(*) FILTER (WHERE enroll_time::date BETWEEN :start::date AND :end::date) AS enrollments,
      COUNT(*) FILTER (WHERE complete_time::date BETWEEN :start::date AND :end::date) AS completions,
      COUNT(*) FILTER (WHERE enroll_time::date BETWEEN :start::date AND :end::date
                         AND complete_time::date <= :end::date) AS completed_of_created
    FROM en GROUP BY gender, region
)
SELECT c.gender, c.region, COALESCE(n.n, 0) AS new_learners, c.enrollments, c.completions,
       c.completed_of_created, COALESCE(m.n, 0) AS minutes
FROM counts c LEFT JOIN new_learners n USING (gender, region)
  LEFT JOIN minutes m USING (gender, region)
ORDER BY c.gender, c.region;
