//! Tokens issued by the Signer verify, for every algorithm, and carry the contract's header.

use crate::common::*;
use shared_jwt::{Algorithm, Role};

#[test]
fn issued_tokens_verify_for_every_algorithm() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::HS512] {
        let key = key(alg);
        let signer = signer(&key);
        let input = input(Role::Admin);
        let token = signer.issue(&input).unwrap();
        let claims = verifier(alg, &[&key], 0).verify(&token).unwrap();
        assert_eq!(claims.sub, input.user_id);
        assert_eq!(claims.user_id, input.user_id);
        assert_eq!(claims.user_role, Role::Admin);
        assert_eq!(claims.token_type, "access");
        assert_eq!(claims.iss, ISSUER);
        assert_eq!(claims.aud, AUDIENCE);
        assert_eq!(claims.exp - claims.iat, 300);
        assert_eq!(claims.sid, input.session_id);

        let header_b64 = token.split('.').next().unwrap();
        let header: serde_json::Value = serde_json::from_slice(
            &base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                header_b64,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            header,
            serde_json::json!({"alg": alg.as_str(), "typ": "JWT", "kid": key.kid()})
        );
    }
}

#[test]
fn hand_signed_tokens_verify_so_the_rejection_tests_are_meaningful() {
    for alg in [Algorithm::EdDSA, Algorithm::ES256, Algorithm::HS512] {
        let key = key(alg);
        let token = hand_signed(&key, &header(alg.as_str(), key.kid()), &claims_json());
        verifier(alg, &[&key], 0).verify(&token).unwrap();
    }
}
