//! Issue #15, item 9: reflection describes what this binary serves and
//! nothing else (it used to hold the whole contract, learner and
//! reporting included).

use academy_testkit::{TestDb, on_both_backends};
use tokio_stream::StreamExt;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::common::*;

on_both_backends!(reflection_describes_only_what_is_served);

async fn ask(
    server: &TestServer,
    request: MessageRequest,
) -> Result<MessageResponse, tonic::Status> {
    let mut client = ServerReflectionClient::new(server.channel().await);
    let mut replies = client
        .server_reflection_info(tokio_stream::iter([ServerReflectionRequest {
            host: String::new(),
            message_request: Some(request),
        }]))
        .await
        .unwrap()
        .into_inner();
    replies
        .next()
        .await
        .expect("a reply")
        .map(|reply| reply.message_response.expect("a response"))
}

async fn reflection_describes_only_what_is_served(db: TestDb) {
    let server = TestServer::start(db).await;
    let MessageResponse::ListServicesResponse(list) =
        ask(&server, MessageRequest::ListServices(String::new()))
            .await
            .unwrap()
    else {
        panic!("not a service list");
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"academy.course.v1.CourseService".to_owned()),
        "{names:?}"
    );
    assert!(
        !names
            .iter()
            .any(|n| n.contains("learner") || n.contains("reporting"))
    );
    let served = ask(
        &server,
        MessageRequest::FileContainingSymbol("academy.course.v1.CourseService".into()),
    )
    .await
    .unwrap();
    assert!(
        matches!(served, MessageResponse::FileDescriptorResponse(_)),
        "{served:?}"
    );
    for foreign in [
        "academy.learner.v1.LearnerService",
        "academy.reporting.v1.ReportingService",
        "academy.learner.v1.Learner",
    ] {
        let reply = ask(
            &server,
            MessageRequest::FileContainingSymbol(foreign.into()),
        )
        .await;
        assert!(
            matches!(&reply, Err(status) if status.code() == tonic::Code::NotFound)
                || matches!(&reply, Ok(MessageResponse::ErrorResponse(_))),
            "{foreign}: {reply:?}"
        );
    }
}
