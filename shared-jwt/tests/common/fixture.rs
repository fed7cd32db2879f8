//! A key, its verifier (cache on) and hand signing, for the rejection tests.
#![allow(dead_code, clippy::unwrap_used)]

use shared_jwt::{Algorithm, SigningKey, Verifier, VerifyError};

use super::*;

pub const ALL: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::HS512];

/// A valid key, its verifier (cache on), and signing of any header and claims with the real key.
pub struct Fixture {
    pub key: SigningKey,
    pub verifier: Verifier,
}

impl Fixture {
    pub fn new(alg: Algorithm) -> Self {
        let key = key(alg);
        // The cache is on: rejections must not depend on it being off.
        let verifier = verifier(alg, &[&key], 100);
        Self { key, verifier }
    }

    pub fn alg(&self) -> &'static str {
        self.key.algorithm().as_str()
    }

    pub fn sign(&self, header: &serde_json::Value, claims: &serde_json::Value) -> String {
        hand_signed(&self.key, header, claims)
    }

    pub fn sign_claims(&self, claims: &serde_json::Value) -> String {
        self.sign(&header(self.alg(), self.key.kid()), claims)
    }

    pub fn verify(&self, token: &str) -> Result<std::sync::Arc<shared_jwt::Claims>, VerifyError> {
        self.verifier.verify(token)
    }
}

pub fn with(
    mut claims: serde_json::Value,
    name: &str,
    value: serde_json::Value,
) -> serde_json::Value {
    claims[name] = value;
    claims
}

pub fn without(mut claims: serde_json::Value, name: &str) -> serde_json::Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}
