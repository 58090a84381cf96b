#!/usr/bin/env python3
"""Writes a synthetic provider export (made-up people, no real data): a
membership report and an enrollment/usage report in the provider's columns,
and the figures a correct import must report, counted here from the rows
themselves (an independent model of the import).

    python3 tests/provider/generate.py --members 191000 --out data/provider

Seeded: two runs with the same arguments write the same files.
"""

import argparse
import csv
import json
import os
import random
from datetime import datetime, timedelta, timezone

COURSES = [
    ("python-for-everybody", "Python for Everybody"),
    ("data-analysis-intro", "Introduction to Data Analysis"),
    ("digital-literacy-basics", "Digital Literacy Basics"),
    ("cloud-foundations", "Cloud Foundations"),
    ("cybersecurity-essentials", "Cybersecurity Essentials"),
    ("project-management-basics", "Project Management Basics"),
    ("ux-design-intro", "Introduction to UX Design"),
    ("machine-learning-intro", "Introduction to Machine Learning"),
]
FIRST = ["Aydan", "Elvin", "Leyla", "Rashad", "Nigar", "Tural", "Sabina", "Orxan", "Gunel", "Kamran"]
LAST = ["Samplov", "Demoyeva", "Fakeli", "Mockov", "Testova", "Exampli", "Madeupov", "Synthova"]
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
YEAR_END = datetime(2025, 12, 31, 23, 0, tzinfo=timezone.utc)
LAST_DAY = datetime(2026, 6, 30, 23, 0, tzinfo=timezone.utc)
HALVES = ["2025-H1", "2025-H2", "2026-H1"]


def half(at):
    return f"{at.year}-H{1 if at.month <= 6 else 2}"


def iso(at):
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=191_000)
    parser.add_argument("--out", default="data/provider")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    counts = {
        h: {"invited": 0, "joined": 0, "new_learners": 0, "enrollments": 0, "completions": 0, "learning_minutes": 0}
        for h in HALVES
    }
    totals = {"rows_members": 0, "members": 0, "rows_enrollments": 0}

    def count(at, figure, n=1):
        if half(at) in counts:
            counts[half(at)][figure] += n

    with open(os.path.join(args.out, "members.csv"), "w", newline="") as m, open(
        os.path.join(args.out, "enrollments.csv"), "w", newline=""
    ) as e:
        members = csv.writer(m)
        enrollments = csv.writer(e)
        members.writerow(["Name", "Email", "External Id", "Member State", "Invitation Date", "Join Date"])
        enrollments.writerow([
            "Name", "Email", "External Id", "Course Name", "Course Slug", "Enrollment Time",
            "Last Course Activity Time", "Overall Progress", "Estimated Learning Hours",
            "Completed", "Completion Time", "Course Grade",
        ])
        for i in range(1, args.members + 1):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {i}"
            email = f"member{i:07d}@example.org"
            external = f"ext-{i:07d}"
            invited = START + timedelta(minutes=rng.randrange(0, 364 * 24 * 60))
            roll = rng.random()
            state = "MEMBER" if roll < 0.80 else "INVITED" if roll < 0.90 else "DECLINED" if roll < 0.96 else "EXPIRED"
            joined = None
            if state in ("MEMBER", "DECLINED"):
                joined = min(invited + timedelta(minutes=rng.randrange(0, 14 * 24 * 60)), YEAR_END)
            members.writerow([name, email, external, state, iso(invited), iso(joined) if joined else ""])
            totals["rows_members"] += 1
            count(invited, "invited")
            if state != "MEMBER":
                continue
            totals["members"] += 1
            count(joined, "joined")
            first_enrollment = None
            for slug, title in rng.sample(COURSES, rng.choice([1, 1, 2, 2, 3])):
                enrolled = min(joined + timedelta(minutes=rng.randrange(0, 30 * 24 * 60)), YEAR_END)
                progress = rng.choice([0, 10, 25, 40, 60, 80, 100, 100])
                hours = round(progress / 100 * rng.uniform(2, 30), 1)
                completed_at = None
                if progress == 100:
                    completed_at = min(enrolled + timedelta(minutes=rng.randrange(60, 90 * 24 * 60)), LAST_DAY)
                activity = completed_at or (
                    min(enrolled + timedelta(minutes=rng.randrange(0, 60 * 24 * 60)), LAST_DAY) if progress else None
                )
                grade = f"{rng.uniform(60, 100):.1f}" if completed_at else ""
                enrollments.writerow([
                    name, email, external, title, slug, iso(enrolled),
                    iso(activity) if activity else "", progress, hours,
                    "Yes" if completed_at else "No", iso(completed_at) if completed_at else "", grade,
                ])
                totals["rows_enrollments"] += 1
                count(enrolled, "enrollments")
                if completed_at:
                    count(completed_at, "completions")
                # The minutes count on the day of the row's last activity.
                count(activity or enrolled, "learning_minutes", round(hours * 60))
                first_enrollment = min(first_enrollment or enrolled, enrolled)
            # A program's new learners: their first enrollment in it.
            count(first_enrollment, "new_learners")

    expected = {"courses": [{"slug": s, "title": t} for s, t in COURSES], "totals": totals, "halves": counts}
    with open(os.path.join(args.out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
    print(json.dumps(totals))


if __name__ == "__main__":
    main()
