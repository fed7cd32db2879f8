//! A set of verifying keys indexed by `kid`, and its JWKS form.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Algorithm, KeyError, VerifyingKey};

/// The largest number of keys read from one JWKS: rotation needs two or three.
pub(crate) const MAX_JWKS_KEYS: usize = 64;

/// Verifying keys by `kid` (current and still-valid previous keys during a rotation).
#[derive(Clone, Default, Debug)]
pub struct KeySet {
    keys: HashMap<String, VerifyingKey>,
}

impl KeySet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key, replacing any key with the same `kid`.
    pub fn insert(&mut self, key: VerifyingKey) {
        self.keys.insert(key.kid().to_owned(), key);
    }

    /// Removes the key named `kid`; `true` if it was there.
    pub fn remove(&mut self, kid: &str) -> bool {
        self.keys.remove(kid).is_some()
    }

    /// The key named `kid`.
    pub fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the set has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The keys, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &VerifyingKey> {
        self.keys.values()
    }

    /// Only the keys of `alg`.
    pub fn only(&self, alg: Algorithm) -> KeySet {
        KeySet {
            keys: self
                .keys
                .iter()
                .filter(|(_, k)| k.algorithm() == alg)
                .map(|(kid, k)| (kid.clone(), k.clone()))
                .collect(),
        }
    }

    /// `{"keys": [...]}` with the public keys only (HS512 secrets are never published), sorted
    /// by `kid` so the document is stable.
    pub fn to_jwks(&self) -> Value {
        let mut keys: Vec<&VerifyingKey> = self.keys.values().collect();
        keys.sort_by(|a, b| a.kid().cmp(b.kid()));
        let keys: Vec<Value> = keys.into_iter().filter_map(VerifyingKey::to_jwk).collect();
        json!({ "keys": keys })
    }

    /// Parses a JWKS document, skipping keys it cannot use (other key types, `enc` keys, ...).
    ///
    /// # Errors
    /// [`KeyError::InvalidJwk`] when the document is not a JWKS or holds no usable key.
    pub fn from_jwks(json: &str) -> Result<Self, KeyError> {
        let doc: Value = serde_json::from_str(json)
            .map_err(|_| KeyError::InvalidJwk("JWKS is not JSON".into()))?;
        let list = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError::InvalidJwk("JWKS has no \"keys\" array".into()))?;
        let mut set = KeySet::new();
        for jwk in list.iter().take(MAX_JWKS_KEYS) {
            match VerifyingKey::from_jwk(jwk) {
                Ok(key) => set.insert(key),
                Err(e) => tracing::debug!(error = %e, "skipping a JWK"),
            }
        }
        if set.is_empty() {
            return Err(KeyError::InvalidJwk("JWKS holds no usable key".into()));
        }
        Ok(set)
    }

    /// Whether every key of `self` is in `other` with the same material (nothing was removed
    /// or replaced).
    pub(crate) fn is_subset_of(&self, other: &KeySet) -> bool {
        self.keys
            .iter()
            .all(|(kid, k)| other.keys.get(kid).is_some_and(|o| o.same_material(k)))
    }
}

impl FromIterator<VerifyingKey> for KeySet {
    fn from_iter<I: IntoIterator<Item = VerifyingKey>>(iter: I) -> Self {
        let mut set = KeySet::new();
        for key in iter {
            set.insert(key);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SigningKey;

    #[test]
    fn jwks_round_trip_skips_secrets_and_unknown_keys() {
        let ed = SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .verifying_key();
        let ec = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .verifying_key();
        let hs = SigningKey::from_hs512_secret(&[1; 64])
            .unwrap()
            .verifying_key();
        let set: KeySet = [ed.clone(), ec.clone(), hs].into_iter().collect();
        assert_eq!(set.len(), 3);
        let jwks = set.to_jwks();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        let mut doc = jwks.clone();
        doc["keys"]
            .as_array_mut()
            .unwrap()
            .push(json!({"kty": "RSA", "n": "AQAB", "e": "AQAB", "kid": "rsa"}));
        let back = KeySet::from_jwks(&doc.to_string()).unwrap();
        assert_eq!(back.len(), 2);
        assert!(back.get(ed.kid()).is_some());
        assert!(back.get(ec.kid()).is_some());
        assert_eq!(back.only(Algorithm::ES256).len(), 1);
        assert!(set.only(Algorithm::EdDSA).is_subset_of(&back));
    }

    #[test]
    fn empty_or_broken_jwks_is_an_error() {
        for doc in [
            "",
            "{}",
            r#"{"keys": []}"#,
            r#"{"keys": [{"kty": "oct", "k": "AA"}]}"#,
        ] {
            assert!(KeySet::from_jwks(doc).is_err(), "{doc}");
        }
    }
}
