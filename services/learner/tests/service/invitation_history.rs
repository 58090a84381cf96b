//! InviteLearners with history (a provider's membership report): rows that
//! carry joined_at or declined_at are answered in the same call, a row that
//! cannot be answered leaves nothing behind while the rest of the call
//! stays, and the same rows sent again change nothing. On SQLite and
//! PostgreSQL.

use academy_proto::learner::invitation_service_client::InvitationServiceClient;
use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use tonic::transport::Channel;

use crate::common::*;
use crate::invitations::{at, invitations, invite, list, program_with_course};

on_both_backends!(
    history_rows_are_answered_in_the_call_and_bad_ones_leave_nothing,
    a_history_row_answers_an_invitation_still_open_and_nothing_else
);

/// Every invitation of the program, whatever its state.
async fn all(client: &mut InvitationServiceClient<Channel>, program_id: &str) -> Vec<Invitation> {
    list(client, program_id, InvitationState::Unspecified).await
}

fn state(r: &InviteResult) -> InvitationState {
    InvitationState::try_from(r.invitation.as_ref().map_or(0, |i| i.state)).unwrap()
}

async fn history_rows_are_answered_in_the_call_and_bad_ones_leave_nothing(db: TestDb) {
    let stack = Stack::start(db).await;
    let (program, _) = program_with_course(&stack, "History").await;
    let a = registered(&stack, "a@example.org").await;
    let now = chrono::Utc::now().timestamp();
    let mut client = invitations(&stack).await;
    // A history row: invited, joined and declined this many seconds from
    // now, or not at all.
    let row =
        |email: &str, invited: Option<i64>, joined: Option<i64>, declined: Option<i64>| Invitee {
            email: email.into(),
            invited_at: invited.map(|s| at(now + s)),
            joined_at: joined.map(|s| at(now + s)),
            declined_at: declined.map(|s| at(now + s)),
            ..Default::default()
        };
    let rows = vec![
        // Joined 500 s after an invitation 1000 s ago.
        Invitee {
            learner_id: a.id.clone(),
            ..row("", Some(-1000), Some(-500), None)
        },
        // Declined; an invitee by email need not be registered to decline.
        row("no@example.org", Some(-1000), None, Some(-400)),
        // Joined, but nobody has registered with this email: refused, and
        // the invitation the row would have created is not kept either.
        row("ghost@example.org", Some(-1000), Some(-300), None),
        // Joined before being invited.
        row("early@example.org", Some(-100), Some(-200), None),
        // Both answers at once.
        row("both@example.org", None, Some(-100), Some(-100)),
        // Joined in the future.
        row("later@example.org", None, Some(86_400), None),
    ];
    let first = invite(&mut client, &program, rows.clone()).await;
    assert_eq!((first.created, first.duplicates, first.rejected), (2, 0, 4));
    let r = &first.results;
    assert!(r[0].answered && state(&r[0]) == InvitationState::Joined);
    let joined = r[0].invitation.as_ref().unwrap();
    assert_eq!(joined.join_time.map(|t| t.seconds), Some(now - 500));
    assert_eq!(joined.learner_id, a.id);
    assert!(r[1].answered && state(&r[1]) == InvitationState::Declined);
    assert_eq!(r[2].code, "FAILED_PRECONDITION", "{:?}", r[2]);
    assert!(r[2].invitation.is_none());
    for (i, field) in [
        (3, "invitees[3].joined_at"),
        (4, "invitees[4].declined_at"),
        (5, "invitees[5].joined_at"),
    ] {
        let refusal = (r[i].code.as_str(), r[i].field.as_str());
        assert_eq!(refusal, ("INVALID_ARGUMENT", field));
    }
    // Only the two answered invitations exist: the refused rows left none.
    let stored = all(&mut client, &program).await;
    assert_eq!(stored.len(), 2, "{stored:?}");

    // The same rows again: duplicates, answered already, nothing new.
    let again = invite(&mut client, &program, rows).await;
    assert_eq!((again.created, again.duplicates, again.rejected), (0, 2, 4));
    assert!(!again.results[0].answered && !again.results[1].answered);
    assert_eq!(state(&again.results[0]), InvitationState::Joined);
    assert_eq!(state(&again.results[1]), InvitationState::Declined);
    assert_eq!(all(&mut client, &program).await.len(), 2);
}

async fn a_history_row_answers_an_invitation_still_open_and_nothing_else(db: TestDb) {
    let stack = Stack::start(db).await;
    let (program, _) = program_with_course(&stack, "Open").await;
    let b = registered(&stack, "b@example.org").await;
    let c = registered(&stack, "c@example.org").await;
    let now = chrono::Utc::now().timestamp();
    let mut client = invitations(&stack).await;
    let plain = |id: &str| Invitee {
        learner_id: id.into(),
        invited_at: Some(at(now - 1000)),
        ..Default::default()
    };
    let made = invite(&mut client, &program, vec![plain(&b.id), plain(&c.id)]).await;
    assert_eq!(made.created, 2);
    assert!(made.results.iter().all(|r| !r.answered));

    // b's open invitation is answered by a later report that says joined;
    // c declined first, so a report saying joined leaves it DECLINED.
    client
        .decline_invitation(DeclineInvitationRequest {
            id: made.results[1].invitation.as_ref().unwrap().id.clone(),
            declined_at: Some(at(now - 900)),
        })
        .await
        .unwrap();
    let joined = |id: &str| Invitee {
        joined_at: Some(at(now - 800)),
        ..plain(id)
    };
    let report = invite(&mut client, &program, vec![joined(&b.id), joined(&c.id)]).await;
    assert_eq!((report.created, report.duplicates), (0, 2));
    assert!(report.results[0].answered);
    assert_eq!(state(&report.results[0]), InvitationState::Joined);
    assert!(!report.results[1].answered);
    assert_eq!(state(&report.results[1]), InvitationState::Declined);
}
