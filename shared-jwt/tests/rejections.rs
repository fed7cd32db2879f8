//! Every way a token must be refused. Each test asserts the exact `VerifyError`, so removing
//! the check it covers makes it fail (the token would verify, or fail later for another reason).
//! Tokens are crafted by hand: base64url of JSON plus real signatures.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use shared_jwt::{Algorithm, KeySet, SigningKey, Verifier, VerifierConfig, VerifyError};

const ALL: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::HS512];

/// A valid key, its verifier, and a closure that signs any (header, claims) with the real key.
struct Fixture {
    key: SigningKey,
    verifier: Verifier,
}

impl Fixture {
    fn new(alg: Algorithm) -> Self {
        let key = key(alg);
        // The cache is on: rejections must not depend on it being off.
        let verifier = verifier(alg, &[&key], 100);
        Self { key, verifier }
    }

    fn alg(&self) -> &'static str {
        self.key.algorithm().as_str()
    }

    fn sign(&self, header: &serde_json::Value, claims: &serde_json::Value) -> String {
        hand_signed(&self.key, header, claims)
    }

    fn sign_claims(&self, claims: &serde_json::Value) -> String {
        self.sign(&header(self.alg(), self.key.kid()), claims)
    }

    fn verify(&self, token: &str) -> Result<shared_jwt::Claims, VerifyError> {
        self.verifier.verify(token)
    }
}

fn with(mut claims: serde_json::Value, name: &str, value: serde_json::Value) -> serde_json::Value {
    claims[name] = value;
    claims
}

fn without(mut claims: serde_json::Value, name: &str) -> serde_json::Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

#[test]
fn the_valid_baseline_verifies() {
    for alg in ALL {
        let f = Fixture::new(alg);
        assert!(f.verify(&f.sign_claims(&claims_json())).is_ok(), "{alg}");
    }
}

#[test]
fn alg_none_in_any_case_is_refused_even_with_a_real_signature() {
    for alg in ALL {
        let f = Fixture::new(alg);
        for none in ["none", "None", "NONE", "nOnE"] {
            let h = json!({"alg": none, "typ": "JWT", "kid": f.key.kid()});
            // Signed with the real key: only the algorithm pin stops it.
            let signed = f.sign(&h, &claims_json());
            assert_eq!(
                f.verify(&signed).unwrap_err(),
                VerifyError::AlgorithmMismatch,
                "{alg} {none}"
            );
            // The classic unsigned form `header.payload.`.
            let unsigned = format!("{}.", signing_input(&h, &claims_json()));
            assert!(f.verify(&unsigned).is_err(), "{alg} {none} unsigned");
        }
    }
}

#[test]
fn another_algorithm_than_the_configured_one_is_refused() {
    // A token correctly signed with ES256, presented to an EdDSA verifier that also holds
    // (and ignores) that ES256 key.
    let ed = key(Algorithm::EdDSA);
    let ec = key(Algorithm::ES256);
    let set: KeySet = [ed.verifying_key(), ec.verifying_key()]
        .into_iter()
        .collect();
    let v = Verifier::new(config(Algorithm::EdDSA), set).unwrap();
    let token = hand_signed(&ec, &header("ES256", ec.kid()), &claims_json());
    assert_eq!(
        v.verify(&token).unwrap_err(),
        VerifyError::AlgorithmMismatch
    );
    // Same token but lying about its alg: the ES256 key is not in the EdDSA set.
    let lying = hand_signed(&ec, &header("EdDSA", ec.kid()), &claims_json());
    assert_eq!(v.verify(&lying).unwrap_err(), VerifyError::UnknownKid);
}

#[test]
fn hs512_signed_with_the_eddsa_public_key_is_refused() {
    let f = Fixture::new(Algorithm::EdDSA);
    let public = f.key.verifying_key().ed25519_public_key().unwrap();
    let jwk_x = f.key.verifying_key().to_jwk().unwrap()["x"]
        .as_str()
        .unwrap()
        .to_owned();
    let pem = {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        public
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
    };
    // Every form an attacker might guess the verifier uses as an HMAC secret.
    for secret in [
        public.as_bytes().to_vec(),
        jwk_x.into_bytes(),
        pem.into_bytes(),
    ] {
        let h = header("HS512", f.key.kid());
        let input = signing_input(&h, &claims_json());
        let token = format!("{input}.{}", b64(hmac512(&secret, input.as_bytes())));
        assert_eq!(
            f.verify(&token).unwrap_err(),
            VerifyError::AlgorithmMismatch
        );
    }
}

#[test]
fn unknown_and_missing_kid_are_refused() {
    for alg in ALL {
        let f = Fixture::new(alg);
        let unknown = f.sign(&header(f.alg(), "some-other-key"), &claims_json());
        assert_eq!(f.verify(&unknown).unwrap_err(), VerifyError::UnknownKid);
        let missing = f.sign(&json!({"alg": f.alg(), "typ": "JWT"}), &claims_json());
        assert_eq!(f.verify(&missing).unwrap_err(), VerifyError::MissingKid);
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
        &with(claims_json(), "exp", json!(now())),
    );
    assert!(v.verify(&soon).is_ok());
    assert_eq!(v.cached_tokens(), 1);
    // Let `exp` pass (the test asserts the outcome, not a duration).
    std::thread::sleep(Duration::from_millis(1100));
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
fn a_payload_changed_after_signing_is_refused() {
    for alg in ALL {
        let f = Fixture::new(alg);
        let token = f.sign_claims(&claims_json());
        assert!(f.verify(&token).is_ok());
        let parts: Vec<&str> = token.split('.').collect();
        let promoted = b64(with(claims_json(), "user_role", json!("owner")).to_string());
        let forged = format!("{}.{}.{}", parts[0], promoted, parts[2]);
        assert_eq!(
            f.verify(&forged).unwrap_err(),
            VerifyError::BadSignature,
            "{alg}"
        );
    }
}

#[test]
fn truncated_empty_or_foreign_signatures_are_refused() {
    for alg in ALL {
        let f = Fixture::new(alg);
        let token = f.sign_claims(&claims_json());
        let (input, sig) = token.rsplit_once('.').unwrap();
        let truncated = format!("{input}.{}", &sig[..sig.len() - 4]);
        assert_eq!(
            f.verify(&truncated).unwrap_err(),
            VerifyError::BadSignature,
            "{alg}"
        );
        assert_eq!(
            f.verify(&format!("{input}.")).unwrap_err(),
            VerifyError::BadSignature,
            "{alg}"
        );
        let other = Fixture::new(alg);
        let foreign_sig = other.sign(&header(f.alg(), f.key.kid()), &claims_json());
        let (_, foreign) = foreign_sig.rsplit_once('.').unwrap();
        assert_eq!(
            f.verify(&format!("{input}.{foreign}")).unwrap_err(),
            VerifyError::BadSignature
        );
    }
}

#[test]
fn embedded_keys_and_key_urls_in_the_header_are_refused() {
    for alg in ALL {
        let f = Fixture::new(alg);
        let attacker = key(Algorithm::EdDSA);
        for (name, value) in [
            ("jwk", attacker.verifying_key().to_jwk().unwrap()),
            ("jku", json!("https://evil.example/jwks.json")),
            ("x5u", json!("https://evil.example/cert.pem")),
            ("x5c", json!(["MIIBszCCAVmgAwIBAgIUW"])),
        ] {
            let mut h = header(f.alg(), f.key.kid());
            h[name] = value;
            // Signed with the real key: without the header check this would verify.
            let token = f.sign(&h, &claims_json());
            assert_eq!(
                f.verify(&token).unwrap_err(),
                VerifyError::ForbiddenHeader,
                "{alg} {name}"
            );
        }
    }
}

#[test]
fn oversized_tokens_are_refused_before_parsing() {
    let f = Fixture::new(Algorithm::EdDSA);
    let padding = "x".repeat(100 * 1024);
    let huge = f.sign_claims(&with(claims_json(), "padding", json!(padding)));
    assert!(huge.len() > 100 * 1024);
    assert_eq!(f.verify(&huge).unwrap_err(), VerifyError::TooLarge);
    // Just over the limit, still well-formed and correctly signed.
    let target = shared_jwt::MAX_TOKEN_BYTES + 1;
    let base = f
        .sign_claims(&with(claims_json(), "padding", json!("")))
        .len();
    let pad = (target - base) * 3 / 4 + 4;
    let over = f.sign_claims(&with(claims_json(), "padding", json!("y".repeat(pad))));
    assert!(over.len() > shared_jwt::MAX_TOKEN_BYTES);
    assert_eq!(f.verify(&over).unwrap_err(), VerifyError::TooLarge);
}

#[test]
fn characters_outside_base64url_are_refused() {
    let f = Fixture::new(Algorithm::EdDSA);
    let token = f.sign_claims(&claims_json());
    for bad in [
        format!("{token}="),
        format!(" {token}"),
        format!("{token}\n"),
        token.replacen('.', "+", 1),
        format!("{token}/"),
        format!("Bearer {token}"),
        token.replace('-', "+").replace('_', "/") + "+/",
        format!("{token}é"),
    ] {
        assert_eq!(
            f.verify(&bad).unwrap_err(),
            VerifyError::Malformed,
            "{bad:?}"
        );
    }
}

#[test]
fn the_json_serialisation_of_a_jws_is_refused() {
    let f = Fixture::new(Algorithm::EdDSA);
    let token = f.sign_claims(&claims_json());
    let parts: Vec<&str> = token.split('.').collect();
    let general = json!({"payload": parts[1], "signatures": [{"protected": parts[0], "signature": parts[2]}]});
    let flattened = json!({"payload": parts[1], "protected": parts[0], "signature": parts[2]});
    for doc in [general, flattened] {
        assert_eq!(
            f.verify(&doc.to_string()).unwrap_err(),
            VerifyError::Malformed
        );
    }
}

#[test]
fn other_shapes_are_refused() {
    let f = Fixture::new(Algorithm::EdDSA);
    let token = f.sign_claims(&claims_json());
    for bad in [
        String::new(),
        "a.b".into(),
        format!("{token}.extra"),
        "..".into(),
    ] {
        assert_eq!(
            f.verify(&bad).unwrap_err(),
            VerifyError::Malformed,
            "{bad:?}"
        );
    }
    // `crit` (an extension we do not implement) and a duplicated `alg` in the header.
    let mut h = header("EdDSA", f.key.kid());
    h["crit"] = json!(["exp"]);
    assert_eq!(
        f.verify(&f.sign(&h, &claims_json())).unwrap_err(),
        VerifyError::Malformed
    );
    let dup = format!(r#"{{"alg":"EdDSA","alg":"none","kid":"{}"}}"#, f.key.kid());
    let input = format!("{}.{}", b64(dup), b64(claims_json().to_string()));
    let sig = b64(raw_sign(&f.key, input.as_bytes()));
    assert_eq!(
        f.verify(&format!("{input}.{sig}")).unwrap_err(),
        VerifyError::Malformed
    );
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

#[test]
fn every_single_character_change_is_refused() {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    for alg in ALL {
        let f = Fixture::new(alg);
        let token = f.sign_claims(&claims_json());
        assert!(f.verify(&token).is_ok());
        let bytes = token.as_bytes();
        for i in 0..bytes.len() {
            // Two substitutes per position keep the test fast while covering every part.
            for &c in [ALPHABET[i % 64], ALPHABET[(i * 7 + 3) % 65]]
                .iter()
                .filter(|&&c| c != bytes[i])
            {
                let mut changed = bytes.to_vec();
                changed[i] = c;
                let changed = String::from_utf8(changed).unwrap();
                assert!(
                    f.verify(&changed).is_err(),
                    "{alg}: position {i} -> {}",
                    c as char
                );
            }
        }
    }
}
