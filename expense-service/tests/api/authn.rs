//! Who gets in: missing, expired and foreign tokens; tenant hosts.

use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared_jwt::Role;

use crate::api::helpers::{AUTH_URL, Backend, PUBLIC_URL, Tenant, TestApp, location};
use test_support::db_tests;

db_tests!(
    unauthenticated_page_redirects_to_login_with_next,
    unauthenticated_api_answers_401_json,
    expired_token_redirects_to_login,
    token_of_another_issuer_is_refused,
    me_returns_the_verified_claims,
    tenant_from_host_refuses_another_tenants_host,
);

#[cfg(not(feature = "bench-baseline"))]
db_tests!(the_bench_baseline_route_is_not_in_the_normal_build);

async fn unauthenticated_page_redirects_to_login_with_next(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for path in [
        "/",
        "/expenses/new",
        "/departments",
        "/?status=pending&month=2026-01",
    ] {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        let next: String =
            url::form_urlencoded::byte_serialize(format!("{PUBLIC_URL}{path}").as_bytes())
                .collect();
        assert_eq!(
            location(&res),
            format!("{AUTH_URL}/login?next={next}"),
            "{path}"
        );
    }
    app.stop().await;
}

async fn unauthenticated_api_answers_401_json(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for (method, path) in [
        (Method::GET, "/api/v1/expenses/"),
        (Method::POST, "/api/v1/expenses/"),
        (Method::GET, "/api/v1/me"),
        (Method::GET, "/api/v1/departments/"),
    ] {
        let res = app.api(method.clone(), path, None, None).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer"),
            "{method} {path}"
        );
        let body: Value = res.json().await.unwrap();
        assert!(body["detail"].is_string());
        assert!(
            body["login_url"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{AUTH_URL}/login?next="))
        );
    }
    // A garbage bearer token is the same 401.
    let res = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", "Bearer not.a.token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn expired_token_redirects_to_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = Tenant::new("acme");
    let mut user = app.user(&tenant, Role::Member, "Ann");
    let input = shared_jwt::AccessTokenInput {
        user_id: user.id,
        tenant_id: tenant.id,
        tenant_slug: tenant.slug.clone(),
        role: Role::Member,
        email: "ann@acme.test".into(),
        name: "Ann".into(),
        email_verified: true,
        session_id: None,
    };
    let mut claims = app.claims_for(&input);
    // Beyond the 60 s leeway.
    claims.exp = chrono::Utc::now().timestamp() - 120;
    claims.iat = claims.exp - 300;
    claims.nbf = claims.iat;
    user.token = app.signer.issue_claims(&claims).unwrap();
    let res = app.get("/", Some(&user)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(location(&res).starts_with(&format!("{AUTH_URL}/login?next=")));
    let res = app
        .api(Method::GET, "/api/v1/expenses/", Some(&user), None)
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn token_of_another_issuer_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = Tenant::new("acme");
    let mut user = app.user(&tenant, Role::Owner, "Ann");
    // Same key, other audience: must not pass.
    let other = shared_jwt::Signer::new(
        app.signer.signing_key().clone(),
        AUTH_URL,
        "other.test",
        std::time::Duration::from_secs(300),
    );
    let input = shared_jwt::AccessTokenInput {
        user_id: user.id,
        tenant_id: tenant.id,
        tenant_slug: tenant.slug.clone(),
        role: Role::Owner,
        email: "ann@acme.test".into(),
        name: "Ann".into(),
        email_verified: true,
        session_id: None,
    };
    user.token = other.issue(&input).unwrap();
    let res = app.api(Method::GET, "/api/v1/me", Some(&user), None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn me_returns_the_verified_claims(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = Tenant::new("acme");
    let user = app.user(&tenant, Role::Admin, "Ann Admin");
    let res = app.api(Method::GET, "/api/v1/me", Some(&user), None).await;
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().await.unwrap();
    assert_eq!(me["sub"], user.id.to_string());
    assert_eq!(me["user_id"], user.id.to_string());
    assert_eq!(me["tenant_id"], tenant.id.to_string());
    assert_eq!(me["tenant_slug"], "acme");
    assert_eq!(me["user_role"], "admin");
    assert_eq!(me["name"], "Ann Admin");
    assert_eq!(me["token_type"], "access");
    assert_eq!(me["csrf_token"], user.csrf);
    app.stop().await;
}

/// scripts/bench's unauthenticated baseline (`routes/bench.rs`) exists only with the
/// `bench-baseline` feature: here it is an unknown path, with or without a token.
#[cfg(not(feature = "bench-baseline"))]
async fn the_bench_baseline_route_is_not_in_the_normal_build(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let tenant = Tenant::new("acme");
    let user = app.user(&tenant, Role::Admin, "Ann Admin");
    for who in [None, Some(&user)] {
        let res = app
            .api(Method::GET, "/api/v1/bench/me-without-auth", who, None)
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    app.stop().await;
}

async fn tenant_from_host_refuses_another_tenants_host(backend: Backend) {
    let app = TestApp::spawn_with(backend, &[("TENANT_FROM_HOST", "true")]).await;
    let acme = Tenant::new("acme");
    let ann = app.user(&acme, Role::Member, "Ann");
    let on = |host: &str, path: &str| format!("http://{host}:{}{path}", app.port);
    let cookie = format!("access_token={}", ann.token);

    // Own tenant host: in.
    let res = app
        .client
        .get(on("acme.example.test", "/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("acme"));

    // Another tenant's host: 403, page and API alike.
    let res = app
        .client
        .get(on("globex.example.test", "/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .client
        .get(on("globex.example.test", "/api/v1/expenses/"))
        .header("authorization", format!("Bearer {}", ann.token))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert!(body["detail"].is_string());

    // Unauthenticated on a tenant host: the login's next names that host.
    let res = app
        .client
        .get(on("globex.example.test", "/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).contains("globex.example.test"),
        "{}",
        location(&res)
    );
    app.stop().await;
}
