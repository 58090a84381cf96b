//! The demo catalog: 15 digital skills, 40 published courses, one national
//! program holding them all.

use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{self as course_pb, CourseLevel, CourseModule};
use academyctl::client::Authed;
use std::collections::HashMap;

use super::{FIRST_YEAR, Rng, SKILLS};

/// Creates and publishes the catalog; returns course id → module ids, and the program id.
pub(super) async fn catalog(
    mut client: CourseServiceClient<Authed>,
    rng: &mut Rng,
) -> anyhow::Result<(HashMap<String, Vec<String>>, String)> {
    let mut skill_ids = Vec::new();
    for (i, name) in SKILLS.iter().enumerate() {
        let skill = client
            .create_skill(course_pb::CreateSkillRequest {
                skill: Some(course_pb::Skill {
                    name: (*name).into(),
                    category: "Digital skills".into(),
                    ..Default::default()
                }),
                request_id: format!("demo-skill-{i}"),
            })
            .await?
            .into_inner();
        skill_ids.push(skill.id);
    }
    let program = client
        .create_program(course_pb::CreateProgramRequest {
            program: Some(course_pb::Program {
                name: "C4IR Academy National Program".into(),
                description: "National digital-skills upskilling initiative".into(),
                start_date: Some(academy_proto::google::r#type::Date {
                    year: FIRST_YEAR,
                    month: 1,
                    day: 1,
                }),
                ..Default::default()
            }),
            request_id: "demo-program".into(),
        })
        .await?
        .into_inner();
    let levels = [
        CourseLevel::Beginner,
        CourseLevel::Intermediate,
        CourseLevel::Advanced,
    ];
    let mut courses = HashMap::new();
    for i in 0..40usize {
        let skill = i % SKILLS.len();
        let level = levels[i / SKILLS.len() % 3];
        let modules = 3 + rng.below(4) as usize;
        let mut course_skills = vec![skill_ids[skill].clone()];
        if i % 3 == 0 {
            course_skills.push(skill_ids[(skill + 1) % SKILLS.len()].clone());
        }
        let created = client
            .create_course(course_pb::CreateCourseRequest {
                course: Some(course_pb::Course {
                    code: format!("{}-{}", initials(SKILLS[skill]), 101 + i),
                    title: format!(
                        "{} {}",
                        SKILLS[skill],
                        ["essentials", "in practice", "advanced"][i / SKILLS.len() % 3]
                    ),
                    description: format!("{} for the national program", SKILLS[skill]),
                    provider: ["Coursera", "edX", "Udacity", "ADA University"][i % 4].into(),
                    language: if i % 2 == 0 { "az" } else { "en" }.into(),
                    level: level as i32,
                    estimated_hours: (modules * 3) as f64,
                    skill_ids: course_skills,
                    modules: (0..modules)
                        .map(|m| CourseModule {
                            title: format!("Module {}", m + 1),
                            estimated_minutes: 60 + 15 * m as i32,
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                }),
                request_id: format!("demo-course-{i}"),
            })
            .await?
            .into_inner();
        let published = if created.state == course_pb::CourseState::Published as i32 {
            created
        } else {
            client
                .publish_course(course_pb::PublishCourseRequest {
                    id: created.id,
                    etag: String::new(),
                })
                .await?
                .into_inner()
        };
        client
            .add_course_to_program(course_pb::AddCourseToProgramRequest {
                program_id: program.id.clone(),
                course_id: published.id.clone(),
            })
            .await?;
        courses.insert(
            published.id,
            published.modules.into_iter().map(|m| m.id).collect(),
        );
    }
    Ok((courses, program.id))
}

fn initials(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .collect::<String>()
        .to_uppercase()
}
