//! Issue 12's acceptance: two auth-service replicas sharing one database, and a sibling
//! service's verifier (shared-jwt fetching the JWKS over HTTP) started long before the
//! rotation, with short intervals (`JWKS_MAX_AGE=2s`). `keys rotate` and `keys revoke` run
//! as the real CLI binary, another process: the replicas follow without a restart.
//!
//! - after the rotation both replicas serve the same JWKS at once;
//! - from the moment either signs with the new key, the sibling accepts its tokens with
//!   `verify()` alone (no I/O: no refetch can hide a refusal window);
//! - tokens of the old key keep working on both replicas and the sibling;
//! - after the revocation both replicas refuse them at once, and the sibling within the
//!   max-age (its cached verification of them included).

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use secrecy::ExposeSecret as _;
use serde_json::{Value, json};
use shared_jwt::{JwksOptions, Verifier, VerifierConfig, VerifyError};
use test_support::db_tests;
use url::Url;

use crate::api::helpers::{Backend, PASSWORD, TestApp, plain_client, raise_rate_limits};

db_tests!(two_replicas_rotate_and_revoke_with_a_sibling_verifier_and_no_restart);

const MARGIN: Duration = Duration::from_secs(6);

fn short_intervals(s: &mut auth_service::Settings) {
    raise_rate_limits(s);
    s.jwks_max_age = Duration::from_secs(2);
    // The new key signs 2 s + 6 s after it is published: a sibling refreshing every 2 s has
    // about three chances to fetch it first, even on a loaded machine.
    s.key_activation_margin = MARGIN;
    s.key_reload_interval = Duration::from_millis(300);
}

/// The `kid` in a token's header.
fn kid_of(token: &str) -> String {
    use base64::Engine as _;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An access token from the replica at `base` (the JSON sign-in).
async fn sign_in(base: &str) -> String {
    let res = plain_client()
        .post(format!("{base}/api/v1/auth/jwt/create/"))
        .json(&json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    res.json::<Value>().await.unwrap()["access"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What the replica at `base` answers to the token's bearer.
async fn me(base: &str, token: &str) -> StatusCode {
    plain_client()
        .get(format!("{base}/api/v1/auth/users/me/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

async fn jwks_kids(base: &str) -> Vec<String> {
    let res = plain_client()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "public, max-age=2");
    let jwks: Value = res.json().await.unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

/// Runs `auth-service --json keys ARGS` against the replicas' database.
fn cli(settings: &auth_service::Settings, args: &[&str]) -> Value {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_auth-service"));
    cmd.arg("--json")
        .args(args)
        .env_clear()
        .env("DATABASE_URL", settings.database_url.expose_secret())
        .env("DATA_DIR", &settings.data_dir)
        .env("JWKS_MAX_AGE", "2s")
        .env("KEY_ACTIVATION_MARGIN", format!("{}s", MARGIN.as_secs()))
        .env("KEY_RELOAD_INTERVAL", "1s");
    if let Some(kek) = &settings.key_encryption_key {
        cmd.env("KEY_ENCRYPTION_KEY", kek.expose_secret());
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn two_replicas_rotate_and_revoke_with_a_sibling_verifier_and_no_restart(b: Backend) {
    let a = TestApp::spawn_with(b, short_intervals).await;
    a.acme().await;
    let mut settings = (*a.state.settings).clone();
    settings.bind = "127.0.0.1:0".parse().unwrap();
    let replica = auth_service::Application::build(settings.clone())
        .await
        .unwrap();
    let b_url = format!("http://127.0.0.1:{}", replica.port());
    tokio::spawn(replica.run_until_stopped());
    let bases = [a.address.clone(), b_url.clone()];

    // The sibling service's verifier, started long before the rotation, on replica B's JWKS.
    let sibling = Verifier::from_jwks_url_with(
        VerifierConfig::new(
            shared_jwt::Algorithm::EdDSA,
            settings.jwt_issuer.clone(),
            settings.jwt_audience.clone(),
        ),
        Url::parse(&format!("{b_url}/.well-known/jwks.json")).unwrap(),
        JwksOptions::default(),
    )
    .await
    .unwrap();

    let old_token = sign_in(&a.address).await;
    let old_kid = kid_of(&old_token);
    assert_eq!(kid_of(&sign_in(&b_url).await), old_kid, "one key for both");
    assert!(sibling.verify(&old_token).is_ok());

    // The rotation, by another process.
    let rotated = cli(&settings, &["keys", "rotate"]);
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    let both = {
        let mut k = vec![old_kid.clone(), new_kid.clone()];
        k.sort();
        k
    };
    // Both replicas publish it at once (each JWKS answer rereads the keys).
    for base in &bases {
        assert_eq!(jwks_kids(base).await, both);
    }

    // Until both replicas sign with the new key, every token either mints is accepted by
    // the sibling without any fetch of its own: no refusal window.
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut switched = [false, false];
    while switched != [true, true] {
        assert!(
            Instant::now() < deadline,
            "the new key never signed: {switched:?}"
        );
        for (i, base) in bases.iter().enumerate() {
            let token = sign_in(base).await;
            let kid = kid_of(&token);
            assert!(kid == old_kid || kid == new_kid, "{kid}");
            let verified = sibling.verify(&token);
            assert!(
                verified.is_ok(),
                "the sibling refused a {} token: {verified:?}",
                if kid == new_kid { "new-key" } else { "old-key" }
            );
            assert_eq!(me(base, &token).await, StatusCode::OK);
            switched[i] |= kid == new_kid;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The old key's token still works everywhere (it has not expired).
    for base in &bases {
        assert_eq!(me(base, &old_token).await, StatusCode::OK);
    }
    assert!(sibling.verify(&old_token).is_ok());

    // Revocation, by another process: refused by both replicas at once, out of both JWKS.
    let revoked = cli(&settings, &["keys", "revoke", &old_kid]);
    assert_eq!(revoked["outcome"], "revoked");
    for base in &bases {
        assert_eq!(me(base, &old_token).await, StatusCode::UNAUTHORIZED);
        assert_eq!(jwks_kids(base).await, std::slice::from_ref(&new_kid));
    }
    // The sibling drops it (and its cached verification) within the max-age.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sibling.verify(&old_token) != Err(VerifyError::UnknownKid) {
        assert!(
            Instant::now() < deadline,
            "the sibling kept the revoked key"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // New-key tokens are unaffected.
    for base in &bases {
        let token = sign_in(base).await;
        assert_eq!(kid_of(&token), new_kid);
        assert!(sibling.verify(&token).is_ok());
        assert_eq!(me(base, &token).await, StatusCode::OK);
    }
}

db_tests!(two_replicas_rotate_automatically_once_per_interval);

async fn two_replicas_rotate_automatically_once_per_interval(b: Backend) {
    let interval = Duration::from_secs(2);
    let a = TestApp::spawn_with(b, |s| {
        short_intervals(s);
        s.key_rotation_interval = interval;
    })
    .await;
    let mut settings = (*a.state.settings).clone();
    settings.bind = "127.0.0.1:0".parse().unwrap();
    let replica = auth_service::Application::build(settings.clone())
        .await
        .unwrap();
    tokio::spawn(replica.run_until_stopped());

    // Both replicas check every 300 ms whether a rotation is due: wait for three.
    let deadline = Instant::now() + Duration::from_secs(90);
    let rows = loop {
        let rows = auth_service::keys::store::all(&a.state.db).await.unwrap();
        if rows.iter().filter(|r| r.origin == "automatic").count() >= 3 {
            break rows;
        }
        assert!(Instant::now() < deadline, "no automatic rotation: {rows:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Never two rotations for one due date: consecutive keys are at least an interval apart.
    for pair in rows.windows(2) {
        let gap = (pair[1].published_at - pair[0].published_at)
            .to_std()
            .unwrap();
        assert!(gap >= interval, "two keys {gap:?} apart: {rows:?}");
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    // Each is two-phase: it signs JWKS_MAX_AGE + the margin after it was published.
    for row in rows.iter().filter(|r| r.origin == "automatic") {
        assert_eq!(
            (row.signs_from - row.published_at).to_std().unwrap(),
            Duration::from_secs(2) + MARGIN
        );
    }
}
