//! Interoperability: an access token from `jwt/create/` verifies with the published
//! JWKS through an independent implementation — not jsonwebtoken (which shared-jwt
//! uses, on aws-lc) but ed25519-dalek on the JWK's `x`, with the JWS parsing and the
//! claim checks a foreign verifier would do written out here by hand.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::Value;

use crate::api::helpers::{Backend, TestApp, plain_client};
use crate::api::json_helpers::tokens;
use test_support::db_tests;

db_tests!(access_tokens_verify_with_the_jwks_through_ed25519_dalek,);

fn b64json(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn access_tokens_verify_with_the_jwks_through_ed25519_dalek(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (tenant, user) = app.acme().await;
    let (access, _) = tokens(&app, "acme", "ada@acme.test").await;
    let jwks: Value = plain_client()
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    let parts: Vec<&str> = access.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = b64json(parts[0]);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "JWT");
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("the token's kid is published");
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(jwk["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let key = VerifyingKey::from_bytes(&x).unwrap();
    let sig: [u8; 64] = URL_SAFE_NO_PAD
        .decode(parts[2])
        .unwrap()
        .try_into()
        .unwrap();
    let signing_input = format!("{}.{}", parts[0], parts[1]);
    key.verify_strict(signing_input.as_bytes(), &Signature::from_bytes(&sig))
        .expect("the signature verifies");
    // A flipped bit does not.
    let mut forged = sig;
    forged[0] ^= 1;
    assert!(
        key.verify_strict(signing_input.as_bytes(), &Signature::from_bytes(&forged))
            .is_err()
    );

    let claims = b64json(parts[1]);
    let now = chrono::Utc::now().timestamp();
    assert_eq!(claims["iss"], "http://localhost:8000");
    assert_eq!(claims["aud"], "localhost");
    assert_eq!(claims["token_type"], "access");
    assert!(claims["exp"].as_i64().unwrap() > now);
    assert!(claims["nbf"].as_i64().unwrap() <= now + 60);
    assert!(claims["iat"].as_i64().unwrap() <= now + 60);
    assert_eq!(claims["sub"], user.id.to_string());
    assert_eq!(claims["user_id"], user.id.to_string());
    assert_eq!(claims["tenant_id"], tenant.id.to_string());
    assert_eq!(claims["tenant_slug"], "acme");
    assert_eq!(claims["user_role"], "member");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
}
