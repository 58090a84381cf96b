use academy_domain::{Period, Region};
use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{self as course_pb, CourseLevel, CourseModule};
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::invitation_service_client::InvitationServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{self as learner_pb, EmploymentStatus, Gender};
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academy_proto::reporting::{self as pb, Dimension};
use academy_testkit::{TestDb, on_both_backends};
use chrono::{Days, NaiveDate};
use std::collections::BTreeMap;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::*;
use crate::model::*;
use crate::stack::Stack;

on_both_backends!(
    every_figure_matches_the_source_data,
    bad_report_requests_are_invalid,
    series_funnel_export_and_rebuild_match_too,
);

const LEARNERS: usize = 120;

/// Publishes 4 courses over 3 skills; a program holds the first two.
async fn catalog(channel: Channel, model: &mut Model) -> (Vec<course_pb::Course>, String) {
    let mut client = CourseServiceClient::new(channel);
    let mut skills = Vec::new();
    for name in ["Data analysis", "Cybersecurity", "Cloud"] {
        let skill = client
            .create_skill(course_pb::CreateSkillRequest {
                skill: Some(course_pb::Skill {
                    name: name.into(),
                    category: "Digital".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        skills.push(skill.id);
    }
    let mut courses = Vec::new();
    for i in 0..4usize {
        let skill_ids = vec![skills[i % 3].clone(), skills[(i + 1) % 3].clone()];
        let created = client
            .create_course(course_pb::CreateCourseRequest {
                course: Some(course_pb::Course {
                    code: format!("C-{i}"),
                    title: format!("Course {i}"),
                    provider: "Coursera".into(),
                    language: "az".into(),
                    level: CourseLevel::Beginner as i32,
                    estimated_hours: 5.0,
                    skill_ids: skill_ids.clone(),
                    modules: (0..2 + i % 2)
                        .map(|m| CourseModule {
                            title: format!("M{m}"),
                            estimated_minutes: 30,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let published = client
            .publish_course(course_pb::PublishCourseRequest {
                id: created.id,
                etag: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        model.course_skills.insert(published.id.clone(), skill_ids);
        courses.push(published);
    }
    let program = client
        .create_program(course_pb::CreateProgramRequest {
            program: Some(course_pb::Program {
                name: "C4IR Academy National Program".into(),
                start_date: Some(academy_proto::google::r#type::Date {
                    year: 2021,
                    month: 1,
                    day: 1,
                }),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    for course in &courses[..2] {
        client
            .add_course_to_program(course_pb::AddCourseToProgramRequest {
                program_id: program.id.clone(),
                course_id: course.id.clone(),
            })
            .await
            .unwrap();
    }
    (courses, program.id)
}

const EMPLOYMENT: [EmploymentStatus; 4] = [
    EmploymentStatus::Employed,
    EmploymentStatus::Unemployed,
    EmploymentStatus::Student,
    EmploymentStatus::SelfEmployed,
];

/// Learners over five years, enrollments, progress and completions, seeded;
/// some move region, some are erased.
pub(crate) async fn history(stack: &Stack, model: &mut Model) -> String {
    let (courses, program) = catalog(Stack::channel(stack.course).await, model).await;
    let channel = Stack::channel(stack.learner).await;
    let mut learners = LearnerServiceClient::new(channel.clone());
    let mut invitations = InvitationServiceClient::new(channel.clone());
    let mut enrollments = EnrollmentServiceClient::new(channel);
    let mut rng = Rng::new(20_250_701);
    let genders = [
        Gender::Female,
        Gender::Male,
        Gender::Other,
        Gender::Undisclosed,
    ];
    for i in 0..LEARNERS {
        let register_day = day(2021, 1, 1)
            .checked_add_days(Days::new(rng.below(5 * 365)))
            .unwrap();
        let region = Region::ALL[rng.below(14) as usize];
        let gender = genders[rng.below(4) as usize];
        let birth_year = 1960 + rng.below(46) as i32;
        let employment = EMPLOYMENT[rng.below(EMPLOYMENT.len() as u64) as usize];
        let organization = format!("Org {}", rng.below(4));
        // Some attributes unknown, as in provider exports; derived from `i`
        // so the seeded draws (and so the rest of the data) stay the same.
        let region = if i % 7 == 3 { "Unknown" } else { region };
        let gender = if i % 5 == 2 { Gender::Unknown } else { gender };
        let birth_year = if i % 6 == 1 { 0 } else { birth_year };
        let employment = if i % 8 == 4 {
            EmploymentStatus::Unknown
        } else {
            employment
        };
        let education_level = (i % 11 < 9).then_some((i % 11) as i32);
        let created = learners
            .register_learner(learner_pb::RegisterLearnerRequest {
                learner: Some(learner_pb::Learner {
                    email: format!("learner{i}@example.az"),
                    full_name: format!("Learner {i}"),
                    region: region.into(),
                    gender: gender as i32,
                    birth_year,
                    employment_status: employment as i32,
                    organization: organization.clone(),
                    education_level,
                    ..Default::default()
                }),
                request_id: String::new(),
                registered_at: Some(noon(register_day)),
            })
            .await
            .unwrap()
            .into_inner();
        model.learners.push(LearnerFact {
            id: created.id.clone(),
            register_day,
            region: if region == "Unknown" {
                "unknown".into()
            } else {
                region.into()
            },
            gender: match gender {
                Gender::Unknown => "unknown".into(),
                known => academy_domain::Gender::ALL[known as usize - 1]
                    .as_str()
                    .into(),
            },
            birth_year,
            employment: match employment {
                EmploymentStatus::Unknown => "unknown".into(),
                known => academy_domain::EmploymentStatus::ALL[known as usize - 1]
                    .as_str()
                    .into(),
            },
            organization,
            education: education_level.map_or("unknown".into(), |l| format!("ISCED_{l}")),
        });
        // Every third learner is invited to the program as they register
        // (issue #17): their first enrollment in it joins the invitation.
        let invitation = if i % 3 == 0 {
            Some(
                invite(
                    &mut invitations,
                    &program,
                    &created.id,
                    "",
                    register_day,
                    model,
                )
                .await,
            )
        } else {
            None
        };
        let first = rng.below(4) as usize;
        for c in 0..rng.below(3) as usize {
            let course = &courses[(first + c) % courses.len()];
            let in_program = (first + c) % courses.len() < 2 && rng.below(3) > 0;
            let program_id = if in_program {
                program.clone()
            } else {
                String::new()
            };
            let enroll_day = register_day
                .checked_add_days(Days::new(rng.below(120)))
                .unwrap();
            let enrollment = enroll(
                &mut enrollments,
                &created.id,
                &course.id,
                &program_id,
                enroll_day,
            )
            .await;
            if in_program
                && let Some(k) = invitation
                && model.invitations[k].join_day.is_none()
            {
                model.invitations[k].join_day = Some(enroll_day);
            }
            let mut fact = EnrollmentFact {
                id: enrollment.id.clone(),
                learner: created.id.clone(),
                course: course.id.clone(),
                program: program_id.clone(),
                enroll_day,
                complete_day: None,
            };
            let mut progress_day = enroll_day;
            let modules_done = rng.below(course.modules.len() as u64 + 1) as usize;
            for module in &course.modules[..modules_done] {
                progress_day = progress_day
                    .checked_add_days(Days::new(rng.below(40)))
                    .unwrap();
                let minutes = 10 + rng.below(80) as i32;
                let after = enrollments
                    .record_progress(learner_pb::RecordProgressRequest {
                        enrollment_id: enrollment.id.clone(),
                        module_id: module.id.clone(),
                        minutes_spent: minutes,
                        occurred_at: Some(noon(progress_day)),
                        request_id: String::new(),
                        ..Default::default()
                    })
                    .await
                    .unwrap()
                    .into_inner();
                model.activity.push(ActivityFact {
                    learner: created.id.clone(),
                    program: program_id.clone(),
                    course: course.id.clone(),
                    day: progress_day,
                    minutes: i64::from(minutes),
                });
                if after.state == learner_pb::EnrollmentState::Completed as i32 {
                    fact.complete_day = Some(progress_day);
                }
            }
            if fact.complete_day.is_none() && rng.below(4) == 0 {
                enrollments
                    .withdraw_enrollment(learner_pb::WithdrawEnrollmentRequest {
                        id: enrollment.id.clone(),
                    })
                    .await
                    .unwrap();
            }
            model.enrollments.push(fact);
        }
        // Some invitees accept without enrolling, some decline.
        if let Some(k) = invitation
            && model.invitations[k].join_day.is_none()
        {
            let id = model.invitations[k].id.clone();
            if i % 6 == 3 {
                let accepted_day = register_day.checked_add_days(Days::new(2)).unwrap();
                invitations
                    .accept_invitation(learner_pb::AcceptInvitationRequest {
                        id,
                        accepted_at: Some(noon(accepted_day)),
                    })
                    .await
                    .unwrap();
                model.invitations[k].join_day = Some(accepted_day);
            } else if i % 9 == 6 {
                invitations
                    .decline_invitation(learner_pb::DeclineInvitationRequest {
                        id,
                        declined_at: None,
                    })
                    .await
                    .unwrap();
                model.invitations[k].declined = true;
            }
        }
    }
    // People invited by email who never registered: in every learner
    // breakdown's `unknown` row; some expire (still invited).
    for n in 0..12u64 {
        let invite_day = day(2021, 1, 10)
            .checked_add_days(Days::new(n * 150))
            .unwrap();
        invite(
            &mut invitations,
            &program,
            "",
            &format!("outsider{n}@example.org"),
            invite_day,
            model,
        )
        .await;
    }
    provider_history(stack, &mut enrollments, model, &courses, &program).await;
    // A learner who moves counts under the new region in every period (a
    // breakdown uses current attributes).
    for l in model.learners.iter_mut().skip(5).step_by(11) {
        let region = Region::ALL[(l.id.len() + l.birth_year as usize) % 14];
        let moved = learner_pb::Learner {
            id: l.id.clone(),
            region: region.into(),
            ..Default::default()
        };
        update_learner(&mut learners, "region", moved).await;
        l.region = region.into();
    }
    // Education learned later, or found wrong: the learner's whole history
    // moves to the new value (or to unknown).
    for (n, l) in model.learners.iter_mut().skip(2).step_by(9).enumerate() {
        let education_level = (n % 3 != 0).then_some((n % 9) as i32);
        let learned = learner_pb::Learner {
            id: l.id.clone(),
            education_level,
            ..Default::default()
        };
        update_learner(&mut learners, "education_level", learned).await;
        l.education = education_level.map_or("unknown".into(), |l| format!("ISCED_{l}"));
    }
    // Erased learners still count, anonymously (no organisation).
    for l in model.learners.iter_mut().step_by(17) {
        learners
            .erase_learner(learner_pb::EraseLearnerRequest { id: l.id.clone() })
            .await
            .unwrap();
        l.organization = String::new();
    }
    merge_duplicates(&mut learners, model).await;
    program
}

/// The learner service's rule: an enrollment in a program joins the
/// learner's open invitations to it (INVITED, not declined, invited by then).
fn join_on_enroll(model: &mut Model, learner: &str, program: &str, day: NaiveDate) {
    for i in model.invitations.iter_mut().filter(|i| {
        i.learner.as_deref() == Some(learner)
            && i.program == program
            && i.join_day.is_none()
            && !i.declined
            && i.invite_day <= day
    }) {
        i.join_day = Some(day);
    }
}

/// Provider progress (issue #17), from its own seed so the data before
/// stays the same: module rows sent out of order and late (a completion is
/// dated by the evidence: the latest of each module's earliest day),
/// activity after completion, a provider's percent rows with cumulative
/// minutes (counted once however often reported, a lower total adds
/// nothing but the day's activity), completions re-dated by earlier
/// evidence, and history imported into a course archived since.
async fn provider_history(
    stack: &Stack,
    enrollments: &mut EnrollmentServiceClient<Channel>,
    model: &mut Model,
    courses: &[course_pb::Course],
    program: &str,
) {
    let mut rng = Rng::new(17_0003);
    let offset = |rng: &mut Rng, from: NaiveDate, days: u64| {
        from.checked_add_days(Days::new(rng.below(days))).unwrap()
    };
    let archived = archived_course(stack, model).await;
    // (out-of-order completions, late re-dates, provider completions,
    // provider re-dates, history rows into the archived course)
    let mut seen = [0usize; 5];
    let learners: Vec<(String, NaiveDate)> = model
        .learners
        .iter()
        .map(|l| (l.id.clone(), l.register_day))
        .collect();
    for (k, (learner, registered)) in learners.iter().step_by(3).enumerate() {
        let taken = |c: &course_pb::Course| {
            model
                .enrollments
                .iter()
                .any(|e| &e.learner == learner && e.course == c.id)
        };
        let Some(course) = courses.iter().find(|c| !taken(c)) else {
            continue;
        };
        let in_program = courses[..2].iter().any(|c| c.id == course.id);
        let program_id = if in_program { program } else { "" };
        let enroll_day = offset(&mut rng, *registered, 60);
        let enrollment = enroll(enrollments, learner, &course.id, program_id, enroll_day).await;
        if in_program {
            join_on_enroll(model, learner, program, enroll_day);
        }
        let mut fact = EnrollmentFact {
            id: enrollment.id.clone(),
            learner: learner.clone(),
            course: course.id.clone(),
            program: program_id.into(),
            enroll_day,
            complete_day: None,
        };
        let activity = |day: NaiveDate, minutes: i64, model: &mut Model| {
            model.activity.push(ActivityFact {
                learner: learner.clone(),
                program: program_id.into(),
                course: course.id.clone(),
                day,
                minutes,
            });
        };
        if k % 2 == 0 {
            // Module rows, the latest first; some late rows with earlier days.
            let mut rows: Vec<(String, NaiveDate, i32)> = course
                .modules
                .iter()
                .map(|m| {
                    (
                        m.id.clone(),
                        offset(&mut rng, enroll_day, 90),
                        5 + rng.below(50) as i32,
                    )
                })
                .collect();
            rows.sort_by_key(|r| std::cmp::Reverse(r.1));
            if k % 4 == 0 {
                let (module, day, _) = rows[0].clone();
                let earlier = enroll_day + (day - enroll_day) / 2;
                rows.push((module, earlier, 7));
                seen[1] += 1;
            }
            seen[0] += 1;
            let after = offset(&mut rng, rows.iter().map(|r| r.1).max().unwrap(), 30);
            rows.push((course.modules[0].id.clone(), after, 11));
            for (module, day, minutes) in &rows {
                enrollments
                    .record_progress(learner_pb::RecordProgressRequest {
                        enrollment_id: enrollment.id.clone(),
                        module_id: module.clone(),
                        minutes_spent: *minutes,
                        occurred_at: Some(noon(*day)),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                activity(*day, i64::from(*minutes), model);
            }
            // By the evidence: each module's earliest day, the latest of those.
            fact.complete_day = course
                .modules
                .iter()
                .map(|m| rows.iter().filter(|r| r.0 == m.id).map(|r| r.1).min())
                .collect::<Option<Vec<_>>>()
                .and_then(|days| days.into_iter().max());
        } else {
            // The provider's reports: cumulative minutes, percent, completion.
            let mut counted = 0i64;
            let first_day = offset(&mut rng, enroll_day, 40);
            let done_day = offset(&mut rng, first_day, 60);
            let reports = [
                (first_day, 40, 30 + rng.below(60) as i32, None),
                // Reported again later with a lower total: adds nothing.
                (offset(&mut rng, first_day, 10), 30, 20, None),
                (
                    done_day,
                    100,
                    150 + rng.below(200) as i32,
                    (k % 3 != 0).then_some(done_day),
                ),
            ];
            for (i, (day, percent, total, completed)) in reports.into_iter().enumerate() {
                let request = learner_pb::RecordProgressRequest {
                    enrollment_id: enrollment.id.clone(),
                    percent_complete: Some(percent),
                    total_minutes: Some(total),
                    completed: completed.is_some(),
                    completed_at: completed.map(noon),
                    last_activity_at: Some(noon(day)),
                    grade: completed.map(|_| 80.0),
                    request_id: format!("provider-{}-{i}", enrollment.id),
                    ..Default::default()
                };
                // Sent twice: the replay records nothing.
                for _ in 0..2 {
                    enrollments.record_progress(request.clone()).await.unwrap();
                }
                let added = (i64::from(total) - counted).max(0);
                counted += added;
                activity(day, added, model);
                if let Some(done) = completed {
                    fact.complete_day = Some(fact.complete_day.map_or(done, |d| d.min(done)));
                    seen[2] += 1;
                }
            }
            if let Some(done) = fact.complete_day
                && k % 5 == 1
            {
                // Late evidence of an earlier completion re-dates it.
                let earlier = first_day + (done - first_day) / 2;
                enrollments
                    .record_progress(learner_pb::RecordProgressRequest {
                        enrollment_id: enrollment.id.clone(),
                        completed: true,
                        completed_at: Some(noon(earlier)),
                        last_activity_at: Some(noon(earlier)),
                        ..Default::default()
                    })
                    .await
                    .unwrap();
                activity(earlier, 0, model);
                fact.complete_day = Some(earlier);
                seen[3] += 1;
            }
        }
        model.enrollments.push(fact);
        // History into the course archived since: dated before the archive.
        if k % 9 == 0 {
            let day = offset(&mut rng, *registered, 200);
            let e = enroll(enrollments, learner, &archived.id, "", day).await;
            let done = offset(&mut rng, day, 30);
            enrollments
                .record_progress(learner_pb::RecordProgressRequest {
                    enrollment_id: e.id.clone(),
                    module_id: archived.modules[0].id.clone(),
                    minutes_spent: 25,
                    occurred_at: Some(noon(done)),
                    ..Default::default()
                })
                .await
                .unwrap();
            model.activity.push(ActivityFact {
                learner: learner.clone(),
                program: String::new(),
                course: archived.id.clone(),
                day: done,
                minutes: 25,
            });
            model.enrollments.push(EnrollmentFact {
                id: e.id,
                learner: learner.clone(),
                course: archived.id.clone(),
                program: String::new(),
                enroll_day: day,
                complete_day: Some(done),
            });
            // New activity there is refused and counts nowhere.
            let refused = enrollments
                .record_progress(learner_pb::RecordProgressRequest {
                    enrollment_id: model.enrollments.last().unwrap().id.clone(),
                    module_id: archived.modules[0].id.clone(),
                    minutes_spent: 25,
                    ..Default::default()
                })
                .await
                .unwrap_err();
            assert_eq!(refused.code(), Code::FailedPrecondition);
            seen[4] += 1;
        }
    }
    assert!(
        seen.iter().all(|n| *n >= 2),
        "every provider case occurs: {seen:?}"
    );
}

/// A one-module course, published then archived at once: only history
/// goes into it.
async fn archived_course(stack: &Stack, model: &mut Model) -> course_pb::Course {
    let mut client = CourseServiceClient::new(Stack::channel(stack.course).await);
    let created = client
        .create_course(course_pb::CreateCourseRequest {
            course: Some(course_pb::Course {
                code: "C-ARCHIVED".into(),
                title: "Archived course".into(),
                provider: "Coursera".into(),
                language: "az".into(),
                level: CourseLevel::Beginner as i32,
                estimated_hours: 2.0,
                modules: vec![CourseModule {
                    title: "Only".into(),
                    estimated_minutes: 30,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    for archive in [false, true] {
        let request = |id: String| (id, String::new());
        let (id, etag) = request(created.id.clone());
        if archive {
            client
                .archive_course(course_pb::ArchiveCourseRequest { id, etag })
                .await
                .unwrap();
        } else {
            client
                .publish_course(course_pb::PublishCourseRequest { id, etag })
                .await
                .unwrap();
        }
    }
    model.course_skills.insert(created.id.clone(), Vec::new());
    client
        .get_course(course_pb::GetCourseRequest { id: created.id })
        .await
        .unwrap()
        .into_inner()
}

/// Invites one person (a learner by id, or an email) to `program` on
/// `invite_day` and records it in the model; its index there.
async fn invite(
    client: &mut InvitationServiceClient<Channel>,
    program: &str,
    learner_id: &str,
    email: &str,
    invite_day: NaiveDate,
    model: &mut Model,
) -> usize {
    let made = client
        .invite_learners(learner_pb::InviteLearnersRequest {
            program_id: program.into(),
            invitees: vec![learner_pb::Invitee {
                learner_id: learner_id.into(),
                email: email.into(),
                invited_at: Some(noon(invite_day)),
                expire_time: (!email.is_empty() && email.len().is_multiple_of(2))
                    .then(|| noon(invite_day)),
                ..Default::default()
            }],
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(made.created, 1, "{made:?}");
    let invitation = made.results[0].invitation.clone().unwrap();
    model.invitations.push(InvitationFact {
        id: invitation.id,
        program: program.into(),
        learner: (!learner_id.is_empty()).then(|| learner_id.to_owned()),
        invite_day,
        join_day: None,
        declined: false,
    });
    model.invitations.len() - 1
}

/// Merges pairs of (not erased) learners, most of them sharing a course so
/// that enrollments fold as well as move; the survivor is sometimes the one
/// registered later. The model follows each merge as the service answered
/// it (which enrollments folded is the learner service's rule, tested there).
async fn merge_duplicates(learners: &mut LearnerServiceClient<Channel>, model: &mut Model) {
    let courses_of = |model: &Model, i: usize| -> std::collections::HashSet<String> {
        let id = &model.learners[i].id;
        model
            .enrollments
            .iter()
            .filter(|e| &e.learner == id)
            .map(|e| e.course.clone())
            .collect()
    };
    let mut pairs = Vec::new();
    let mut used = std::collections::HashSet::new();
    for s in (6..LEARNERS).step_by(13) {
        if s.is_multiple_of(17) || used.contains(&s) {
            continue;
        }
        let mine = courses_of(model, s);
        let free = |d: &usize| !d.is_multiple_of(17) && !used.contains(d);
        let d = (s + 1..LEARNERS)
            .filter(free)
            .find(|&d| !courses_of(model, d).is_disjoint(&mine))
            .or_else(|| (s + 1..LEARNERS).find(free));
        let Some(d) = d else { continue };
        used.extend([s, d]);
        pairs.push((model.learners[s].id.clone(), model.learners[d].id.clone()));
    }
    assert!(pairs.len() >= 6, "enough merges to matter: {}", pairs.len());
    let mut folds = 0;
    for (survivor, duplicate) in pairs {
        let merged = learners
            .merge_learners(learner_pb::MergeLearnersRequest {
                survivor_id: survivor.clone(),
                duplicate_id: duplicate.clone(),
                request_id: String::new(),
                dry_run: false,
            })
            .await
            .unwrap()
            .into_inner();
        folds += merged.folded_enrollment_ids.len();
        model.merge(&survivor, &duplicate, &merged.folded_enrollment_ids);
    }
    assert!(folds > 0, "some merge folded an enrollment");
}

fn assert_summary(got: &pb::ProgramSummary, want: &Expected, what: &str) {
    let actual = (
        got.registered_learners,
        got.new_learners,
        got.active_learners,
        got.enrollments,
        got.completions,
    );
    let expected = (
        want.registered,
        want.new,
        want.active,
        want.enrollments,
        want.completions,
    );
    assert_eq!(
        actual, expected,
        "{what}: registered, new, active, enrollments, completions"
    );
    assert_eq!(
        got.certificates_issued, want.completions,
        "{what}: certificates"
    );
    assert!(
        (got.learning_hours - want.minutes as f64 / 60.0).abs() < 1e-9,
        "{what}: hours"
    );
    let completion_rate = rate(want.completed_of_created, want.enrollments);
    assert!(
        (got.completion_rate - completion_rate).abs() < 1e-9,
        "{what}: completion rate"
    );
    assert_eq!(
        (got.invited, got.joined),
        (want.invited, want.joined),
        "{what}: invited, joined"
    );
    let conversion = rate(want.joined, want.invited);
    assert!(
        (got.invitation_conversion - conversion).abs() < 1e-9,
        "{what}: invitation conversion"
    );
}

async fn every_figure_matches_the_source_data(db: TestDb) {
    let (_stack, model, program, mut reports) = seeded(db).await;
    assert!(
        model.enrollments.iter().any(|e| e.complete_day.is_some()),
        "the data has completions"
    );

    let periods = [
        half("2021-H2"),
        half("2022-H1"),
        half("2023-H2"),
        half("2025-H1"),
        dates(day(2021, 3, 1), day(2024, 8, 31)),
        dates(day(2022, 2, 14), day(2022, 2, 14)),
    ];
    for period in &periods {
        let parsed = academy_reporting::convert::period("period", Some(period)).unwrap();
        for program_id in [None, Some(program.as_str())] {
            let got = reports.summary(program_id, period).await;
            let what = format!("{parsed} program={program_id:?}");
            assert_summary(&got, &model.figures(program_id, &parsed), &what);
            let previous = got.previous_period.as_ref().unwrap();
            let before = model.figures(program_id, &parsed.previous());
            assert_eq!(
                previous.registered_learners, before.registered,
                "{what}: previous registered"
            );
            assert_eq!(
                previous.enrollments, before.enrollments,
                "{what}: previous enrollments"
            );
            let growth = growth(got.registered_learners, before.registered);
            assert!((got.growth_rate - growth).abs() < 1e-9, "{what}: growth");
        }
    }

    let period = half("2023-H1");
    let parsed = academy_reporting::convert::period("period", Some(&period)).unwrap();
    let by_region = model.by_learner(&parsed, |l| l.region.clone());
    let by_gender = model.by_learner(&parsed, |l| l.gender.clone());
    let by_age = model.by_learner(&parsed, |l| Model::age_band(l, &parsed));
    let by_course = model.by_course(&parsed);
    let by_employment = model.by_learner(&parsed, |l| l.employment.clone());
    let by_education = model.by_learner(&parsed, |l| l.education.clone());
    assert!(
        ["unknown", "ISCED_0", "ISCED_8"]
            .iter()
            .all(|k| by_education.contains_key(*k))
            && by_region.contains_key("unknown")
            && by_gender.contains_key("unknown")
            && by_age.contains_key("unknown")
            && by_employment.contains_key("unknown"),
        "the period has unknowns and education levels in every breakdown"
    );
    // Reach by the invitee's current attributes (issue #17).
    type Key = fn(&LearnerFact, &Period) -> String;
    let reach_keys: [(Dimension, Key, &str); 6] = [
        (Dimension::Region, |l, _| l.region.clone(), "unknown"),
        (Dimension::Gender, |l, _| l.gender.clone(), "unknown"),
        (Dimension::AgeBand, |l, p| Model::age_band(l, p), "unknown"),
        (
            Dimension::EmploymentStatus,
            |l, _| l.employment.clone(),
            "unknown",
        ),
        (
            Dimension::EducationLevel,
            |l, _| l.education.clone(),
            "unknown",
        ),
        (Dimension::Organization, |l, _| l.organization.clone(), ""),
    ];
    for program_id in [None, Some(program.as_str())] {
        for (dimension, key, unknown) in reach_keys {
            let want = model.reach_by_learner(program_id, &parsed, |l| key(l, &parsed), unknown);
            assert!(want.values().any(|r| r.0 > 0), "the period has invitations");
            let got = reports.breakdown(program_id, &period, dimension, 0).await;
            let got: BTreeMap<String, (i64, i64)> = got
                .rows
                .iter()
                .filter(|r| (r.invited, r.joined) != (0, 0))
                .map(|r| (r.key.clone(), (r.invited, r.joined)))
                .collect();
            assert_eq!(got, want, "{dimension:?} reach program={program_id:?}");
        }
    }
    for (dimension, want) in [
        (Dimension::Region, by_region),
        (Dimension::Gender, by_gender),
        (Dimension::AgeBand, by_age),
        (Dimension::Course, by_course),
        (Dimension::EmploymentStatus, by_employment),
        (Dimension::EducationLevel, by_education),
    ] {
        let got = reports.breakdown(None, &period, dimension, 0).await;
        let got = RowFigures::of_rows(&got.rows);
        let want: BTreeMap<String, RowFigures> = want
            .into_iter()
            .filter(|(_, f)| *f != RowFigures::default())
            .collect();
        assert_eq!(got, want, "{dimension:?} breakdown");
    }
}

async fn bad_report_requests_are_invalid(db: TestDb) {
    let stack = Stack::start(db).await;
    let mut reports = ReportingServiceClient::new(Stack::channel(stack.reporting).await);
    // Each followed feed has its own health entry.
    let mut health =
        tonic_health::pb::health_client::HealthClient::new(Stack::channel(stack.reporting).await);
    for source in ["course", "learner"] {
        let reply = health
            .check(tonic_health::pb::HealthCheckRequest {
                service: format!("academy.reporting.v1.feed.{source}"),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            reply.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32
        );
    }
    let summary = |period: Option<pb::Period>, program_id: &str| pb::GetProgramSummaryRequest {
        program_id: program_id.into(),
        period,
    };
    for (period, field) in [
        (None, "period"),
        (Some(half("2025-H3")), "period.half"),
        (
            Some(dates(day(2025, 2, 1), day(2025, 1, 1))),
            "period.end_date",
        ),
        (Some(dates(day(2000, 1, 1), day(2030, 1, 1))), "period"),
        (
            Some(pb::Period {
                half: "2025-H1".into(),
                start_date: Some(academy_runtime::time::date(day(2025, 1, 1))),
                end_date: None,
            }),
            "period",
        ),
    ] {
        let status = reports
            .get_program_summary(summary(period, ""))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        assert_eq!(academy_testkit::grpc::violated_fields(&status), [field]);
    }
    let status = reports
        .get_program_summary(summary(Some(half("2025-H1")), "nope"))
        .await
        .unwrap_err();
    assert_eq!(
        academy_testkit::grpc::violated_fields(&status),
        ["program_id"]
    );
    let unknown = reports
        .get_program_summary(summary(
            Some(half("2025-H1")),
            "01900000-0000-7000-8000-000000000000",
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
    let status = reports
        .get_breakdown(pb::GetBreakdownRequest {
            program_id: String::new(),
            period: Some(half("2025-H1")),
            dimension: 0,
            limit: -1,
        })
        .await
        .unwrap_err();
    assert_eq!(
        academy_testkit::grpc::violated_fields(&status),
        ["dimension", "limit"]
    );
}

async fn series_funnel_export_and_rebuild_match_too(db: TestDb) {
    let (stack, model, program, mut reports) = seeded(db).await;

    // Monthly series over 2022: each point equals the month's figures.
    for metric in [
        pb::Metric::NewLearners,
        pb::Metric::RegisteredLearners,
        pb::Metric::ActiveLearners,
        pb::Metric::LearningHours,
        pb::Metric::Enrollments,
    ] {
        let got = reports
            .get_time_series(pb::GetTimeSeriesRequest {
                program_id: String::new(),
                metric: metric as i32,
                granularity: pb::Granularity::Month as i32,
                start_date: Some(academy_runtime::time::date(day(2022, 1, 1))),
                end_date: Some(academy_runtime::time::date(day(2022, 12, 31))),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(got.points.len(), 12, "zeros included");
        for (month, point) in got.points.iter().enumerate() {
            let start = day(2022, month as u32 + 1, 1);
            let end = start
                .checked_add_months(chrono::Months::new(1))
                .unwrap()
                .pred_opt()
                .unwrap();
            let want = model.figures(
                None,
                &academy_domain::Period::range("p", start, end).unwrap(),
            );
            let value = match metric {
                pb::Metric::NewLearners => want.new as f64,
                pb::Metric::RegisteredLearners => want.registered as f64,
                pb::Metric::ActiveLearners => want.active as f64,
                pb::Metric::LearningHours => want.minutes as f64 / 60.0,
                _ => want.enrollments as f64,
            };
            assert!(
                (point.value - value).abs() < 1e-9,
                "{metric:?} {start}: got {}, want {value}",
                point.value
            );
        }
    }

    // The funnel of a half, platform-wide and for the program.
    let period = half("2022-H2");
    let parsed = academy_reporting::convert::period("period", Some(&period)).unwrap();
    for program_id in [None, Some(program.as_str())] {
        let got = reports
            .get_funnel(pb::GetFunnelRequest {
                program_id: program_id.unwrap_or_default().into(),
                period: Some(period.clone()),
            })
            .await
            .unwrap()
            .into_inner();
        let names: Vec<&str> = got.stages.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, FUNNEL_STAGES);
        let counts: Vec<i64> = got.stages.iter().map(|s| s.count).collect();
        assert_eq!(
            counts,
            model.funnel(program_id, &parsed),
            "funnel program={program_id:?}"
        );
    }

    // The CSV export carries the same numbers as the breakdown.
    let breakdown = reports.breakdown(None, &period, Dimension::Region, 0).await;
    let (header, exported) = reports
        .export_lines(pb::ExportReportRequest {
            program_id: String::new(),
            period: Some(period.clone()),
            kind: pb::ReportKind::Breakdown as i32,
            dimension: Dimension::Region as i32,
            ..Default::default()
        })
        .await;
    assert_eq!(
        header,
        "key,label,new_learners,enrollments,completions,completion_rate,learning_hours,\
         invited,joined"
    );
    assert_eq!(exported.len(), breakdown.rows.len());
    for (line, row) in exported.iter().zip(&breakdown.rows) {
        assert_eq!(line[0], row.key);
        assert_eq!(line[3].parse::<i64>().unwrap(), row.enrollments);
        assert_eq!(line[2].parse::<i64>().unwrap(), row.new_learners);
    }
    let status = reports
        .export_report(pb::ExportReportRequest {
            period: Some(period.clone()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(academy_testkit::grpc::violated_fields(&status), ["kind"]);

    // Rebuild from sequence 0 gives identical numbers.
    let before = reports.summary(None, &period).await;
    let generation = reports
        .rebuild_projections(pb::RebuildProjectionsRequest {})
        .await
        .unwrap()
        .into_inner()
        .generation;
    assert_eq!(generation, 1, "the first rebuild builds generation 1");
    serving_generation(&mut reports, generation).await;
    caught_up(&stack, &mut reports).await;
    assert_eq!(
        reports.summary(None, &period).await,
        before,
        "rebuilt projections give identical numbers"
    );

    // Too many buckets, unknown metric.
    let status = reports
        .get_time_series(pb::GetTimeSeriesRequest {
            program_id: String::new(),
            metric: 0,
            granularity: pb::Granularity::Day as i32,
            start_date: Some(academy_runtime::time::date(day(2010, 1, 1))),
            end_date: Some(academy_runtime::time::date(day(2025, 1, 1))),
        })
        .await
        .unwrap_err();
    assert_eq!(academy_testkit::grpc::violated_fields(&status), ["metric"]);
    let status = reports
        .get_time_series(pb::GetTimeSeriesRequest {
            program_id: String::new(),
            metric: pb::Metric::Enrollments as i32,
            granularity: pb::Granularity::Day as i32,
            start_date: Some(academy_runtime::time::date(day(2010, 1, 1))),
            end_date: Some(academy_runtime::time::date(day(2025, 1, 1))),
        })
        .await
        .unwrap_err();
    assert_eq!(
        academy_testkit::grpc::violated_fields(&status),
        ["granularity"]
    );
}
