//! The tonic face of the learner service: each RPC hands its request to the
//! handler of the same name in `rpc::*` and maps the result once.

use academy_proto::learner::enrollment_service_server::{
    EnrollmentService, EnrollmentServiceServer,
};
use academy_proto::learner::invitation_service_server::{
    InvitationService, InvitationServiceServer,
};
use academy_proto::learner::learner_service_server::{LearnerService, LearnerServiceServer};
use academy_proto::learner::*;
use academy_runtime::auth::{caller_may, data_scope, scope};
use academy_runtime::observability::trace::TraceContext;
use academy_runtime::respond;
use tonic::{Request, Response, Status, Streaming};

use crate::rpc::{
    Context, bulk_enroll, certificates, duplicates, enrollments, import, invitations, learners,
    merge, progress,
};

/// Refuses a call from a token limited to a slice of the data (its
/// `programs`, `regions` or `organizations` claims): only GetLearner and
/// ListLearners answer within a slice; the other methods would read or
/// change learners outside it (issue #15, item 6).
fn whole_data_only<T>(r: &Request<T>) -> Result<(), Status> {
    if data_scope(r).is_limited() {
        return Err(Status::permission_denied(
            "this token is limited to a slice of the data (programs, regions or organizations); \
             only GetLearner and ListLearners answer within a slice",
        ));
    }
    Ok(())
}

/// `academy.learner.v1.LearnerService`.
#[derive(Debug, Clone)]
pub struct LearnerApi {
    ctx: Context,
}

/// `academy.learner.v1.EnrollmentService`.
#[derive(Debug, Clone)]
pub struct EnrollmentApi {
    ctx: Context,
}

impl LearnerApi {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    pub fn into_server(self, max_message_bytes: usize) -> LearnerServiceServer<Self> {
        LearnerServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }
}

impl EnrollmentApi {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    pub fn into_server(self, max_message_bytes: usize) -> EnrollmentServiceServer<Self> {
        EnrollmentServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }
}

#[tonic::async_trait]
impl LearnerService for LearnerApi {
    async fn register_learner(
        &self,
        r: Request<RegisterLearnerRequest>,
    ) -> Result<Response<Learner>, Status> {
        whole_data_only(&r)?;
        let reads = caller_may(&r, scope::LEARNERS_READ);
        respond(learners::register(&self.ctx, r.into_inner(), reads).await)
    }

    async fn get_learner(
        &self,
        r: Request<GetLearnerRequest>,
    ) -> Result<Response<Learner>, Status> {
        let data = data_scope(&r);
        respond(learners::get(&self.ctx, r.into_inner(), &data).await)
    }

    async fn list_learners(
        &self,
        r: Request<ListLearnersRequest>,
    ) -> Result<Response<ListLearnersResponse>, Status> {
        let data = data_scope(&r);
        respond(learners::list(&self.ctx, r.into_inner(), &data).await)
    }

    async fn update_learner(
        &self,
        r: Request<UpdateLearnerRequest>,
    ) -> Result<Response<Learner>, Status> {
        whole_data_only(&r)?;
        let reads = caller_may(&r, scope::LEARNERS_READ);
        respond(learners::update(&self.ctx, r.into_inner(), reads).await)
    }

    async fn import_learners(
        &self,
        r: Request<Streaming<RegisterLearnerRequest>>,
    ) -> Result<Response<ImportLearnersResponse>, Status> {
        whole_data_only(&r)?;
        let reads = caller_may(&r, scope::LEARNERS_READ);
        respond(import::import(&self.ctx, r.into_inner(), reads).await)
    }

    async fn erase_learner(
        &self,
        r: Request<EraseLearnerRequest>,
    ) -> Result<Response<Learner>, Status> {
        whole_data_only(&r)?;
        respond(learners::erase(&self.ctx, r.into_inner()).await)
    }

    async fn sync_learners(
        &self,
        r: Request<Streaming<RegisterLearnerRequest>>,
    ) -> Result<Response<ImportLearnersResponse>, Status> {
        whole_data_only(&r)?;
        let reads = caller_may(&r, scope::LEARNERS_READ);
        respond(import::sync(&self.ctx, r.into_inner(), reads).await)
    }

    async fn lookup_learner(
        &self,
        r: Request<LookupLearnerRequest>,
    ) -> Result<Response<Learner>, Status> {
        whole_data_only(&r)?;
        respond(learners::lookup(&self.ctx, r.into_inner()).await)
    }

    async fn find_duplicate_learners(
        &self,
        r: Request<FindDuplicateLearnersRequest>,
    ) -> Result<Response<FindDuplicateLearnersResponse>, Status> {
        whole_data_only(&r)?;
        respond(duplicates::find(&self.ctx, r.into_inner()).await)
    }

    async fn merge_learners(
        &self,
        r: Request<MergeLearnersRequest>,
    ) -> Result<Response<MergeLearnersResponse>, Status> {
        whole_data_only(&r)?;
        respond(merge::merge(&self.ctx, r.into_inner()).await)
    }
}

#[tonic::async_trait]
impl EnrollmentService for EnrollmentApi {
    async fn enroll(&self, r: Request<EnrollRequest>) -> Result<Response<Enrollment>, Status> {
        whole_data_only(&r)?;
        let trace = TraceContext::current();
        respond(enrollments::enroll(&self.ctx, r.into_inner(), trace).await)
    }

    async fn get_enrollment(
        &self,
        r: Request<GetEnrollmentRequest>,
    ) -> Result<Response<Enrollment>, Status> {
        whole_data_only(&r)?;
        respond(enrollments::get(&self.ctx, r.into_inner()).await)
    }

    async fn list_enrollments(
        &self,
        r: Request<ListEnrollmentsRequest>,
    ) -> Result<Response<ListEnrollmentsResponse>, Status> {
        whole_data_only(&r)?;
        respond(enrollments::list(&self.ctx, r.into_inner()).await)
    }

    async fn bulk_enroll(
        &self,
        r: Request<Streaming<EnrollRequest>>,
    ) -> Result<Response<BulkEnrollResponse>, Status> {
        whole_data_only(&r)?;
        let trace = TraceContext::current();
        respond(bulk_enroll::bulk_enroll(&self.ctx, r.into_inner(), trace).await)
    }

    async fn record_progress(
        &self,
        r: Request<RecordProgressRequest>,
    ) -> Result<Response<Enrollment>, Status> {
        whole_data_only(&r)?;
        let trace = TraceContext::current();
        respond(progress::record(&self.ctx, r.into_inner(), trace).await)
    }

    async fn bulk_record_progress(
        &self,
        r: Request<Streaming<RecordProgressRequest>>,
    ) -> Result<Response<BulkRecordProgressResponse>, Status> {
        whole_data_only(&r)?;
        let trace = TraceContext::current();
        respond(progress::record_many(&self.ctx, r.into_inner(), trace).await)
    }

    async fn withdraw_enrollment(
        &self,
        r: Request<WithdrawEnrollmentRequest>,
    ) -> Result<Response<Enrollment>, Status> {
        whole_data_only(&r)?;
        respond(enrollments::withdraw(&self.ctx, r.into_inner()).await)
    }

    async fn list_certificates(
        &self,
        r: Request<ListCertificatesRequest>,
    ) -> Result<Response<ListCertificatesResponse>, Status> {
        whole_data_only(&r)?;
        respond(certificates::list(&self.ctx, r.into_inner()).await)
    }

    async fn verify_certificate(
        &self,
        r: Request<VerifyCertificateRequest>,
    ) -> Result<Response<Certificate>, Status> {
        let trace = TraceContext::current();
        respond(certificates::verify(&self.ctx, r.into_inner(), trace).await)
    }
}

/// `academy.learner.v1.InvitationService` (issue #17, item 4).
#[derive(Debug, Clone)]
pub struct InvitationApi {
    ctx: Context,
}

impl InvitationApi {
    pub fn new(ctx: Context) -> Self {
        Self { ctx }
    }

    pub fn into_server(self, max_message_bytes: usize) -> InvitationServiceServer<Self> {
        InvitationServiceServer::new(self)
            .max_decoding_message_size(max_message_bytes)
            .max_encoding_message_size(max_message_bytes)
    }
}

#[tonic::async_trait]
impl InvitationService for InvitationApi {
    async fn invite_learners(
        &self,
        r: Request<InviteLearnersRequest>,
    ) -> Result<Response<InviteLearnersResponse>, Status> {
        whole_data_only(&r)?;
        let trace = TraceContext::current();
        respond(invitations::invite(&self.ctx, r.into_inner(), trace).await)
    }

    async fn get_invitation(
        &self,
        r: Request<GetInvitationRequest>,
    ) -> Result<Response<Invitation>, Status> {
        whole_data_only(&r)?;
        respond(invitations::get(&self.ctx, r.into_inner()).await)
    }

    async fn list_invitations(
        &self,
        r: Request<ListInvitationsRequest>,
    ) -> Result<Response<ListInvitationsResponse>, Status> {
        whole_data_only(&r)?;
        respond(invitations::list(&self.ctx, r.into_inner()).await)
    }

    async fn accept_invitation(
        &self,
        r: Request<AcceptInvitationRequest>,
    ) -> Result<Response<Invitation>, Status> {
        whole_data_only(&r)?;
        respond(invitations::accept(&self.ctx, r.into_inner()).await)
    }

    async fn decline_invitation(
        &self,
        r: Request<DeclineInvitationRequest>,
    ) -> Result<Response<Invitation>, Status> {
        whole_data_only(&r)?;
        respond(invitations::decline(&self.ctx, r.into_inner()).await)
    }
}
