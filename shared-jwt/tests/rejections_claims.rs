//! Refused claims: expiry, not-before, wrong types, missing or wrong values. Each test asserts
//! the exact `VerifyError`, so removing the check it covers makes it fail. Tokens are crafted by
//! hand (base64url of JSON plus real signatures).

use std::time::Duration;

use crate::common::fixture::*;
use crate::common::*;
use serde_json::json;
use shared_jwt::{Algorithm, Verifier, VerifierConfig, VerifyError};

#[test]
fn the_valid_baseline_verifies() {
    for alg in ALL {
        let f = Fixture::new(alg);
        assert!(f.verify(&f.sign_claims(&claims_json())).is_ok(), "{alg}");
    }
}

#[test]
fn expired_tokens_are_refused_and_leeway_is_capped_at_60_seconds() {
    for alg in ALL {
        let f = Fixture::new(alg);
        let expired = f.sign_claims(&with(claims_json(), "exp", json!(now() - 5)));
        assert_eq!(f.verify(&expired).unwrap_err(), VerifyError::Expired);
    }
    let key = key(Algorithm::EdDSA);
    let lenient = |secs| {
        Verifier::new(
            VerifierConfig {
                leeway: Duration::from_secs(secs),
                ..config(Algorithm::EdDSA)
            },
            [key.verifying_key()].into_iter().collect(),
        )
        .unwrap()
    };
    let h = header("EdDSA", key.kid());
    let recently = hand_signed(&key, &h, &with(claims_json(), "exp", json!(now() - 5)));
    assert!(lenient(30).verify(&recently).is_ok(), "within leeway");
    let long_ago = hand_signed(&key, &h, &with(claims_json(), "exp", json!(now() - 120)));
    assert_eq!(lenient(3600).config().leeway, Duration::from_secs(60));
    assert_eq!(
        lenient(3600).verify(&long_ago).unwrap_err(),
        VerifyError::Expired
    );
}

#[test]
fn expiry_is_checked_at_lookup_time_by_the_cache() {
    let key = key(Algorithm::HS512);
    let v = verifier(Algorithm::HS512, &[&key], 100);
    let soon = hand_signed(
        &key,
        &header("HS512", key.kid()),
        &with(claims_json(), "exp", json!(now() + 1)),
    );
    assert!(v.verify(&soon).is_ok());
    assert_eq!(v.cached_tokens(), 1);
    // Let `exp` pass (the test asserts the outcome, not a duration).
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(v.verify(&soon).unwrap_err(), VerifyError::Expired);
}

#[test]
fn not_yet_valid_tokens_are_refused() {
    for alg in ALL {
        let f = Fixture::new(alg);
        let future = f.sign_claims(&with(claims_json(), "nbf", json!(now() + 120)));
        assert_eq!(f.verify(&future).unwrap_err(), VerifyError::NotYetValid);
        let issued_later = f.sign_claims(&with(claims_json(), "iat", json!(now() + 120)));
        assert_eq!(
            f.verify(&issued_later).unwrap_err(),
            VerifyError::NotYetValid
        );
    }
}

#[test]
fn claims_of_the_wrong_json_type_are_refused() {
    let f = Fixture::new(Algorithm::EdDSA);
    for (name, value) in [
        ("exp", json!("9999999999")),
        ("exp", json!(9_999_999_999.5)),
        ("nbf", json!("0")),
        ("iat", json!(null)),
        ("aud", json!([AUDIENCE])),
        ("iss", json!(7)),
        ("sub", json!("not-a-uuid")),
        ("user_role", json!("superuser")),
        ("token_type", json!(["access"])),
    ] {
        let token = f.sign_claims(&with(claims_json(), name, value.clone()));
        assert_eq!(
            f.verify(&token).unwrap_err(),
            VerifyError::InvalidClaims,
            "{name}: {value}"
        );
    }
}

#[test]
fn missing_required_claims_are_refused() {
    let f = Fixture::new(Algorithm::EdDSA);
    for name in [
        "exp",
        "iss",
        "aud",
        "nbf",
        "iat",
        "sub",
        "user_id",
        "token_type",
        "tenant_id",
        "user_role",
    ] {
        let token = f.sign_claims(&without(claims_json(), name));
        assert_eq!(
            f.verify(&token).unwrap_err(),
            VerifyError::InvalidClaims,
            "{name}"
        );
    }
    let payload_not_an_object = f.sign_claims(&json!([1, 2, 3]));
    assert_eq!(
        f.verify(&payload_not_an_object).unwrap_err(),
        VerifyError::InvalidClaims
    );
}

#[test]
fn wrong_issuer_audience_type_and_subject_are_refused() {
    for alg in ALL {
        let f = Fixture::new(alg);
        let cases = [
            (
                with(claims_json(), "iss", json!("https://evil.example")),
                VerifyError::WrongIssuer,
            ),
            (
                with(claims_json(), "iss", json!(format!("{ISSUER}/"))),
                VerifyError::WrongIssuer,
            ),
            (
                with(claims_json(), "aud", json!("other-service")),
                VerifyError::WrongAudience,
            ),
            (
                with(claims_json(), "token_type", json!("refresh")),
                VerifyError::WrongTokenType,
            ),
            (
                with(claims_json(), "token_type", json!("Access")),
                VerifyError::WrongTokenType,
            ),
            (
                with(claims_json(), "user_id", json!(uuid::Uuid::new_v4())),
                VerifyError::SubjectMismatch,
            ),
        ];
        for (claims, expected) in cases {
            assert_eq!(
                f.verify(&f.sign_claims(&claims)).unwrap_err(),
                expected,
                "{alg}"
            );
        }
    }
}

#[test]
fn every_error_shows_the_same_public_message() {
    let f = Fixture::new(Algorithm::EdDSA);
    let errors = [
        f.verify("").unwrap_err(),
        f.verify(&f.sign_claims(&with(claims_json(), "exp", json!(0))))
            .unwrap_err(),
        f.verify(&f.sign(&header("EdDSA", "nope"), &claims_json()))
            .unwrap_err(),
    ];
    let kinds: Vec<&str> = errors.iter().map(VerifyError::kind).collect();
    assert_eq!(kinds, ["malformed", "expired", "unknown_kid"]);
    for e in errors {
        assert_eq!(e.to_string(), "invalid or expired token");
    }
}

#[test]
fn unknown_claims_are_ignored() {
    let f = Fixture::new(Algorithm::EdDSA);
    let token = f.sign_claims(&with(claims_json(), "is_superuser", json!(true)));
    assert!(f.verify(&token).is_ok());
}
