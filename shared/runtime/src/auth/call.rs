//! Who is making the call being served: set by the auth layer around each
//! handler, read by whatever records an author (the audit log, idempotency
//! keys, published reports).

use std::future::Future;

/// Actor recorded for changes made outside any call (none today; a
/// background job would be one).
const SYSTEM: &str = "system";

/// Who is calling, and which method.
#[derive(Debug, Clone)]
pub struct CallInfo {
    pub actor: String,
    pub method: String,
}

tokio::task_local! {
    static CALL: CallInfo;
}

/// Runs `future` (a call's handler) with `call` as the actor of whatever it
/// changes.
pub fn with_call<F: Future>(call: CallInfo, future: F) -> impl Future<Output = F::Output> {
    CALL.scope(call, future)
}

/// The call being served, or the system outside one.
pub(crate) fn current() -> CallInfo {
    CALL.try_with(CallInfo::clone).unwrap_or_else(|_| CallInfo {
        actor: SYSTEM.to_owned(),
        method: String::new(),
    })
}

/// Who is making the current call (the token's subject), or the system
/// outside one; for records that name their author themselves.
pub fn current_actor() -> String {
    current().actor
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_caller_is_known_inside_its_call_only() {
        let call = CallInfo {
            actor: "ops:alice".into(),
            method: "/academy.course.v1.CourseService/CreateSkill".into(),
        };
        let inside = with_call(call, async { current() }).await;
        assert_eq!(inside.actor, "ops:alice");
        assert_eq!(
            inside.method,
            "/academy.course.v1.CourseService/CreateSkill"
        );
        assert_eq!(current().actor, SYSTEM);
    }
}
