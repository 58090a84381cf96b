//! Targets in memory, so GetProgramSummary and GetBreakdown (the hot path)
//! do not query `r_target` on every call.
//!
//! Correctness across replicas: SetTarget on this replica drops the cached
//! entries at once; another replica's SetTarget is seen here when the entry
//! expires, after at most `TTL`. A time to live, not a version check: a
//! version check would be a database round trip per call, the cost this
//! cache removes, and targets change a few times a half year, where being a
//! few seconds late on one replica is harmless (ListTargets reads the
//! database and is always current).
//!
//! A fetch that started before a SetTarget must not put the old targets
//! back after it: every SetTarget bumps a generation, and a fetch stores
//! its answer only if the generation did not move while it ran.

use academy_proto::reporting as pb;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// How long a replica may serve targets another replica has replaced.
pub const TTL: Duration = Duration::from_secs(5);
/// Entries kept at most: periods are free dates, so a caller asking for
/// many different ones must not grow memory without bound.
const MAX_ENTRIES: usize = 4096;

type Key = (String, NaiveDate, NaiveDate);

#[derive(Debug, Default)]
struct Inner {
    generation: u64,
    entries: HashMap<Key, (Instant, Arc<Vec<pb::Target>>)>,
}

/// The cache; clones share it.
#[derive(Debug, Clone)]
pub struct TargetCache {
    ttl: Duration,
    inner: Arc<Mutex<Inner>>,
}

impl Default for TargetCache {
    fn default() -> Self {
        Self::with_ttl(TTL)
    }
}

impl TargetCache {
    pub fn with_ttl(ttl: Duration) -> Self {
        Self {
            ttl,
            inner: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a map that is still valid.
        match self.inner.lock() {
            Ok(inner) => inner,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The cached targets of `key` if still fresh, else the generation a
    /// fetch must hand back to `store`.
    pub fn get(&self, key: &Key) -> Result<Arc<Vec<pb::Target>>, u64> {
        let inner = self.lock();
        match inner.entries.get(key) {
            Some((at, targets)) if at.elapsed() < self.ttl => Ok(targets.clone()),
            _ => Err(inner.generation),
        }
    }

    /// Keeps `targets`, fetched since `generation`, unless a SetTarget
    /// happened meanwhile.
    pub fn store(&self, key: Key, generation: u64, targets: Arc<Vec<pb::Target>>) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            let ttl = self.ttl;
            inner.entries.retain(|_, (at, _)| at.elapsed() < ttl);
            if inner.entries.len() >= MAX_ENTRIES {
                inner.entries.clear();
            }
        }
        inner.entries.insert(key, (Instant::now(), targets));
    }

    /// After a SetTarget: everything cached may be old.
    pub fn invalidate(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Key {
        let d = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
        (String::new(), d, d)
    }

    fn one(value: f64) -> Arc<Vec<pb::Target>> {
        Arc::new(vec![pb::Target {
            value,
            ..Default::default()
        }])
    }

    #[test]
    fn serves_until_invalidated_or_expired() {
        let cache = TargetCache::with_ttl(Duration::from_millis(200));
        let generation = cache.get(&key()).unwrap_err();
        cache.store(key(), generation, one(1.0));
        assert_eq!(cache.get(&key()).unwrap()[0].value, 1.0);
        cache.invalidate();
        assert!(cache.get(&key()).is_err(), "SetTarget drops the entry");

        let generation = cache.get(&key()).unwrap_err();
        cache.store(key(), generation, one(2.0));
        std::thread::sleep(Duration::from_millis(250));
        assert!(
            cache.get(&key()).is_err(),
            "another replica's change shows after the TTL"
        );
    }

    #[test]
    fn a_fetch_older_than_a_set_target_is_not_kept() {
        let cache = TargetCache::default();
        let generation = cache.get(&key()).unwrap_err();
        cache.invalidate();
        cache.store(key(), generation, one(1.0));
        assert!(cache.get(&key()).is_err());
    }

    #[test]
    fn entries_are_bounded() {
        let cache = TargetCache::default();
        let generation = cache.get(&key()).unwrap_err();
        let start = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        for i in 0..(MAX_ENTRIES as i64 + 10) {
            let end = start + chrono::Duration::days(i);
            cache.store((String::new(), start, end), generation, one(0.0));
        }
        assert!(cache.lock().entries.len() <= MAX_ENTRIES);
    }
}
