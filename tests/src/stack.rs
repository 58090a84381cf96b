//! The three service binaries wired together as in production: learner
//! calls course, reporting follows both feeds.

use crate::ServiceProcess;
use std::path::Path;

/// Settings of a stack; each service gets `common` and then its own list
/// (a later setting overrides an earlier one).
#[derive(Debug, Default, Clone, Copy)]
pub struct StackEnv<'a> {
    pub common: &'a [(&'a str, &'a str)],
    pub course: &'a [(&'a str, &'a str)],
    pub learner: &'a [(&'a str, &'a str)],
    pub reporting: &'a [(&'a str, &'a str)],
    /// When set, each service's output goes to `<dir>/<service>.log`
    /// (`course`, `learner`, `reporting`).
    pub log_dir: Option<&'a Path>,
}

impl StackEnv<'_> {
    /// `common` followed by `own` and `endpoints`.
    fn for_service<'e>(
        &'e self,
        own: &'e [(&'e str, &'e str)],
        endpoints: &'e [(&'e str, &'e str)],
    ) -> Vec<(&'e str, &'e str)> {
        [self.common, endpoints, own].concat()
    }

    async fn start(&self, binary: &str, env: &[(&str, &str)]) -> ServiceProcess {
        match self.log_dir {
            Some(dir) => {
                let name = binary.trim_start_matches("academy-");
                let log = dir.join(format!("{name}.log"));
                ServiceProcess::start_logged(binary, env, &log).await
            }
            None => ServiceProcess::start(binary, env).await,
        }
    }

    /// Course, then learner pointed at it.
    pub async fn start_course_and_learner(&self) -> (ServiceProcess, ServiceProcess) {
        let course = self
            .start("academy-course", &self.for_service(self.course, &[]))
            .await;
        let course_url = course.endpoint();
        let endpoints = [("ACADEMY_COURSE_ENDPOINT", course_url.as_str())];
        let learner = self
            .start(
                "academy-learner",
                &self.for_service(self.learner, &endpoints),
            )
            .await;
        (course, learner)
    }

    /// Reporting following the feeds of `course` and `learner`.
    pub async fn start_reporting(
        &self,
        course: &ServiceProcess,
        learner: &ServiceProcess,
    ) -> ServiceProcess {
        let (course_url, learner_url) = (course.endpoint(), learner.endpoint());
        let endpoints = [
            ("ACADEMY_COURSE_ENDPOINT", course_url.as_str()),
            ("ACADEMY_LEARNER_ENDPOINT", learner_url.as_str()),
        ];
        self.start(
            "academy-reporting",
            &self.for_service(self.reporting, &endpoints),
        )
        .await
    }
}

/// Course, learner and reporting, each on its own port and data dir.
#[derive(Debug)]
pub struct Stack {
    pub course: ServiceProcess,
    pub learner: ServiceProcess,
    pub reporting: ServiceProcess,
}

impl Stack {
    /// The three binaries on their SQLite defaults with no extra settings.
    pub async fn start() -> Self {
        Self::start_with(StackEnv::default()).await
    }

    pub async fn start_with(env: StackEnv<'_>) -> Self {
        let (course, learner) = env.start_course_and_learner().await;
        let reporting = env.start_reporting(&course, &learner).await;
        Self {
            course,
            learner,
            reporting,
        }
    }
}
