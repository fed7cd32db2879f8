//! `keys generate|rotate|list|jwks`: after `rotate` the new key signs, and a token
//! signed by the old key stays valid — the JWKS (printed, and served by a restarted
//! service) still lists the old key and shared-jwt verifies the token — until it expires.

use std::time::Duration;

use auth_service::keys::KeyStore;
use serde_json::Value;
use shared_jwt::{
    AccessTokenInput, Claims, KeySet, Role, Signer, Verifier, VerifierConfig, VerifyError,
};
use uuid::Uuid;

use test_support::Backend;

use crate::cli::CliEnv;

fn mint(env: &CliEnv, sub: Uuid) -> String {
    let s = env.settings();
    let keys = KeyStore::load(&s).unwrap();
    Signer::new(
        keys.signing_key().clone(),
        s.jwt_issuer,
        s.jwt_audience,
        s.access_token_ttl,
    )
    .issue(&AccessTokenInput {
        user_id: sub,
        tenant_id: Uuid::new_v4(),
        tenant_slug: "acme".to_owned(),
        role: Role::Member,
        email: "ada@acme.test".to_owned(),
        name: "Ada".to_owned(),
        email_verified: true,
        session_id: None,
    })
    .unwrap()
}

fn verifier(env: &CliEnv, jwks: &Value) -> Verifier {
    let s = env.settings();
    let config = VerifierConfig::new(shared_jwt::Algorithm::EdDSA, s.jwt_issuer, s.jwt_audience);
    Verifier::new(config, KeySet::from_jwks(&jwks.to_string()).unwrap()).unwrap()
}

fn kids(jwks: &Value) -> Vec<String> {
    let mut k: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    k.sort();
    k
}

#[tokio::test]
async fn rotation_keeps_old_tokens_valid_until_they_expire() {
    let env = CliEnv::new(Backend::Sqlite).await;
    let err = env.refused(&["keys", "list"], "");
    assert!(err.contains("auth-service keys generate"), "{err}");
    let generated = env.json(&["keys", "generate"], "");
    let old_kid = generated["kid"].as_str().unwrap().to_owned();
    let err = env.refused(&["keys", "generate"], "");
    assert!(
        err.contains("already exists; use `auth-service keys rotate`"),
        "{err}"
    );
    let jwks: Value = serde_json::from_str(&env.ok(&["keys", "jwks"], "")).unwrap();
    assert_eq!(kids(&jwks), std::slice::from_ref(&old_kid));

    // A token signed by the old key, then the rotation.
    let user = Uuid::new_v4();
    let old_token = mint(&env, user);
    let err = env.refused(&["keys", "rotate", "--keep-for", "10s"], "");
    assert!(err.contains("--keep-for must be at least"), "{err}");
    let rotated = env.json(&["keys", "rotate"], "");
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(rotated["previous_kid"], old_kid.as_str());
    // The old key stays published at least as long as its tokens live.
    let until: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(rotated["previous_expires_at"].clone()).unwrap();
    let old_claims_exp = chrono::Utc::now() + chrono::Duration::seconds(300);
    assert!(until >= old_claims_exp);

    // The new key signs; both verify through the printed JWKS.
    let new_token = mint(&env, user);
    let jwks: Value = serde_json::from_str(&env.ok(&["keys", "jwks"], "")).unwrap();
    let mut both = vec![old_kid.clone(), new_kid.clone()];
    both.sort();
    assert_eq!(kids(&jwks), both);
    let v = verifier(&env, &jwks);
    assert_eq!(v.verify(&old_token).unwrap().sub, user);
    assert_eq!(v.verify(&new_token).unwrap().sub, user);
    let header: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            new_token.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], new_kid.as_str());

    // …until the token expires: a token past its `exp` is refused whichever listed key
    // signed it (crafted with the current key, as the old private key is gone).
    let s = env.settings();
    let now = chrono::Utc::now().timestamp();
    let expired_claims = Claims {
        iss: s.jwt_issuer.clone(),
        aud: s.jwt_audience.clone(),
        exp: now - 3600,
        iat: now - 4000,
        nbf: now - 4000,
        jti: Uuid::new_v4().to_string(),
        sub: user,
        user_id: user,
        token_type: "access".to_owned(),
        tenant_id: Uuid::new_v4(),
        tenant_slug: "acme".to_owned(),
        user_role: Role::Member,
        email: "ada@acme.test".to_owned(),
        name: "Ada".to_owned(),
        email_verified: true,
        sid: None,
    };
    let store = KeyStore::load(&s).unwrap();
    let expired = Signer::new(
        store.signing_key().clone(),
        s.jwt_issuer.clone(),
        s.jwt_audience.clone(),
        Duration::from_secs(300),
    )
    .issue_claims(&expired_claims)
    .unwrap();
    assert!(matches!(v.verify(&expired), Err(VerifyError::Expired)));

    let list = env.json(&["keys", "list"], "");
    assert_eq!(list[0]["kid"], new_kid.as_str());
    assert_eq!(list[0]["status"], "current");
    assert_eq!(list[1]["kid"], old_kid.as_str());
    assert_eq!(list[1]["status"], "previous");
    let text = env.ok(&["keys", "list"], "");
    assert!(text.contains("current (signs)") && text.contains("previous (published until"));

    // A restarted service serves the same JWKS and signs with the new key.
    let served = serve_and_fetch_jwks(&env).await;
    assert_eq!(kids(&served), both);
    assert_eq!(
        verifier(&env, &served).verify(&old_token).unwrap().sub,
        user
    );
}

/// Starts `auth-service serve` on a free port, fetches its JWKS, stops it.
async fn serve_and_fetch_jwks(env: &CliEnv) -> Value {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = env.command(&["serve"]);
    cmd.env("BIND", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let url = format!("http://127.0.0.1:{port}/.well-known/jwks.json");
    let mut jwks = None;
    // Wait for start-up (migrations included): poll, no timing assertion.
    for _ in 0..300 {
        if let Ok(res) = reqwest::get(&url).await
            && res.status().is_success()
        {
            jwks = Some(res.json::<Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    jwks.expect("the service started")
}

#[tokio::test]
async fn hs512_has_no_keys_to_manage() {
    let mut env = CliEnv::new(Backend::Sqlite).await;
    env.set("JWT_ALGORITHM", "HS512");
    env.set("JWT_SECRET", &"s".repeat(64));
    for args in [
        &["keys", "generate"][..],
        &["keys", "rotate"],
        &["keys", "list"],
    ] {
        let err = env.refused(args, "");
        assert!(err.contains("JWT_SECRET"), "{err}");
    }
    let jwks: Value = serde_json::from_str(&env.ok(&["keys", "jwks"], "")).unwrap();
    assert_eq!(jwks["keys"], serde_json::json!([]));
}
