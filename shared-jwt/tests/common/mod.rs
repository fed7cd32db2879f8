//! Helpers shared by the integration tests: keys, signers, verifiers and hand-made tokens.
#![allow(dead_code, clippy::unwrap_used)]

pub mod app;
pub mod fixture;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use shared_jwt::{
    AccessTokenInput, Algorithm, KeySet, Role, Signer, SigningKey, Verifier, VerifierConfig,
};
use uuid::Uuid;

pub const ISSUER: &str = "http://localhost:8000";
pub const AUDIENCE: &str = "localhost";
pub const HS_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn key(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::HS512 => SigningKey::from_hs512_secret(HS_SECRET).unwrap(),
        _ => SigningKey::generate(alg).unwrap(),
    }
}

pub fn signer(key: &SigningKey) -> Signer {
    Signer::new(key.clone(), ISSUER, AUDIENCE, Duration::from_secs(300))
}

pub fn config(alg: Algorithm) -> VerifierConfig {
    VerifierConfig {
        algorithm: alg,
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        leeway: Duration::from_secs(0),
        cache_capacity: 0,
    }
}

pub fn verifier(alg: Algorithm, keys: &[&SigningKey], cache: usize) -> Verifier {
    let set: KeySet = keys.iter().map(|k| k.verifying_key()).collect();
    Verifier::new(
        VerifierConfig {
            cache_capacity: cache,
            ..config(alg)
        },
        set,
    )
    .unwrap()
}

pub fn input(role: Role) -> AccessTokenInput {
    AccessTokenInput {
        user_id: Uuid::new_v4(),
        tenant_id: Uuid::new_v4(),
        tenant_slug: "acme".into(),
        role,
        email: "ada@example.com".into(),
        name: "Ada Lovelace".into(),
        email_verified: true,
        session_id: Some(Uuid::new_v4()),
    }
}

/// A complete, valid claims object as JSON (to be tweaked by tests).
pub fn claims_json() -> Value {
    let id = Uuid::new_v4();
    let now = now();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now, "nbf": now,
        "jti": Uuid::new_v4().simple().to_string(), "sub": id, "user_id": id,
        "token_type": "access", "tenant_id": Uuid::new_v4(), "tenant_slug": "acme",
        "user_role": "member", "email": "ada@example.com", "name": "Ada",
    })
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `base64url(header).base64url(payload)` — the JWS signing input, by hand.
pub fn signing_input(header: &Value, payload: &Value) -> String {
    format!("{}.{}", b64(header.to_string()), b64(payload.to_string()))
}

/// A token signed by hand with `key` (whatever the header says).
pub fn hand_signed(key: &SigningKey, header: &Value, payload: &Value) -> String {
    let input = signing_input(header, payload);
    let sig = raw_sign(key, input.as_bytes());
    format!("{input}.{}", b64(sig))
}

/// Signs with the key's own primitive (Ed25519/P-256/HMAC-SHA512), independently of the crate.
pub fn raw_sign(key: &SigningKey, message: &[u8]) -> Vec<u8> {
    match key.algorithm() {
        Algorithm::EdDSA => {
            use ed25519_dalek::Signer as _;
            use ed25519_dalek::pkcs8::DecodePrivateKey;
            let k =
                ed25519_dalek::SigningKey::from_pkcs8_pem(&key.to_pkcs8_pem().unwrap()).unwrap();
            k.sign(message).to_bytes().to_vec()
        }
        Algorithm::ES256 => {
            use p256::ecdsa::signature::Signer as _;
            use p256::pkcs8::DecodePrivateKey;
            let k = p256::ecdsa::SigningKey::from_pkcs8_pem(&key.to_pkcs8_pem().unwrap()).unwrap();
            let sig: p256::ecdsa::Signature = k.sign(message);
            sig.to_bytes().to_vec()
        }
        Algorithm::HS512 => hmac512(HS_SECRET, message),
    }
}

pub fn hmac512(secret: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha512>::new_from_slice(secret).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

pub fn header(alg: &str, kid: &str) -> Value {
    json!({"alg": alg, "typ": "JWT", "kid": kid})
}
