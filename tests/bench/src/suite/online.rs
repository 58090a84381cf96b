//! The course and learner scenarios: the empty call, import, point reads,
//! writes, the feed catch-up, and their limits.

use academy_proto::course::course_service_client::CourseServiceClient;
use academy_proto::learner::enrollment_service_client::EnrollmentServiceClient;
use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::reporting::reporting_service_client::ReportingServiceClient;
use academyctl::client::{Bearer, connect};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use super::{Suite, settle};
use crate::cli::Group;
use crate::limits::database;
use crate::report::Row;
use crate::runner::Outcome;
use crate::scenarios::unary::Enrolled;
use crate::scenarios::{catalog, feed, import, unary};

const READ_CONCURRENCY: [usize; 3] = [1, 16, 64];
const WRITE_CONCURRENCY: [usize; 2] = [16, 64];

pub(crate) async fn run(suite: &mut Suite) -> anyhow::Result<()> {
    let course_db = suite.database("course");
    let learner_db = suite.database("learner");
    for db in [&course_db, &learner_db] {
        suite.pg.fresh_database(db).await?;
    }
    let course = suite.start("course", "course", 0, &course_db, 1).await?;
    let learner = suite.start("learner", "learner", 1, &learner_db, 1).await?;
    let bearer = Bearer::new(None)?;
    let course_channel = connect(&course.endpoint, &bearer).await?;
    let learner_channel = connect(&learner.endpoint, &bearer).await?;

    let mut empty_call = HashMap::new();
    for c in READ_CONCURRENCY {
        let outcome = unary::health(course_channel.clone(), suite.spec(c)).await?;
        empty_call.insert(c, outcome.rps());
        if suite.wants(Group::Grpc) {
            suite.push(Row::from_outcome("health Check (gRPC alone)", &outcome));
        }
    }

    let mut course_client = CourseServiceClient::new(course_channel.clone());
    let catalog = catalog::create(
        &mut course_client,
        suite.params.courses,
        suite.params.modules,
    )
    .await?;
    let learner_client = LearnerServiceClient::new(learner_channel.clone());
    let p = suite.params.clone();
    println!("bench: importing {} learners", p.import_learners);
    let imported = import::run(
        &learner_client,
        p.import_learners,
        p.import_batch,
        p.import_streams,
    )
    .await?;
    let rate = imported.created as f64 / imported.elapsed.as_secs_f64().max(1e-9);
    if suite.wants(Group::Import) {
        suite.push(
            Row::rate(
                "ImportLearners (stream batches of {batch})"
                    .replace("{batch}", &p.import_batch.to_string())
                    .as_str(),
                imported.created.max(0) as u64,
                rate,
                "learners/s",
            )
            .target("≥ 10,000 learners/s", rate >= 10_000.0),
        );
    }
    if imported.rejected > 0 {
        suite.say(format!(
            "ImportLearners rejected {} rows",
            imported.rejected
        ));
    }
    let ids = Arc::new(import::learner_ids(&mut learner_client.clone(), p.keys).await?);
    database::key_table(&suite.pg, &learner_db, &ids).await?;
    let course_ids: Vec<String> = catalog.courses.iter().map(|c| c.0.clone()).collect();
    database::key_table(&suite.pg, &course_db, &course_ids).await?;

    if suite.wants(Group::PointReads) {
        for c in READ_CONCURRENCY {
            settle().await;
            let outcome =
                unary::get_learner(learner_client.clone(), Arc::clone(&ids), suite.spec(c)).await?;
            let limit = database::run(
                &suite.pg,
                &learner_db,
                "limit_get_learner.sql",
                c,
                p.measure,
                ids.len(),
            )
            .await?;
            push_read(suite, "GetLearner", &outcome, limit, empty_call.get(&c));
        }
        for c in READ_CONCURRENCY {
            settle().await;
            let outcome = unary::get_course(course_client.clone(), &catalog, suite.spec(c)).await?;
            let limit = database::run(
                &suite.pg,
                &course_db,
                "limit_get_course.sql",
                c,
                p.measure,
                course_ids.len(),
            )
            .await?;
            push_read(suite, "GetCourse", &outcome, limit, empty_call.get(&c));
        }
    }

    let mut enrolls: Vec<Outcome> = Vec::new();
    if suite.wants(Group::Writes) {
        let client = EnrollmentServiceClient::new(learner_channel.clone());
        let pairs = Arc::new(AtomicU64::new(0));
        let made = Arc::new(Mutex::new(Enrolled::default()));
        for c in WRITE_CONCURRENCY {
            settle().await;
            let outcome = unary::enroll(
                client.clone(),
                Arc::clone(&ids),
                &catalog,
                Arc::clone(&pairs),
                Arc::clone(&made),
                suite.spec(c),
            )
            .await?;
            enrolls.push(outcome);
        }
        let enrolled = made
            .lock()
            .map(|m| Arc::new(m.enrollments.clone()))
            .map_err(|_| anyhow::anyhow!("an Enroll worker panicked"))?;
        let steps = Arc::new(AtomicU64::new(0));
        for c in WRITE_CONCURRENCY {
            settle().await;
            let outcome = unary::record_progress(
                client.clone(),
                Arc::clone(&enrolled),
                Arc::clone(&steps),
                suite.spec(c),
            )
            .await?;
            suite.push(
                Row::from_outcome("RecordProgress", &outcome)
                    .versus_grpc(empty_call.get(&c).copied()),
            );
        }
    }

    if suite.wants(Group::Feed) {
        catch_up(suite, &course_db, &learner_db).await?;
    }

    // After the feed phase: this script appends stand-in events to the feed.
    for outcome in &enrolls {
        let c = outcome.concurrency;
        let limit = database::run(
            &suite.pg,
            &learner_db,
            "limit_enroll.sql",
            c,
            p.measure,
            ids.len(),
        )
        .await?;
        let row = Row::from_outcome("Enroll", outcome)
            .against(&limit.name("Enroll", c), limit.result.tps)
            .versus_grpc(empty_call.get(&c).copied());
        let met = row.ratio.is_some_and(|r| r >= 0.4);
        suite.push(row.target("≥ 40% of DB alone", met));
    }

    suite.remember_memory(&course);
    suite.remember_memory(&learner);
    learner.stop().await?;
    course.stop().await?;
    Ok(())
}

fn push_read(
    suite: &mut Suite,
    name: &str,
    outcome: &Outcome,
    limit: database::Ceiling,
    empty_call: Option<&f64>,
) {
    let row = Row::from_outcome(name, outcome)
        .against(&limit.name(name, outcome.concurrency), limit.result.tps)
        .versus_grpc(empty_call.copied());
    let row = if outcome.concurrency == 64 {
        let met = row.ratio.is_some_and(|r| r >= 0.5);
        row.target("≥ 50% of DB alone at c=64", met)
    } else {
        row
    };
    suite.push(row);
}

/// A reporting service on an empty database follows both feeds from 0.
async fn catch_up(suite: &mut Suite, course_db: &str, learner_db: &str) -> anyhow::Result<()> {
    let head_sql = "SELECT sequence FROM feed_head WHERE id = 1";
    let mut heads = 0i64;
    for db in [course_db, learner_db] {
        heads += suite.pg.sql(db, head_sql).await?.parse::<i64>()?;
    }
    let feed_db = suite.database("reporting_feed");
    suite.pg.fresh_database(&feed_db).await?;
    let reporting = suite
        .start("reporting", "reporting-feed", 2, &feed_db, 1)
        .await?;
    let channel = connect(&reporting.endpoint, &Bearer::new(None)?).await?;
    let mut client = ReportingServiceClient::new(channel);
    let caught = feed::wait_caught_up(&mut client, heads, suite.params.feed_limit).await?;
    let rate = caught.per_second();
    suite.push(
        Row::rate(
            "reporting feed catch-up from 0",
            caught.events.max(0) as u64,
            rate,
            "events/s",
        )
        .target("≥ 20,000 events/s", rate >= 20_000.0),
    );
    let early = heads - caught.events;
    suite.say(format!(
        "feed catch-up: {} events timed over {:.1} s{}",
        caught.events,
        caught.elapsed.as_secs_f64(),
        if early > 0 {
            format!(" ({early} more were applied while the service started)")
        } else {
            String::new()
        }
    ));
    suite.remember_memory(&reporting);
    reporting.stop().await
}
