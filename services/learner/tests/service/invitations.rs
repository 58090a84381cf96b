//! InvitationService (issue #17, item 4): inviting in bulk by learner id,
//! external id or email; one invitation per person and program; joining on
//! the first enrollment in the program or by acceptance; declining;
//! expiry on read; erasure and merge; and hostile input that writes
//! nothing. On SQLite and PostgreSQL.

use academy_proto::events::event::Payload;
use academy_proto::learner::invitation_service_client::InvitationServiceClient;
use academy_proto::learner::*;
use academy_testkit::{TestDb, on_both_backends};
use prost_types::Timestamp;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::*;

on_both_backends!(
    invitations_are_made_once_per_person_and_program,
    the_first_enrollment_in_the_program_joins_the_invitation,
    answers_move_invited_to_joined_or_declined_only,
    hostile_invitations_are_refused_and_nothing_is_written,
    erasure_and_merge_follow_the_person
);

pub(crate) async fn invitations(stack: &Stack) -> InvitationServiceClient<Channel> {
    InvitationServiceClient::connect(format!("http://{}", stack.learner.addr))
        .await
        .unwrap()
}

/// A program including a published one-module course: (program, course).
pub(crate) async fn program_with_course(stack: &Stack, name: &str) -> (String, course_pb::Course) {
    let course = course(stack, &format!("C-{}", name.len()), 1, true).await;
    let program = program(stack, name, 2020, &[&course.id]).await;
    (program.id, course)
}

use academy_proto::course as course_pb;

fn by_email(email: &str) -> Invitee {
    Invitee {
        email: email.into(),
        ..Default::default()
    }
}

fn by_id(learner_id: &str) -> Invitee {
    Invitee {
        learner_id: learner_id.into(),
        ..Default::default()
    }
}

/// The one invitation `invitee` gets to `program_id` (it must be made).
async fn invitation_of(
    client: &mut InvitationServiceClient<Channel>,
    program_id: &str,
    invitee: Invitee,
) -> Invitation {
    let made = invite(client, program_id, vec![invitee]).await;
    made.results[0].invitation.clone().unwrap()
}

pub(crate) fn at(seconds: i64) -> Timestamp {
    Timestamp { seconds, nanos: 0 }
}

pub(crate) async fn invite(
    client: &mut InvitationServiceClient<Channel>,
    program_id: &str,
    invitees: Vec<Invitee>,
) -> InviteLearnersResponse {
    client
        .invite_learners(InviteLearnersRequest {
            program_id: program_id.into(),
            invitees,
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

pub(crate) async fn list(
    client: &mut InvitationServiceClient<Channel>,
    program_id: &str,
    state: InvitationState,
) -> Vec<Invitation> {
    client
        .list_invitations(ListInvitationsRequest {
            program_id: program_id.into(),
            state: state as i32,
            page_size: 1000,
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .invitations
}

/// The invitation events of the feed so far: (type, payload).
async fn invitation_events(stack: &Stack) -> Vec<(String, Payload)> {
    all_events(stack)
        .await
        .into_iter()
        .filter(|event| event.r#type.starts_with("invitation."))
        .filter_map(|event| Some((event.r#type, event.payload?)))
        .collect()
}

async fn invitations_are_made_once_per_person_and_program(db: TestDb) {
    let stack = Stack::start(db).await;
    let (program, _) = program_with_course(&stack, "Reach").await;
    let mut request = register("known@example.org");
    request.learner.as_mut().unwrap().external_id = Some("ext-known".into());
    let known = stack
        .learners()
        .await
        .register_learner(request)
        .await
        .unwrap()
        .into_inner();
    let mut client = invitations(&stack).await;

    let first = invite(
        &mut client,
        &program,
        vec![
            by_email("new@example.org"),
            Invitee {
                external_id: "ext-known".into(),
                ..Default::default()
            },
            // The same unregistered person again, differently cased.
            by_email(" NEW@example.org "),
        ],
    )
    .await;
    assert_eq!((first.created, first.duplicates, first.rejected), (2, 1, 0));
    let outcomes: Vec<i32> = first.results.iter().map(|r| r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            InviteOutcome::Created as i32,
            InviteOutcome::Created as i32,
            InviteOutcome::Duplicate as i32
        ]
    );
    let unregistered = first.results[0].invitation.clone().unwrap();
    let of_known = first.results[1].invitation.clone().unwrap();
    assert_eq!(
        first.results[2].invitation.as_ref().unwrap().id,
        unregistered.id
    );
    assert_eq!(unregistered.learner_id, "");
    assert_eq!(unregistered.email, "new@example.org");
    assert_eq!(unregistered.state, InvitationState::Invited as i32);
    assert_eq!(of_known.learner_id, known.id);

    // Again, by every key of the known learner: still one invitation each.
    let again = invite(
        &mut client,
        &program,
        vec![
            by_id(&known.id),
            by_email("known@example.org"),
            by_email("new@example.org"),
        ],
    )
    .await;
    assert_eq!((again.created, again.duplicates), (0, 3));
    assert_eq!(
        again.results[0].invitation.as_ref().unwrap().id,
        of_known.id
    );
    assert_eq!(
        again.results[1].invitation.as_ref().unwrap().id,
        of_known.id
    );

    // The same request_id with another request is refused; with the same
    // request it answers duplicates.
    let keyed = InviteLearnersRequest {
        program_id: program.clone(),
        // The first row is a duplicate: the key goes with the second.
        invitees: vec![by_email("new@example.org"), by_email("third@example.org")],
        request_id: "invite-1".into(),
    };
    let once = client.invite_learners(keyed.clone()).await.unwrap();
    let once = once.into_inner();
    assert_eq!((once.created, once.duplicates), (1, 1));
    let twice = client.invite_learners(keyed.clone()).await.unwrap();
    let twice = twice.into_inner();
    assert_eq!((twice.created, twice.duplicates), (0, 2));
    let mut other = keyed;
    other.invitees = vec![by_email("fourth@example.org")];
    expect_code(
        client.invite_learners(other).await,
        Code::FailedPrecondition,
    );

    let listed = list(&mut client, &program, InvitationState::Unspecified).await;
    assert_eq!(listed.len(), 3);
    let got = client
        .get_invitation(GetInvitationRequest {
            id: of_known.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, of_known);
    let created = invitation_events(&stack)
        .await
        .into_iter()
        .filter(|(t, _)| t == "invitation.created")
        .count();
    assert_eq!(created, 3, "one event per invitation, none for duplicates");
}

async fn the_first_enrollment_in_the_program_joins_the_invitation(db: TestDb) {
    let stack = Stack::start(db).await;
    let (program, course) = program_with_course(&stack, "Joiners").await;
    let mut client = invitations(&stack).await;
    let invited_at = chrono::Utc::now().timestamp() - 86_400;
    let made = invite(
        &mut client,
        &program,
        vec![
            Invitee {
                email: "late@example.org".into(),
                invited_at: Some(at(invited_at)),
                ..Default::default()
            },
            by_email("never@example.org"),
        ],
    )
    .await;
    let id = made.results[0].invitation.as_ref().unwrap().id.clone();
    // The invitee registers later, then enrolls in the program's course.
    let learner = registered(&stack, "late@example.org").await;
    let mut enrollment = enroll(&learner.id, &course.id);
    enrollment.program_id = program.clone();
    let enrolled_at = invited_at + 3600;
    enrollment.enrolled_at = Some(at(enrolled_at));
    stack.enrollments().await.enroll(enrollment).await.unwrap();
    let joined = client
        .get_invitation(GetInvitationRequest { id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(joined.state, InvitationState::Joined as i32);
    assert_eq!(joined.learner_id, learner.id);
    assert_eq!(joined.join_time.map(|t| t.seconds), Some(enrolled_at));
    assert_eq!(
        list(&mut client, &program, InvitationState::Joined)
            .await
            .len(),
        1
    );
    assert_eq!(
        list(&mut client, &program, InvitationState::Invited)
            .await
            .len(),
        1
    );
    let events = invitation_events(&stack).await;
    let joins: Vec<_> = events
        .iter()
        .filter_map(|(_, p)| match p {
            Payload::InvitationJoined(j) => Some(j.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(joins.len(), 1);
    assert_eq!(
        (
            joins[0].invitation_id.as_str(),
            joins[0].learner_id.as_str()
        ),
        (id.as_str(), learner.id.as_str())
    );

    // A learner already in the program is invited as JOINED at once.
    let member = registered(&stack, "member@example.org").await;
    let mut again = enroll(&member.id, &course.id);
    again.program_id = program.clone();
    stack.enrollments().await.enroll(again).await.unwrap();
    let made = invite(&mut client, &program, vec![by_id(&member.id)]).await;
    assert_eq!(
        made.results[0].invitation.as_ref().unwrap().state,
        InvitationState::Joined as i32
    );
}

async fn answers_move_invited_to_joined_or_declined_only(db: TestDb) {
    let stack = Stack::start(db).await;
    let (program, _) = program_with_course(&stack, "Answers").await;
    let a = registered(&stack, "a@example.org").await;
    let b = registered(&stack, "b@example.org").await;
    let mut client = invitations(&stack).await;
    let now = chrono::Utc::now().timestamp();
    let made = invite(
        &mut client,
        &program,
        vec![
            Invitee {
                invited_at: Some(at(now - 1000)),
                ..by_id(&a.id)
            },
            by_id(&b.id),
            // Expired an hour ago.
            Invitee {
                email: "gone@example.org".into(),
                invited_at: Some(at(now - 7200)),
                expire_time: Some(at(now - 3600)),
                ..Default::default()
            },
            by_email("unregistered@example.org"),
        ],
    )
    .await;
    let id = |i: usize| made.results[i].invitation.as_ref().unwrap().id.clone();
    // Answers to the `i`th invitation, dated when given (now when `None`).
    let accept = |i: usize, accepted_at: Option<Timestamp>| AcceptInvitationRequest {
        id: id(i),
        accepted_at,
    };
    let decline = |i: usize| DeclineInvitationRequest {
        id: id(i),
        declined_at: None,
    };
    assert_eq!(
        made.results[2].invitation.as_ref().unwrap().state,
        InvitationState::Expired as i32
    );

    // Accepting before the invitation is refused; then accepted, twice.
    let early = client
        .accept_invitation(accept(0, Some(at(now - 2000))))
        .await;
    assert_eq!(
        violated_fields(&expect_code(early, Code::InvalidArgument)),
        ["accepted_at"]
    );
    for _ in 0..2 {
        let accepted = client
            .accept_invitation(accept(0, Some(at(now - 500))))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(accepted.state, InvitationState::Joined as i32);
        assert_eq!(accepted.join_time.map(|t| t.seconds), Some(now - 500));
    }
    let refused = client.decline_invitation(decline(0)).await;
    assert!(
        expect_code(refused, Code::FailedPrecondition)
            .message()
            .contains("joined")
    );

    // Declined, twice; then it cannot be accepted.
    for _ in 0..2 {
        let declined = client
            .decline_invitation(decline(1))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(declined.state, InvitationState::Declined as i32);
    }
    expect_code(
        client.accept_invitation(accept(1, None)).await,
        Code::FailedPrecondition,
    );
    // Expired: neither.
    for result in [
        client.accept_invitation(accept(2, None)).await,
        client.decline_invitation(decline(2)).await,
    ] {
        assert!(
            expect_code(result, Code::FailedPrecondition)
                .message()
                .contains("expired")
        );
    }
    // Not a learner yet: nobody to join.
    expect_code(
        client.accept_invitation(accept(3, None)).await,
        Code::FailedPrecondition,
    );
    // Once registered, the acceptance links the learner.
    let late = registered(&stack, "unregistered@example.org").await;
    let accepted = client
        .accept_invitation(accept(3, None))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(accepted.learner_id, late.id);

    let states = |s| {
        let mut client = client.clone();
        let program = program.clone();
        async move { list(&mut client, &program, s).await.len() }
    };
    assert_eq!(states(InvitationState::Joined).await, 2);
    assert_eq!(states(InvitationState::Declined).await, 1);
    assert_eq!(states(InvitationState::Expired).await, 1);
    assert_eq!(states(InvitationState::Invited).await, 0);
    let events = invitation_events(&stack).await;
    let kinds: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "invitation.created",
            "invitation.created",
            "invitation.created",
            "invitation.created",
            "invitation.joined",
            "invitation.declined",
            "invitation.joined"
        ],
        "a repeated answer writes no event"
    );
}

async fn hostile_invitations_are_refused_and_nothing_is_written(db: TestDb) {
    let stack = Stack::start(db).await;
    let (program, _) = program_with_course(&stack, "Hostile").await;
    let erased = registered(&stack, "erased@example.org").await;
    erase(&stack, &erased.id).await;
    let survivor = registered(&stack, "survivor@example.org").await;
    let merged = registered(&stack, "merged@example.org").await;
    let merge = merge_request(&survivor.id, &merged.id, "merge-1");
    stack.learners().await.merge_learners(merge).await.unwrap();
    let before = feed_head(&stack).await;
    let mut client = invitations(&stack).await;

    // Whole-request refusals.
    let request = |program_id: &str, invitees: Vec<Invitee>| InviteLearnersRequest {
        program_id: program_id.into(),
        invitees,
        request_id: String::new(),
    };
    let status = expect_code(
        client
            .invite_learners(request("not-an-id", vec![by_email("x@example.org")]))
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["program_id"]);
    let status = expect_code(
        client.invite_learners(request(&program, Vec::new())).await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["invitees"]);
    let many = (0..1001)
        .map(|i| by_email(&format!("m{i}@example.org")))
        .collect();
    let status = expect_code(
        client.invite_learners(request(&program, many)).await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["invitees"]);
    expect_code(
        client
            .invite_learners(request(UNKNOWN_ID, vec![by_email("x@example.org")]))
            .await,
        Code::NotFound,
    );

    // Row refusals, each with its code and field.
    let rows = vec![
        by_email("not an email"),
        Invitee {
            external_id: "ext-nobody".into(),
            ..Default::default()
        },
        by_id(UNKNOWN_ID),
        by_id(&erased.id),
        by_id(&merged.id),
        Invitee::default(),
        Invitee {
            email: "future@example.org".into(),
            invited_at: Some(at(chrono::Utc::now().timestamp() + 86_400)),
            ..Default::default()
        },
        Invitee {
            email: "backwards@example.org".into(),
            invited_at: Some(at(1_700_000_000)),
            expire_time: Some(at(1_600_000_000)),
            ..Default::default()
        },
        by_id("nope"),
    ];
    let answer = client
        .invite_learners(request(&program, rows))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((answer.created, answer.rejected), (0, 9), "{answer:?}");
    let seen: Vec<(String, String)> = answer
        .results
        .iter()
        .map(|r| (r.code.clone(), r.field.clone()))
        .collect();
    let expected = [
        ("INVALID_ARGUMENT", "invitees[0].email"),
        ("NOT_FOUND", ""),
        ("NOT_FOUND", ""),
        ("FAILED_PRECONDITION", ""),
        ("FAILED_PRECONDITION", ""),
        ("INVALID_ARGUMENT", "invitees[5]"),
        ("INVALID_ARGUMENT", "invitees[6].invited_at"),
        ("INVALID_ARGUMENT", "invitees[7].expire_time"),
        ("INVALID_ARGUMENT", "invitees[8].learner_id"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(c, f)| ((*c).to_owned(), (*f).to_owned()))
        .collect();
    assert_eq!(seen, expected);
    assert!(answer.results.iter().all(|r| r.invitation.is_none()
        && r.outcome == InviteOutcome::Rejected as i32
        && !r.reason.is_empty()));

    // Reads and answers of unknown or malformed ids.
    expect_code(
        client
            .get_invitation(GetInvitationRequest {
                id: UNKNOWN_ID.into(),
            })
            .await,
        Code::NotFound,
    );
    let status = expect_code(
        client
            .get_invitation(GetInvitationRequest { id: "x".into() })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["id"]);
    expect_code(
        client
            .accept_invitation(AcceptInvitationRequest {
                id: UNKNOWN_ID.into(),
                accepted_at: None,
            })
            .await,
        Code::NotFound,
    );
    let status = expect_code(
        client
            .decline_invitation(DeclineInvitationRequest {
                id: "x".into(),
                declined_at: Some(Timestamp {
                    seconds: 0,
                    nanos: -1,
                }),
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["id", "declined_at"]);
    let status = expect_code(
        client
            .list_invitations(ListInvitationsRequest {
                program_id: "x".into(),
                state: 99,
                ..Default::default()
            })
            .await,
        Code::InvalidArgument,
    );
    assert_eq!(violated_fields(&status), ["program_id", "state"]);

    assert_eq!(feed_head(&stack).await, before, "no event, no audit entry");
    assert!(
        list(&mut client, "", InvitationState::Unspecified)
            .await
            .is_empty()
    );
}

async fn erasure_and_merge_follow_the_person(db: TestDb) {
    let stack = Stack::start(db).await;
    let (program, _) = program_with_course(&stack, "People").await;
    let (other_program, _) = program_with_course(&stack, "Other people").await;
    let survivor = registered(&stack, "s@example.org").await;
    let duplicate = registered(&stack, "d@example.org").await;
    let mut client = invitations(&stack).await;
    let now = chrono::Utc::now().timestamp();
    // Both invited to `program` (the duplicate earlier, and it joined);
    // only the duplicate to `other_program`.
    let early = Invitee {
        invited_at: Some(at(now - 5000)),
        ..by_id(&duplicate.id)
    };
    let dup_first = invitation_of(&mut client, &program, early).await;
    client
        .accept_invitation(AcceptInvitationRequest {
            id: dup_first.id.clone(),
            accepted_at: None,
        })
        .await
        .unwrap();
    let survivors = invitation_of(&mut client, &program, by_id(&survivor.id)).await;
    let by_mail = by_email("d@example.org");
    let dup_other = invitation_of(&mut client, &other_program, by_mail).await;
    let merge = merge_request(&survivor.id, &duplicate.id, "merge-people");
    stack.learners().await.merge_learners(merge).await.unwrap();
    // The joined one stays, now the survivor's; the survivor's own goes.
    let kept = list(&mut client, &program, InvitationState::Unspecified).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0].id.as_str(), kept[0].learner_id.as_str()),
        (dup_first.id.as_str(), survivor.id.as_str())
    );
    expect_code(
        client
            .get_invitation(GetInvitationRequest {
                id: survivors.id.clone(),
            })
            .await,
        Code::NotFound,
    );
    let moved = list(&mut client, &other_program, InvitationState::Unspecified).await;
    assert_eq!(
        (moved[0].id.as_str(), moved[0].learner_id.as_str()),
        (dup_other.id.as_str(), survivor.id.as_str())
    );
    let merged = invitation_events(&stack).await;
    assert!(merged.iter().all(|(t, _)| t.starts_with("invitation.")));

    // Erasing the survivor erases the invitees' emails (its own and the
    // absorbed duplicate's); the invitations stay for the reports.
    erase(&stack, &survivor.id).await;
    for id in [&dup_first.id, &dup_other.id] {
        let after = client
            .get_invitation(GetInvitationRequest { id: id.clone() })
            .await
            .unwrap()
            .into_inner();
        assert_eq!((after.email.as_str(), after.external_id.as_str()), ("", ""));
        assert_eq!(after.learner_id, survivor.id);
    }
}
