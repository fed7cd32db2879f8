//! Operations: security headers, health and readiness, the stylesheet, the JWKS with
//! previous keys, HS512, the request id on error pages, data files on first start.

use auth_service::keys::kek::Kek as KeyEncryptionKey;
use auth_service::keys::store;
use auth_service::tenants::SignupPolicy;
use shared_jwt::Role;

use crate::api::helpers::{Backend, PASSWORD, TestApp, find_cookie, plain_client};
use test_support::db_tests;

db_tests!(
    html_responses_carry_the_security_headers,
    health_readiness_and_the_stylesheet,
    hs512_signs_with_the_secret_and_publishes_no_key,
    es256_signs_and_publishes_a_p256_key,
);

async fn html_responses_carry_the_security_headers(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.cookie_domain = Some("example.test".into())).await;
    for path in ["/login", "/register", "/logout", "/nope"] {
        let res = app.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        for part in [
            "default-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self' https://example.test:* https://*.example.test:*",
        ] {
            assert!(csp.contains(part), "{path}: {csp}");
        }
        assert_eq!(h["x-content-type-options"], "nosniff");
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h["referrer-policy"], "same-origin");
        assert_eq!(h["cache-control"], "no-store");
        assert!(h.contains_key("x-request-id"));
    }
    let res = app.get("/nope").await;
    assert_eq!(res.status(), 404);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        res.text().await.unwrap().contains(&id),
        "the error page names the request id"
    );
}

async fn health_readiness_and_the_stylesheet(b: Backend) {
    let app = TestApp::spawn(b).await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
    let css = app.get("/static/app.css").await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert!(css.text().await.unwrap().contains(".card"));
}

#[tokio::test]
async fn first_start_creates_the_data_files_and_the_jwks_keeps_previous_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = auth_service::Settings::from_lookup(|k| match k {
        "DATA_DIR" => Some(dir.path().join("nested/data").display().to_string()),
        "BIND" => Some("127.0.0.1:0".into()),
        _ => None,
    })
    .unwrap();
    let app = auth_service::Application::build(settings.clone())
        .await
        .unwrap();
    let data = dir.path().join("nested/data");
    assert!(data.join("auth.db").exists());
    assert!(
        data.join("key-encryption-key").exists(),
        "the development key-encryption key"
    );
    assert!(
        !data.join("jwt-signing-key.pem").exists(),
        "the signing key lives in the database"
    );
    assert!(
        !data.join("session-secret.key").exists(),
        "no secret file: it is derived"
    );
    let first_kid = app.state().signer.kid();
    // A two-phase rotation: published at once, signing later.
    let kek = KeyEncryptionKey::from_settings(&settings).unwrap();
    let rotated = store::rotate(&app.state().db, &kek, &settings, "rotation")
        .await
        .unwrap();
    drop(app);

    settings.bind = "127.0.0.1:0".parse().unwrap();
    let app = auth_service::Application::build(settings).await.unwrap();
    let url = format!("http://127.0.0.1:{}/.well-known/jwks.json", app.port());
    assert_eq!(app.state().signer.kid(), first_kid, "still the old key");
    tokio::spawn(app.run_until_stopped());
    let res = plain_client().get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=300");
    let jwks: serde_json::Value = res.json().await.unwrap();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&first_kid.as_str()) && kids.contains(&rotated.kid.as_str()),
        "{jwks}"
    );
    assert!(
        jwks.to_string().find("\"d\"").is_none(),
        "no private material"
    );
}

async fn hs512_signs_with_the_secret_and_publishes_no_key(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.jwt_algorithm = auth_service::config::JwtAlgorithm::HS512;
        s.jwt_secret = Some("x".repeat(64).into());
    })
    .await;
    app.acme().await;
    let jwks: serde_json::Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 0);
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let token = find_cookie(&res, "access_token")
        .unwrap()
        .value()
        .to_owned();
    let header = token.split('.').next().unwrap();
    use base64::Engine as _;
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    assert_eq!(header["alg"], "HS512");
    assert_eq!(header["typ"], "JWT");
    assert!(header["kid"].is_string());
}

#[tokio::test]
async fn a_bad_setting_names_the_variable() {
    let err = auth_service::Settings::from_lookup(|k| {
        (k == "ACCESS_TOKEN_TTL").then(|| "soon".to_owned())
    })
    .unwrap_err();
    assert_eq!(
        err.to_string().split(':').next().unwrap(),
        "invalid setting ACCESS_TOKEN_TTL"
    );
}

async fn es256_signs_and_publishes_a_p256_key(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.jwt_algorithm = auth_service::config::JwtAlgorithm::ES256;
    })
    .await;
    app.acme().await;
    let jwks: serde_json::Value = app
        .get("/.well-known/jwks.json")
        .await
        .json()
        .await
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "EC");
    assert_eq!(key["crv"], "P-256");
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let token = find_cookie(&res, "access_token")
        .unwrap()
        .value()
        .to_owned();
    let keys = shared_jwt::KeySet::from_jwks(&jwks.to_string()).unwrap();
    let verifier = shared_jwt::Verifier::new(
        shared_jwt::VerifierConfig::new(
            shared_jwt::Algorithm::ES256,
            "http://localhost:8000",
            "localhost",
        ),
        keys,
    )
    .unwrap();
    assert_eq!(verifier.verify(&token).unwrap().tenant_slug, "acme");
}

#[tokio::test]
async fn two_instances_sharing_the_key_and_database_agree_without_a_session_secret() {
    let dir = tempfile::tempdir().unwrap();
    let base = |name: &str| {
        let mut s = auth_service::Settings::from_lookup(|_| None).unwrap();
        s.bind = "127.0.0.1:0".parse().unwrap();
        s.data_dir = dir.path().join(name);
        s.jwt_private_key_file = s.data_dir.join("jwt-signing-key.pem");
        s.database_url = format!("sqlite://{}/a/auth.db?mode=rwc", dir.path().display()).into();
        s
    };
    let a = auth_service::Application::build(base("a")).await.unwrap();
    // Replicas share the database and the key-encryption key (here: A's development one).
    let mut settings_b = base("b");
    let kek = std::fs::read_to_string(dir.path().join("a/key-encryption-key")).unwrap();
    settings_b.key_encryption_key = Some(kek.into());
    let b = auth_service::Application::build(settings_b).await.unwrap();
    let (url_a, url_b) = (
        format!("http://127.0.0.1:{}", a.port()),
        format!("http://127.0.0.1:{}", b.port()),
    );
    let t =
        auth_service::tenants::create_tenant(&a.state().db, "Acme", "acme", SignupPolicy::Open, 5)
            .await
            .unwrap();
    auth_service::users::create_user(
        &a.state().db,
        t.id,
        "ada@acme.test",
        PASSWORD,
        "Ada",
        "L",
        Role::Member,
    )
    .await
    .unwrap();
    tokio::spawn(a.run_until_stopped());
    tokio::spawn(b.run_until_stopped());

    // Cookies ignore ports: the pre-session cookie from A reaches B, and B accepts it.
    let browser = crate::api::helpers::browser();
    let body = browser
        .get(format!("{url_a}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = crate::api::helpers::csrf_from(&body);
    let res = browser
        .post(format!("{url_b}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("tenant", "acme"),
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let first = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();

    // Parallel tabs on two instances get the same successor.
    let refresh = |base: String, token: String| async move {
        let res = plain_client()
            .get(format!("{base}/refresh"))
            .header("cookie", format!("refresh_token={token}"))
            .send()
            .await
            .unwrap();
        find_cookie(&res, "refresh_token")
            .unwrap()
            .value()
            .to_owned()
    };
    let from_a = refresh(url_a, first.clone()).await;
    let from_b = refresh(url_b, first).await;
    assert_eq!(from_a, from_b);
}
