//! The tonic face of the course service: each RPC hands its request to the
//! handler of the same name in `rpc::*` and maps the result once.

use academy_proto::course::course_service_server::{CourseService, CourseServiceServer};
use academy_proto::course::*;
use academy_runtime::respond;
use tonic::{Request, Response, Status};

use crate::rpc::{Context, courses, programs, skills};

/// `academy.course.v1.CourseService`.
#[derive(Debug, Clone)]
pub struct CourseApi {
    ctx: Context,
}

impl CourseApi {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    pub fn into_server(self, max_message_bytes: usize) -> CourseServiceServer<Self> {
        CourseServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }
}

#[tonic::async_trait]
impl CourseService for CourseApi {
    async fn create_skill(
        &self,
        r: Request<CreateSkillRequest>,
    ) -> Result<Response<Skill>, Status> {
        respond(skills::create(&self.ctx, r.into_inner()).await)
    }

    async fn list_skills(
        &self,
        r: Request<ListSkillsRequest>,
    ) -> Result<Response<ListSkillsResponse>, Status> {
        respond(skills::list(&self.ctx, r.into_inner()).await)
    }

    async fn create_course(
        &self,
        r: Request<CreateCourseRequest>,
    ) -> Result<Response<Course>, Status> {
        respond(courses::create(&self.ctx, r.into_inner()).await)
    }

    async fn get_course(&self, r: Request<GetCourseRequest>) -> Result<Response<Course>, Status> {
        respond(courses::get(&self.ctx, r.into_inner()).await)
    }

    async fn list_courses(
        &self,
        r: Request<ListCoursesRequest>,
    ) -> Result<Response<ListCoursesResponse>, Status> {
        respond(courses::list(&self.ctx, r.into_inner()).await)
    }

    async fn update_course(
        &self,
        r: Request<UpdateCourseRequest>,
    ) -> Result<Response<Course>, Status> {
        respond(courses::update(&self.ctx, r.into_inner()).await)
    }

    async fn publish_course(
        &self,
        r: Request<PublishCourseRequest>,
    ) -> Result<Response<Course>, Status> {
        respond(courses::publish(&self.ctx, r.into_inner()).await)
    }

    async fn archive_course(
        &self,
        r: Request<ArchiveCourseRequest>,
    ) -> Result<Response<Course>, Status> {
        respond(courses::archive(&self.ctx, r.into_inner()).await)
    }

    async fn create_program(
        &self,
        r: Request<CreateProgramRequest>,
    ) -> Result<Response<Program>, Status> {
        respond(programs::create(&self.ctx, r.into_inner()).await)
    }

    async fn get_program(
        &self,
        r: Request<GetProgramRequest>,
    ) -> Result<Response<Program>, Status> {
        respond(programs::get(&self.ctx, r.into_inner()).await)
    }

    async fn list_programs(
        &self,
        r: Request<ListProgramsRequest>,
    ) -> Result<Response<ListProgramsResponse>, Status> {
        respond(programs::list(&self.ctx, r.into_inner()).await)
    }

    async fn add_course_to_program(
        &self,
        r: Request<AddCourseToProgramRequest>,
    ) -> Result<Response<Program>, Status> {
        respond(programs::add_course(&self.ctx, r.into_inner()).await)
    }

    async fn lookup_course(
        &self,
        r: Request<LookupCourseRequest>,
    ) -> Result<Response<Course>, Status> {
        respond(courses::lookup(&self.ctx, r.into_inner()).await)
    }
}
