//! A bounded cache of tokens this verifier has fully verified.
//!
//! Keyed by SHA-256 of the whole token (so no bearer token is kept in memory and keys have a
//! fixed size), sharded behind mutexes so concurrent requests rarely contend. An entry is only
//! returned while `exp` (plus leeway) has not passed *at lookup time*, and only for the key-set
//! generation it was verified under: replacing or removing keys bumps the generation and clears
//! the cache, so a removed key's tokens never come back from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::claims::Claims;

const SHARDS: usize = 16;

pub(crate) type CacheKey = [u8; 32];

struct Entry {
    claims: Arc<Claims>,
    generation: u64,
}

pub(crate) struct TokenCache {
    shards: Vec<Mutex<HashMap<CacheKey, Entry>>>,
    per_shard: usize,
}

impl TokenCache {
    /// `None` when `capacity` is 0 (caching off).
    pub fn new(capacity: usize) -> Option<Self> {
        if capacity == 0 {
            return None;
        }
        let shards = SHARDS.min(capacity);
        let per_shard = capacity.div_ceil(shards);
        Some(Self {
            shards: (0..shards)
                .map(|_| Mutex::new(HashMap::with_capacity(per_shard.min(1024))))
                .collect(),
            per_shard,
        })
    }

    pub fn key(token: &str) -> CacheKey {
        Sha256::digest(token.as_bytes()).into()
    }

    fn shard(&self, key: &CacheKey) -> std::sync::MutexGuard<'_, HashMap<CacheKey, Entry>> {
        let i = usize::from(key[0]) % self.shards.len();
        // A panic while holding the lock cannot leave the map half-updated in a way that
        // matters (each operation is one insert/remove), so a poisoned shard is still usable.
        self.shards[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The verified claims for `key`, if verified under `generation` and `now <= exp + leeway`.
    /// The claims are shared, not copied.
    pub fn get(
        &self,
        key: &CacheKey,
        now: i64,
        leeway: i64,
        generation: u64,
    ) -> Option<Arc<Claims>> {
        let mut shard = self.shard(key);
        let entry = shard.get(key)?;
        if entry.generation == generation && now <= entry.claims.exp.saturating_add(leeway) {
            return Some(Arc::clone(&entry.claims));
        }
        shard.remove(key);
        None
    }

    /// Remembers a token that was just verified under `generation`.
    pub fn insert(
        &self,
        key: CacheKey,
        claims: Arc<Claims>,
        generation: u64,
        now: i64,
        leeway: i64,
    ) {
        let mut shard = self.shard(&key);
        if shard.len() >= self.per_shard && !shard.contains_key(&key) {
            // Drop what is dead first; if everything is alive, drop an arbitrary entry (the
            // HashMap's order is randomised per process, so an attacker cannot aim at it).
            shard.retain(|_, e| {
                e.generation == generation && now <= e.claims.exp.saturating_add(leeway)
            });
            if shard.len() >= self.per_shard
                && let Some(victim) = shard.keys().next().copied()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(key, Entry { claims, generation });
    }

    pub fn clear(&self) {
        for shard in &self.shards {
            shard.lock().unwrap_or_else(PoisonError::into_inner).clear();
        }
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(PoisonError::into_inner).len())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::Role;
    use uuid::Uuid;

    fn claims(exp: i64) -> Arc<Claims> {
        let id = Uuid::new_v4();
        Arc::new(Claims {
            iss: "i".into(),
            aud: "a".into(),
            exp,
            iat: 0,
            nbf: 0,
            jti: "j".into(),
            sub: id,
            user_id: id,
            token_type: "access".into(),
            tenant_id: id,
            tenant_slug: "t".into(),
            user_role: Role::Member,
            email: "e".into(),
            name: "n".into(),
            email_verified: false,
            amr: Vec::new(),
            sid: None,
        })
    }

    #[test]
    fn honours_exp_generation_and_capacity() {
        let cache = TokenCache::new(32).unwrap();
        let k = TokenCache::key("a.b.c");
        cache.insert(k, claims(100), 1, 50, 0);
        assert!(cache.get(&k, 100, 0, 1).is_some());
        assert!(cache.get(&k, 101, 0, 1).is_none(), "expired at lookup time");
        cache.insert(k, claims(100), 1, 50, 5);
        assert!(cache.get(&k, 105, 5, 1).is_some(), "leeway applies");
        assert!(cache.get(&k, 100, 5, 2).is_none(), "other key generation");
        for i in 0..1000 {
            cache.insert(TokenCache::key(&format!("t{i}")), claims(1000), 1, 0, 0);
        }
        assert!(cache.len() <= 32, "bounded: {}", cache.len());
        cache.clear();
        assert_eq!(cache.len(), 0);
        assert!(TokenCache::new(0).is_none());
    }
}
