#!/usr/bin/env bash
# Imports a synthetic provider export (written by generate.py) into a running
# local stack with `academyctl import members` and `academyctl import
# enrollments`, then checks the program's half-year summaries against the
# figures the generator counted from the rows. Prints the time each import
# took. Run it against a stack that has not seen these learners (a fresh
# `academy-stack`, with or without `--demo`):
#
#   python3 tests/provider/generate.py --members 191000 --out data/provider
#   tests/provider/import.sh data/provider
set -euo pipefail
dir=${1:?usage: tests/provider/import.sh DIR (written by tests/provider/generate.py)}
: "${ACADEMY_TOKEN:?export ACADEMY_TOKEN=\$(cat data/dev.token) first}"
call() { grpcurl -plaintext -H "authorization: Bearer $ACADEMY_TOKEN" -d "$2" "localhost:$1" "$3"; }

program=$(call 50051 '{"program": {"name": "Provider import '"$(date +%s)"'",
  "startDate": {"year": 2025, "month": 1, "day": 1}}}' academy.course.v1.CourseService/CreateProgram | jq -r .id)
echo "program $program"
jq -c '.courses[]' "$dir/expected.json" | while read -r course; do
  slug=$(jq -r .slug <<<"$course")
  id=$(call 50051 '{"providerCourseId": "'"$slug"'"}' academy.course.v1.CourseService/LookupCourse 2>/dev/null | jq -r .id || true)
  if [ -z "$id" ]; then
    id=$(call 50051 '{"course": {"code": "'"${slug^^}"'", "title": '"$(jq .title <<<"$course")"',
      "providerCourseId": "'"$slug"'", "provider": "Coursera", "language": "en",
      "level": "COURSE_LEVEL_BEGINNER", "estimatedHours": 20,
      "modules": [{"title": "All of it", "estimatedMinutes": 600}]}}' \
      academy.course.v1.CourseService/CreateCourse | jq -r .id)
    call 50051 '{"id": "'"$id"'"}' academy.course.v1.CourseService/PublishCourse >/dev/null
  fi
  call 50051 '{"programId": "'"$program"'", "courseId": "'"$id"'"}' \
    academy.course.v1.CourseService/AddCourseToProgram >/dev/null
done

started=$(date +%s)
academyctl import members "$dir/members.csv" --program "$program" --errors "$dir/members.errors.csv"
members_done=$(date +%s)
academyctl import enrollments "$dir/enrollments.csv" --program "$program" --errors "$dir/enrollments.errors.csv"
done_at=$(date +%s)
echo "imported: members in $((members_done - started)) s, enrollments in $((done_at - members_done)) s"

# Reporting follows the feeds: wait until it has applied both heads.
for _ in $(seq 1 600); do
  behind=$(call 50053 '{}' academy.reporting.v1.ReportingService/GetFeedStatus |
    jq '[.sources[] | ((.headSequence // "0" | tonumber) - (.appliedSequence // "0" | tonumber))] | add')
  [ "$behind" = 0 ] && break
  sleep 1
done

failed=0
for half in $(jq -r '.halves | keys[]' "$dir/expected.json"); do
  got=$(call 50053 '{"programId": "'"$program"'", "period": {"half": "'"$half"'"}}' \
    academy.reporting.v1.ReportingService/GetProgramSummary)
  for figure in invited joined new_learners enrollments completions learning_minutes; do
    want=$(jq ".halves[\"$half\"].$figure" "$dir/expected.json")
    case $figure in
      new_learners) have=$(jq '.newLearners // "0" | tonumber' <<<"$got") ;;
      learning_minutes) have=$(jq '(.learningHours // 0) * 60 | round' <<<"$got") ;;
      *) have=$(jq ".$figure // \"0\" | tonumber" <<<"$got") ;;
    esac
    status=ok
    if [ "$have" != "$want" ]; then status=DIFFERS; failed=1; fi
    printf '%s %-16s expected %10s reported %10s %s\n' "$half" "$figure" "$want" "$have" "$status"
  done
done
exit "$failed"
