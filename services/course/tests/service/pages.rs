//! Issue #15, item 9: a default ListCourses page of large courses (200
//! modules of long titles each) exceeded the 4 MiB message limit, and the
//! list then failed for everyone. A page now ends by bytes as well as by
//! count; paging still returns every course exactly once.

use academy_proto::course::*;
use academy_testkit::{TestDb, on_both_backends};
use std::collections::HashSet;

use crate::common::*;

on_both_backends!(a_page_of_large_courses_stays_under_the_message_limit);

async fn a_page_of_large_courses_stays_under_the_message_limit(db: TestDb) {
    let server = TestServer::start(db).await;
    let mut client = server.client().await;
    // ~180 KB each encoded: 200 modules × 200 four-byte characters.
    let long_title = "𝔸".repeat(200);
    for i in 0..30 {
        let mut big = course(&format!("BIG-{i:02}"), Vec::new());
        big.description = "𝔹".repeat(5000);
        big.modules = (0..200)
            .map(|_| CourseModule {
                title: long_title.clone(),
                estimated_minutes: 30,
                ..Default::default()
            })
            .collect();
        client
            .create_course(CreateCourseRequest {
                course: Some(big),
                request_id: String::new(),
            })
            .await
            .unwrap();
    }
    let mut seen = HashSet::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_courses(ListCoursesRequest {
                page_token: token,
                ..Default::default()
            })
            .await
            .expect("a default page is always sendable")
            .into_inner();
        pages += 1;
        assert!(!page.courses.is_empty());
        for c in &page.courses {
            assert!(seen.insert(c.id.clone()), "{} twice", c.code);
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 30);
    assert!(pages >= 2, "30 large courses do not fit one page");
}
