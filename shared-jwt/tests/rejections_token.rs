//! Refused tokens: algorithm (`none`, confusion), `kid`, signature, header injection, size,
//! alphabet and shape. Each test asserts the exact `VerifyError`, so removing the check it covers
//! makes it fail (the token would verify, or fail later for another reason). Tokens are crafted
//! by hand: base64url of JSON plus real signatures.

use crate::common::fixture::*;
use crate::common::*;
use serde_json::json;
use shared_jwt::{Algorithm, KeySet, Verifier, VerifyError};

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

#[test]
fn random_input_never_verifies_and_never_panics() {
    // A small xorshift generator: deterministic, so a failure names a reproducible input.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_...";
    let f = Fixture::new(Algorithm::EdDSA);
    let valid = f.sign_claims(&claims_json());
    let parts: Vec<&str> = valid.split('.').collect();
    let other = f.sign_claims(&claims_json());
    let other_parts: Vec<&str> = other.split('.').collect();
    for i in 0..3000 {
        let candidate = match i % 3 {
            // Random strings in the token alphabet.
            0 => (0..(next() % 400) as usize)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize] as char)
                .collect::<String>(),
            // Parts of two valid tokens mixed.
            1 => {
                let pick = |n: u64, a: &str, b: &str| {
                    if n.is_multiple_of(2) {
                        a.to_owned()
                    } else {
                        b.to_owned()
                    }
                };
                let (h, p, s) = (next(), next(), next());
                let token = format!(
                    "{}.{}.{}",
                    pick(h, parts[0], other_parts[0]),
                    pick(p, parts[1], other_parts[1]),
                    pick(s, parts[2], other_parts[2])
                );
                if token == valid || token == other {
                    continue;
                }
                token
            }
            // A valid header and signature around random base64url JSON-ish payloads.
            _ => {
                let junk: String = (0..(next() % 200) as usize)
                    .map(|_| ALPHABET[(next() % 64) as usize] as char)
                    .collect();
                format!("{}.{}.{}", parts[0], junk, parts[2])
            }
        };
        assert!(f.verify(&candidate).is_err(), "{candidate}");
    }
}
