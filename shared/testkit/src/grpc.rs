//! Assertions on gRPC results, a walk through a paged list, and one request
//! retried at once.

use std::future::Future;
use tonic::{Code, Status};
use tonic_types::StatusExt;

/// Asserts the call failed with `code`; returns the status for more checks.
#[track_caller]
pub fn expect_code<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, Status>,
    code: Code,
) -> Status {
    match result {
        Ok(reply) => panic!("expected {code:?}, got success: {:?}", reply.into_inner()),
        Err(status) => {
            assert_eq!(status.code(), code, "unexpected status: {status:?}");
            status
        }
    }
}

/// Asserts the call failed with INVALID_ARGUMENT naming exactly `fields`
/// (in order); returns the status for more checks.
#[track_caller]
pub fn expect_invalid<T: std::fmt::Debug>(
    result: Result<tonic::Response<T>, Status>,
    fields: &[&str],
) -> Status {
    let status = expect_code(result, Code::InvalidArgument);
    assert_eq!(violated_fields(&status), fields, "{status:?}");
    status
}

/// Every page of a paged list, first to last: `fetch(page_token)` answers
/// one page's items and its `next_page_token` (empty on the last page).
pub async fn pages<T, F, Fut>(mut fetch: F) -> Vec<Vec<T>>
where
    F: FnMut(String) -> Fut,
    Fut: Future<Output = (Vec<T>, String)>,
{
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let (items, next_page_token) = fetch(token).await;
        pages.push(items);
        if next_page_token.is_empty() {
            return pages;
        }
        token = next_page_token;
    }
}

/// Makes `times` calls at once (each made by `call`, on a task of its own),
/// as a client retrying one request does; asserts every one succeeds.
/// Returns the answers.
pub async fn retries_succeed<T, E, Fut>(times: usize, call: impl Fn() -> Fut) -> Vec<T>
where
    T: Send + 'static,
    E: std::fmt::Debug + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    let tasks: Vec<_> = (0..times).map(|_| tokio::spawn(call())).collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap().expect("every retry succeeds"));
    }
    answers
}

/// [`retries_succeed`], and all answer alike.
pub async fn retries_answer_alike<T, E, Fut>(times: usize, call: impl Fn() -> Fut) -> Vec<T>
where
    T: PartialEq + std::fmt::Debug + Send + 'static,
    E: std::fmt::Debug + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
{
    let answers = retries_succeed(times, call).await;
    assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
    answers
}

/// The field paths of an INVALID_ARGUMENT's `BadRequest` details, in order.
pub fn violated_fields(status: &Status) -> Vec<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .expect("BadRequest details")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}

/// The `ErrorInfo.reason` of a status, if it has one.
pub fn error_reason(status: &Status) -> Option<String> {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
}
