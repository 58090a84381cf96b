//! A small published catalog made through the course service's API, for
//! the reads and writes to use: skills and courses with modules, all
//! published.

use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::course::{
    Course, CourseLevel, CourseModule, CreateCourseRequest, CreateSkillRequest,
    PublishCourseRequest, Skill,
};
use academyctl::client::Authed;

/// What was made, by id.
#[derive(Debug, Clone)]
pub(crate) struct Catalog {
    /// Course id and its module ids, in module order.
    pub(crate) courses: Vec<(String, Vec<String>)>,
}

pub(crate) async fn create(
    client: &mut CourseServiceClient<Authed>,
    courses: usize,
    modules: usize,
) -> anyhow::Result<Catalog> {
    let mut skill_ids = Vec::new();
    for i in 0..3 {
        let skill = client
            .create_skill(CreateSkillRequest {
                skill: Some(Skill {
                    name: format!("Bench skill {i}"),
                    category: "Benchmark".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?
            .into_inner();
        skill_ids.push(skill.id);
    }
    let mut made = Vec::with_capacity(courses);
    for i in 0..courses {
        let course = client
            .create_course(CreateCourseRequest {
                course: Some(course(i, modules, &skill_ids)),
                request_id: String::new(),
            })
            .await?
            .into_inner();
        client
            .publish_course(PublishCourseRequest {
                id: course.id.clone(),
                etag: String::new(),
            })
            .await?;
        let module_ids = course.modules.into_iter().map(|m| m.id).collect();
        made.push((course.id, module_ids));
    }
    Ok(Catalog { courses: made })
}

fn course(i: usize, modules: usize, skill_ids: &[String]) -> Course {
    Course {
        code: format!("BENCH-{i:03}"),
        title: format!("Benchmark course {i}"),
        description: "A course the load generator made".into(),
        provider: "Bench".into(),
        language: "az".into(),
        level: CourseLevel::Beginner as i32,
        estimated_hours: 4.0,
        skill_ids: skill_ids.iter().take(1 + i % 3).cloned().collect(),
        modules: (0..modules)
            .map(|m| CourseModule {
                title: format!("Module {m}"),
                estimated_minutes: 30,
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}
