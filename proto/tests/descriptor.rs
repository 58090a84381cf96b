//! The descriptor set that server reflection serves, as `proto/build.rs`
//! compiles it (with protox, no `protoc`): every service of the contract,
//! the imported well-known types, and the comments `grpcurl describe` shows.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use academy_proto::FILE_DESCRIPTOR_SET;
use prost::Message;
use prost_types::FileDescriptorSet;

fn set() -> FileDescriptorSet {
    FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("the descriptor set decodes")
}

#[test]
fn every_service_of_the_contract_is_described() {
    let set = set();
    let mut services: Vec<String> = set
        .file
        .iter()
        .flat_map(|f| {
            f.service
                .iter()
                .map(move |s| format!("{}.{}", f.package(), s.name()))
        })
        .collect();
    services.sort();
    assert_eq!(
        services,
        [
            "academy.audit.v1.AuditService",
            "academy.course.v1.CourseService",
            "academy.events.v1.EventFeed",
            "academy.learner.v1.EnrollmentService",
            "academy.learner.v1.InvitationService",
            "academy.learner.v1.LearnerService",
            "academy.reporting.v1.ReportingService",
        ]
    );
}

#[test]
fn imports_are_included_so_reflection_resolves_every_type() {
    let set = set();
    let names: Vec<&str> = set.file.iter().map(|f| f.name()).collect();
    for file in &set.file {
        for dependency in &file.dependency {
            assert!(
                names.contains(&dependency.as_str()),
                "{} imports {dependency}, which the set lacks",
                file.name()
            );
        }
    }
    assert!(names.contains(&"google/protobuf/timestamp.proto"));
    assert!(names.contains(&"google/protobuf/field_mask.proto"));
}

#[test]
fn the_contracts_comments_are_kept_for_describe() {
    let set = set();
    let course = set
        .file
        .iter()
        .find(|f| f.name() == "academy/course/v1/course_service.proto")
        .expect("course_service.proto is in the set");
    let comments: Vec<&str> = course
        .source_code_info
        .as_ref()
        .expect("source info is included")
        .location
        .iter()
        .filter_map(|l| l.leading_comments.as_deref())
        .collect();
    assert!(
        comments.len() > 20,
        "only {} commented elements",
        comments.len()
    );
    // The service's own methods carry their documentation.
    let service = &course.service[0];
    let publish = service
        .method
        .iter()
        .position(|m| m.name() == "PublishCourse")
        .expect("PublishCourse is a method") as i32;
    // Path 6 = service, 0 = first service, 2 = method, n = its index.
    let documented = course
        .source_code_info
        .as_ref()
        .into_iter()
        .flat_map(|info| &info.location)
        .any(|l| l.path == [6, 0, 2, publish] && l.leading_comments.is_some());
    assert!(documented, "PublishCourse has no comment in the set");
}
