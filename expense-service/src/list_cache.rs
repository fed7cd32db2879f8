//! Recently read values (list pages) kept in memory and served again only while their
//! tenant's version number is still the one they were read at.
//!
//! Every committed write transaction of a tenant bumps its row in `tenant_versions` (in the
//! same transaction, `crate::db::TenantTx::commit`), so "the version is unchanged" means "no
//! write of this tenant has committed since": a value read after the version was read is at
//! least that fresh, and is never served once the version moved. The check is one indexed
//! read of the database, so it holds across processes and replicas, not only for writes made
//! by this one.
//!
//! Bounded: at most `capacity` entries; a full cache drops its least recently used entry.
//! `capacity` 0 turns the cache off.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// A bounded map from keys to values, each tagged with the version it was read at.
#[derive(Debug)]
pub struct VersionedCache<K, V> {
    capacity: usize,
    inner: Mutex<Inner<K, V>>,
}

#[derive(Debug)]
struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// Logical clock for "least recently used".
    clock: u64,
}

#[derive(Debug)]
struct Entry<V> {
    version: i64,
    used: u64,
    value: Arc<V>,
}

impl<K: Hash + Eq + Clone, V> VersionedCache<K, V> {
    /// An empty cache holding at most `capacity` values (0: holds nothing).
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        VersionedCache {
            capacity,
            inner: Mutex::new(Inner {
                entries: HashMap::with_capacity(capacity.min(1024)),
                clock: 0,
            }),
        }
    }

    /// Whether the cache can hold anything (callers skip the version read when not).
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The value stored for `key` if it was read at `version`; an entry of another version
    /// is dropped.
    pub fn get(&self, key: &K, version: i64) -> Option<Arc<V>> {
        let mut inner = self.lock();
        inner.clock = inner.clock.wrapping_add(1);
        let now = inner.clock;
        match inner.entries.get_mut(key) {
            Some(entry) if entry.version == version => {
                entry.used = now;
                Some(Arc::clone(&entry.value))
            }
            Some(_) => {
                inner.entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores `value` as read at `version`, evicting the least recently used entry when full.
    pub fn put(&self, key: K, version: i64, value: Arc<V>) {
        if self.capacity == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.clock = inner.clock.wrapping_add(1);
        let used = inner.clock;
        if inner.entries.len() >= self.capacity && !inner.entries.contains_key(&key) {
            // A scan of at most `capacity` entries, only when a read missed and the cache is
            // full: small next to the database reads that produced the value.
            let oldest = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                inner.entries.remove(&oldest);
            }
        }
        inner.entries.insert(
            key,
            Entry {
                version,
                used,
                value,
            },
        );
    }

    /// How many values are held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether nothing is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The map; a panic elsewhere while it was held leaves a consistent map (every change is
    /// one `HashMap` call), so a poisoned lock is taken as is.
    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_a_value_only_at_the_version_it_was_read_at() {
        let cache = VersionedCache::new(4);
        cache.put("a", 1, Arc::new(10));
        assert_eq!(cache.get(&"a", 1).as_deref(), Some(&10));
        assert_eq!(cache.get(&"a", 2), None, "a newer version is a miss");
        assert_eq!(cache.get(&"a", 1), None, "and the stale entry is gone");
        assert!(cache.is_empty());
    }

    #[test]
    fn a_full_cache_drops_the_least_recently_used() {
        let cache = VersionedCache::new(2);
        cache.put("a", 0, Arc::new(1));
        cache.put("b", 0, Arc::new(2));
        assert!(cache.get(&"a", 0).is_some(), "a used after b");
        cache.put("c", 0, Arc::new(3));
        assert_eq!(cache.len(), 2);
        assert!(
            cache.get(&"b", 0).is_none(),
            "b was the least recently used"
        );
        assert!(cache.get(&"a", 0).is_some());
        assert!(cache.get(&"c", 0).is_some());
        cache.put("c", 1, Arc::new(4));
        assert_eq!(cache.len(), 2, "replacing a key evicts nothing");
        assert_eq!(cache.get(&"c", 1).as_deref(), Some(&4));
    }

    #[test]
    fn capacity_zero_holds_nothing() {
        let cache = VersionedCache::new(0);
        assert!(!cache.enabled());
        cache.put("a", 0, Arc::new(1));
        assert!(cache.get(&"a", 0).is_none());
    }
}
