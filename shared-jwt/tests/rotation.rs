//! Key rotation with a static key set, and JWKS export/import.

use crate::common::*;
use shared_jwt::{Algorithm, KeySet, Role, Verifier, VerifyError, VerifyingKey};

#[test]
fn jwks_round_trip_preserves_kids_and_verification() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256] {
        let current = key(alg);
        let previous = key(alg);
        let published: KeySet = [current.verifying_key(), previous.verifying_key()]
            .into_iter()
            .collect();
        let jwks = published.to_jwks().to_string();
        let imported = KeySet::from_jwks(&jwks).unwrap();
        assert_eq!(imported.len(), 2);
        let v = Verifier::new(config(alg), imported).unwrap();
        for k in [&current, &previous] {
            let token = signer(k).issue(&input(Role::Member)).unwrap();
            assert_eq!(v.verify(&token).unwrap().user_role, Role::Member);
        }
        // Every JWK names its key with the RFC 7638 thumbprint.
        for jwk in serde_json::from_str::<serde_json::Value>(&jwks).unwrap()["keys"]
            .as_array()
            .unwrap()
        {
            let key = VerifyingKey::from_jwk(jwk).unwrap();
            assert_eq!(Some(key.kid().to_owned()), key.thumbprint());
            assert!(jwk.get("d").is_none(), "no private member is published");
        }
    }
}

#[test]
fn the_hs512_secret_is_never_published() {
    let hs = key(Algorithm::HS512);
    let set: KeySet = [hs.verifying_key()].into_iter().collect();
    assert_eq!(set.to_jwks(), serde_json::json!({"keys": []}));
}

#[test]
fn a_previous_key_verifies_while_in_the_set_and_fails_once_removed_even_if_cached() {
    let old = key(Algorithm::EdDSA);
    let new = key(Algorithm::EdDSA);
    let v = verifier(Algorithm::EdDSA, &[&old, &new], 1000);
    let old_token = signer(&old).issue(&input(Role::Admin)).unwrap();
    let new_token = signer(&new).issue(&input(Role::Admin)).unwrap();
    assert!(v.verify(&old_token).is_ok());
    assert!(v.verify(&new_token).is_ok());
    assert!(v.verify(&old_token).is_ok(), "second time: from the cache");
    assert_eq!(v.cached_tokens(), 2);

    let mut rotated = KeySet::new();
    rotated.insert(new.verifying_key());
    v.replace_keys(rotated);
    assert_eq!(v.verify(&old_token).unwrap_err(), VerifyError::UnknownKid);
    assert!(v.verify(&new_token).is_ok());
}

#[test]
fn keys_of_other_algorithms_are_ignored_and_none_left_is_an_error() {
    let ec = key(Algorithm::ES256);
    let set: KeySet = [ec.verifying_key()].into_iter().collect();
    assert!(Verifier::new(config(Algorithm::EdDSA), set.clone()).is_err());
    let ed = key(Algorithm::EdDSA);
    let v = verifier(Algorithm::EdDSA, &[&ed], 0);
    v.replace_keys(set);
    assert!(v.current_keys().is_empty(), "the ES256 key was dropped");
    let token = signer(&ed).issue(&input(Role::Viewer)).unwrap();
    assert_eq!(v.verify(&token).unwrap_err(), VerifyError::UnknownKid);
}

#[test]
fn generated_keys_survive_a_pem_round_trip_and_verify_old_tokens() {
    let key = key(Algorithm::EdDSA);
    let token = signer(&key).issue(&input(Role::Owner)).unwrap();
    let pem = key.to_pkcs8_pem().unwrap();
    let reloaded = shared_jwt::SigningKey::from_pkcs8_pem(&pem, Algorithm::EdDSA).unwrap();
    let v = verifier(Algorithm::EdDSA, &[&reloaded], 0);
    assert_eq!(v.verify(&token).unwrap().user_role, Role::Owner);
}

#[test]
fn the_cache_is_safe_under_concurrency_and_rotation() {
    let old = key(Algorithm::HS512);
    let new = shared_jwt::SigningKey::from_hs512_secret(&[9u8; 64]).unwrap();
    // A tiny cache: eviction runs constantly while eight threads verify.
    let v = verifier(Algorithm::HS512, &[&old, &new], 8);
    let old_tokens: Vec<String> = (0..32)
        .map(|_| signer(&old).issue(&input(Role::Member)).unwrap())
        .collect();
    let new_tokens: Vec<String> = (0..32)
        .map(|_| signer(&new).issue(&input(Role::Member)).unwrap())
        .collect();
    std::thread::scope(|s| {
        for t in 0..8 {
            let (v, old_tokens, new_tokens) = (&v, &old_tokens, &new_tokens);
            s.spawn(move || {
                for round in 0..200 {
                    let i = (t * 7 + round) % 32;
                    let claims = v.verify(&new_tokens[i]).unwrap();
                    assert_eq!(claims.user_role, Role::Member);
                    // Old tokens verify until the rotation below; afterwards they must fail.
                    let _ = v.verify(&old_tokens[i]);
                }
            });
        }
        s.spawn(|| {
            let mut rotated = KeySet::new();
            rotated.insert(new.verifying_key());
            v.replace_keys(rotated);
        });
    });
    assert!(v.cached_tokens() <= 8);
    for token in &old_tokens {
        assert_eq!(v.verify(token).unwrap_err(), VerifyError::UnknownKid);
    }
    for token in &new_tokens {
        assert!(v.verify(token).is_ok());
    }
}
