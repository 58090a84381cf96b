//! FindDuplicateLearners (issue #19 item 1): groups of ACTIVE learners that
//! are probably one person. One pass over the learners computes blocking
//! keys (normalised name + birth year, normalised mailbox, normalised
//! external id); learners sharing a key are joined with a union-find, so
//! the work grows with the number of learners, never with pairs of them.

use std::collections::{BTreeSet, HashMap};

use academy_domain::{DomainError, PageRequest};
use academy_proto::learner as pb;
use academy_runtime::db::db_error;

use super::Context;
use crate::store::merge::{self, Candidate};

/// Score of a shared e-mail or external id, and of the same name and year.
const STRONG: i32 = 60;
const WEAK: i32 = 40;

pub async fn find(
    ctx: &Context,
    req: pb::FindDuplicateLearnersRequest,
) -> Result<pb::FindDuplicateLearnersResponse, DomainError> {
    let page = PageRequest::parse(req.page_size, &req.page_token, "duplicates")?;
    let candidates = merge::active_candidates(&ctx.db).await.map_err(db_error)?;
    let groups = group(&candidates);
    let after = page.after.as_deref();
    let rows: Vec<pb::DuplicateGroup> = groups
        .into_iter()
        .filter(|g| after.is_none_or(|a| g.learner_ids[0].as_str() > a))
        .take(page.fetch_limit() as usize)
        .collect();
    let (groups, next_page_token) = page.finish(rows, |g| g.learner_ids[0].clone());
    Ok(pb::FindDuplicateLearnersResponse {
        groups,
        next_page_token,
    })
}

/// The groups among `candidates`, ordered by their first (smallest) id.
pub fn group(candidates: &[Candidate]) -> Vec<pb::DuplicateGroup> {
    let mut parent: Vec<usize> = (0..candidates.len()).collect();
    // Each blocking key → first learner seen with it.
    let mut seen: HashMap<(pb::DuplicateReason, String), usize> = HashMap::new();
    // (member, reason) pairs that joined something, to name the reasons.
    let mut joined: Vec<(usize, pb::DuplicateReason)> = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        for key in keys(c) {
            let reason = key.0;
            match seen.get(&key) {
                Some(&first) => {
                    union(&mut parent, first, i);
                    joined.push((i, reason));
                }
                None => {
                    seen.insert(key, i);
                }
            }
        }
    }
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..candidates.len() {
        let root = find_root(&mut parent, i);
        members.entry(root).or_default().push(i);
    }
    let mut reasons: HashMap<usize, BTreeSet<i32>> = HashMap::new();
    for (i, reason) in joined {
        let root = find_root(&mut parent, i);
        reasons.entry(root).or_default().insert(reason as i32);
    }
    let mut groups: Vec<pb::DuplicateGroup> = members
        .into_iter()
        .filter(|(_, m)| m.len() > 1)
        .map(|(root, m)| {
            let mut learner_ids: Vec<String> =
                m.iter().map(|&i| candidates[i].id.clone()).collect();
            learner_ids.sort();
            let reasons: Vec<i32> = reasons
                .remove(&root)
                .unwrap_or_default()
                .into_iter()
                .collect();
            let score = reasons
                .iter()
                .map(|&r| {
                    if r == pb::DuplicateReason::NameAndBirthYear as i32 {
                        WEAK
                    } else {
                        STRONG
                    }
                })
                .sum::<i32>()
                .min(100);
            pb::DuplicateGroup {
                learner_ids,
                score,
                reasons,
            }
        })
        .collect();
    groups.sort_by(|a, b| a.learner_ids[0].cmp(&b.learner_ids[0]));
    groups
}

fn find_root(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find_root(parent, a), find_root(parent, b));
    if ra != rb {
        parent[rb.max(ra)] = ra.min(rb);
    }
}

/// The blocking keys of one learner.
fn keys(c: &Candidate) -> Vec<(pb::DuplicateReason, String)> {
    let mut keys = Vec::with_capacity(3);
    let name = normalise_name(&c.full_name);
    if !name.is_empty() {
        keys.push((
            pb::DuplicateReason::NameAndBirthYear,
            format!("{name}|{}", c.birth_year),
        ));
    }
    if let Some(email) = c.email.as_deref().and_then(mailbox) {
        keys.push((pb::DuplicateReason::Email, email));
    }
    if let Some(external) = c.external_id.as_deref() {
        let external: String = external
            .chars()
            .filter(|ch| !ch.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        if !external.is_empty() {
            keys.push((pb::DuplicateReason::ExternalId, external));
        }
    }
    keys
}

/// A full name as compared: lower case; Azerbaijani letters spelled as
/// their usual English transliteration (ə a, ş sh, ç ch, ğ g, ı i, ö o,
/// ü u, so "Rəşad Əliyev" matches "Rashad Aliyev") and common Latin accents
/// dropped; anything but letters and digits is a word break; words joined
/// by one space.
pub fn normalise_name(name: &str) -> String {
    let mut folded = String::with_capacity(name.len());
    // 'İ' lower-cases to 'i' and a combining dot; the dot goes.
    for ch in name
        .chars()
        .flat_map(char::to_lowercase)
        .filter(|&c| c != '\u{307}')
    {
        match fold_letter(ch) {
            Some(spelled) => folded.push_str(spelled),
            None if ch.is_alphanumeric() => folded.push(ch),
            None => folded.push(' '),
        }
    }
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn fold_letter(ch: char) -> Option<&'static str> {
    Some(match ch {
        'ə' | 'ä' | 'á' | 'à' | 'â' | 'ã' | 'å' => "a",
        'ş' => "sh",
        'ç' => "ch",
        'ć' | 'č' => "c",
        'ğ' | 'ĝ' => "g",
        'ı' | 'í' | 'ì' | 'î' | 'ï' => "i",
        'ö' | 'ó' | 'ò' | 'ô' | 'õ' | 'ø' => "o",
        'ś' | 'š' => "s",
        'ü' | 'ú' | 'ù' | 'û' => "u",
        'é' | 'è' | 'ê' | 'ë' => "e",
        'ñ' | 'ń' => "n",
        'ž' | 'ź' | 'ż' => "z",
        _ => return None,
    })
}

/// Providers that deliver `a.b+tag@` to `ab@`, and the domain they share.
const DOT_AND_TAG_BLIND: &[(&str, &str)] =
    &[("gmail.com", "gmail.com"), ("googlemail.com", "gmail.com")];

/// Providers that deliver `a+tag@` to `a@` (dots matter to them).
const TAG_BLIND: &[&str] = &[
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "proton.me",
];

/// The mailbox an address reaches, as far as the provider's rules tell:
/// case never matters; see [`DOT_AND_TAG_BLIND`] and [`TAG_BLIND`].
pub fn mailbox(email: &str) -> Option<String> {
    let email = email.trim().to_lowercase();
    let (local, domain) = email.rsplit_once('@')?;
    if let Some((_, shared)) = DOT_AND_TAG_BLIND.iter().find(|(d, _)| *d == domain) {
        let local = local.split('+').next().unwrap_or_default().replace('.', "");
        return Some(format!("{local}@{shared}"));
    }
    if TAG_BLIND.contains(&domain) {
        let local = local.split('+').next().unwrap_or_default();
        return Some(format!("{local}@{domain}"));
    }
    Some(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(
        id: &str,
        email: &str,
        external: Option<&str>,
        name: &str,
        year: i32,
    ) -> Candidate {
        Candidate {
            id: id.to_owned(),
            email: Some(email.to_owned()),
            external_id: external.map(str::to_owned),
            full_name: name.to_owned(),
            birth_year: year,
        }
    }

    #[test]
    fn mailboxes_follow_the_providers_rules() {
        assert_eq!(
            mailbox("A.Li+x@GoogleMail.com").as_deref(),
            Some("ali@gmail.com")
        );
        assert_eq!(mailbox("ali@gmail.com").as_deref(), Some("ali@gmail.com"));
        assert_eq!(
            mailbox("a.li+x@outlook.com").as_deref(),
            Some("a.li@outlook.com")
        );
        // Elsewhere dots and plus signs are part of the mailbox.
        assert_eq!(
            mailbox("A.Li+x@example.az").as_deref(),
            Some("a.li+x@example.az")
        );
    }

    #[test]
    fn names_ignore_case_accents_and_punctuation() {
        assert_eq!(
            normalise_name("  Əli  Həsənov-Şükürov "),
            "ali hasanov shukurov"
        );
        assert_eq!(
            normalise_name("ALI HASANOV SHUKUROV"),
            "ali hasanov shukurov"
        );
        assert_eq!(normalise_name("İlham"), "ilham");
    }

    #[test]
    fn groups_join_through_any_key_and_name_their_reasons() {
        let c = vec![
            candidate("01", "ali@gmail.com", None, "Ali Hasanov", 1990),
            candidate("02", "a.li+work@googlemail.com", Some("X 1"), "Other", 1980),
            candidate("03", "x@example.az", Some("x1"), "Nobody", 1970),
            candidate("04", "y@example.az", None, "Ali Hasanov", 1991),
            candidate("05", "z@example.az", None, "Leyla Aliyeva", 2000),
            candidate("06", "w@example.az", None, "leyla  ALIYEVA", 2000),
        ];
        let groups = group(&c);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].learner_ids, ["01", "02", "03"]);
        assert_eq!(
            groups[0].reasons,
            [
                pb::DuplicateReason::Email as i32,
                pb::DuplicateReason::ExternalId as i32
            ]
        );
        assert_eq!(groups[0].score, 100);
        assert_eq!(groups[1].learner_ids, ["05", "06"]);
        assert_eq!(groups[1].score, WEAK);
    }

    /// The program's size: one pass and a hash map, not pairs.
    #[test]
    fn groups_191_000_learners_in_one_pass() {
        let n = 191_000;
        let c: Vec<Candidate> = (0..n)
            .map(|i| {
                // Every 100th learner registered twice, the second time
                // under a gmail alias of the first address.
                let person = if i % 100 == 1 { i - 1 } else { i };
                let email = if person == i {
                    format!("learner.{i}@gmail.com")
                } else {
                    format!("Learner{person}+again@googlemail.com")
                };
                candidate(
                    &format!("{i:08}"),
                    &email,
                    None,
                    &format!("Person {i}"),
                    1990,
                )
            })
            .collect();
        let started = std::time::Instant::now();
        let groups = group(&c);
        eprintln!("grouped {n} learners in {:?}", started.elapsed());
        assert_eq!(groups.len(), n / 100);
        assert!(groups.iter().all(|g| g.learner_ids.len() == 2));
    }
}
