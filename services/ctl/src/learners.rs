//! `academyctl learners duplicates` and `academyctl learners merge`
//! (issue #19): find people registered twice, and merge them.

use academy_proto::learner::learner_service_client::LearnerServiceClient;
use academy_proto::learner::{
    DuplicateReason, FindDuplicateLearnersRequest, GetLearnerRequest, MergeLearnersRequest,
    MergeLearnersResponse,
};
use std::fmt::Write;

use crate::client::{Authed, CallContext};

/// Prints one page of duplicate groups, each member with its e-mail, name
/// and birth year (the operator decides who survives); returns the token of
/// the next page, empty on the last.
pub async fn print_duplicates(
    client: &mut LearnerServiceClient<Authed>,
    limit: i32,
    page_token: &str,
) -> anyhow::Result<String> {
    let page = client
        .find_duplicate_learners(FindDuplicateLearnersRequest {
            page_size: limit,
            page_token: page_token.to_owned(),
        })
        .await
        .during("FindDuplicateLearners")?;
    if page.groups.is_empty() {
        println!("no duplicate candidates");
    }
    for group in &page.groups {
        let reasons: Vec<&str> = group.reasons().map(reason_name).collect();
        println!("score {:>3}  {}", group.score, reasons.join(", "));
        for id in &group.learner_ids {
            let l = client
                .get_learner(GetLearnerRequest { id: id.clone() })
                .await
                .during("GetLearner")?;
            println!(
                "  {id}  {}  {}  {}  registered {}",
                l.email,
                l.full_name,
                l.birth_year,
                l.register_time
                    .map(|t| t.to_string().chars().take(10).collect::<String>())
                    .unwrap_or_default()
            );
        }
    }
    if !page.next_page_token.is_empty() {
        println!("more: --page-token {}", page.next_page_token);
    }
    Ok(page.next_page_token)
}

fn reason_name(reason: DuplicateReason) -> &'static str {
    match reason {
        DuplicateReason::NameAndBirthYear => "same name and birth year",
        DuplicateReason::Email => "same mailbox",
        DuplicateReason::ExternalId => "same external id",
        DuplicateReason::Unspecified => "unspecified",
    }
}

/// Merges (or, with `dry_run`, shows what would move). Without a request
/// id the pair names the request, so running the same merge twice is safe.
pub async fn merge(
    client: &mut LearnerServiceClient<Authed>,
    survivor_id: &str,
    duplicate_id: &str,
    request_id: Option<&str>,
    dry_run: bool,
) -> anyhow::Result<String> {
    let request_id = request_id
        .map(str::to_owned)
        .unwrap_or_else(|| format!("merge:{survivor_id}:{duplicate_id}"));
    let answer = client
        .merge_learners(MergeLearnersRequest {
            survivor_id: survivor_id.to_owned(),
            duplicate_id: duplicate_id.to_owned(),
            request_id,
            dry_run,
        })
        .await
        .during("MergeLearners")?;
    Ok(describe_merge(duplicate_id, &answer))
}

/// The answer in words.
pub fn describe_merge(duplicate_id: &str, a: &MergeLearnersResponse) -> String {
    let survivor = a.survivor.as_ref().map_or("", |s| s.id.as_str());
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} {duplicate_id} into {survivor}",
        if a.dry_run { "would merge" } else { "merged" }
    );
    let _ = writeln!(
        text,
        "  enrollments moved: {}{}",
        a.moved_enrollment_ids.len(),
        list(&a.moved_enrollment_ids)
    );
    let _ = writeln!(
        text,
        "  enrollments folded into the same course: {}{}",
        a.folded_enrollment_ids.len(),
        list(&a.folded_enrollment_ids)
    );
    let _ = writeln!(
        text,
        "  certificates moved: {}, earned skills moved: {}",
        a.moved_certificates, a.moved_earned_skills
    );
    if a.dry_run {
        text.push_str("  nothing was written (dry run)\n");
    }
    text
}

fn list(ids: &[String]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(" ({})", ids.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_says_nothing_was_written() {
        let answer = MergeLearnersResponse {
            survivor: Some(academy_proto::learner::Learner {
                id: "S".into(),
                ..Default::default()
            }),
            moved_enrollment_ids: vec!["e1".into()],
            folded_enrollment_ids: vec![],
            moved_certificates: 1,
            moved_earned_skills: 2,
            dry_run: true,
        };
        let text = describe_merge("D", &answer);
        assert!(text.starts_with("would merge D into S\n"));
        assert!(text.contains("enrollments moved: 1 (e1)"));
        assert!(text.contains("certificates moved: 1, earned skills moved: 2"));
        assert!(text.contains("nothing was written"));
    }
}
