//! The axum layer through a real router: `TENANT_FROM_HOST` and the CSRF checks (Origin /
//! `Sec-Fetch-Site`, session-bound form token), and why bearer requests skip them.

use crate::common::app::*;
use crate::common::{key, signer};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use shared_jwt::axum::{CSRF_DETAIL, FORBIDDEN_DETAIL, WRONG_TENANT_DETAIL};
use shared_jwt::{Algorithm, AuthLayer, AuthRejection, Role, SessionCsrf};

#[tokio::test]
async fn tenant_from_host_refuses_another_tenants_token() {
    let app = app_with(Some("example.com"), "https://example.com:8443/");
    let acme = app.token_for_tenant("acme");
    let ok = app
        .get(
            "/",
            &[
                ("host", "acme.example.com:8443"),
                ("cookie", &cookie(&acme)),
            ],
        )
        .await;
    assert_eq!(ok.0, StatusCode::OK);
    let upper = app
        .get(
            "/",
            &[("host", "ACME.Example.com"), ("cookie", &cookie(&acme))],
        )
        .await;
    assert_eq!(upper.0, StatusCode::OK);
    for host in [
        "globex.example.com",
        "example.com",
        "acme.evil.com",
        "a.acme.example.com",
        "acme.example.com.evil.com",
    ] {
        let (status, _, body) = app
            .get("/", &[("host", host), ("cookie", &cookie(&acme))])
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{host}");
        assert!(body.contains("another organization"), "{host}");
    }
    let (status, h, body) = app
        .get(
            "/api/v1/me",
            &[
                ("host", "globex.example.com"),
                ("authorization", &format!("Bearer {acme}")),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["detail"],
        "This account belongs to another organization."
    );
}

#[tokio::test]
async fn tenant_hosts_keep_their_host_in_the_login_redirect_but_foreign_hosts_do_not() {
    let app = app_with(Some("example.com"), "https://example.com:8443/");
    let (status, h, _) = app
        .get("/reports?x=1", &[("host", "acme.example.com:8443")])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&h),
        "https://auth.example.com/login?next=https%3A%2F%2Facme.example.com%3A8443%2Freports%3Fx%3D1"
    );
    let (_, h, _) = app.get("/reports", &[("host", "evil.com")]).await;
    assert_eq!(
        location(&h),
        "https://auth.example.com/login?next=https%3A%2F%2Fexample.com%3A8443%2Freports"
    );
    let (_, h, _) = app.get("/reports", &[("host", "x_y.example.com")]).await;
    assert_eq!(
        location(&h),
        "https://auth.example.com/login?next=https%3A%2F%2Fexample.com%3A8443%2Freports"
    );
}

#[tokio::test]
async fn cross_site_unsafe_cookie_requests_are_refused() {
    let app = app();
    let token = app.token(Role::Member);
    let c = cookie(&token);
    let csrf = app
        .ctx
        .csrf
        .token_for(&app.ctx.verifier.verify(&token).unwrap());
    let body = format!("csrf_token={csrf}");
    for headers in [
        vec![("cookie", c.as_str()), ("origin", "https://evil.example")],
        vec![("cookie", c.as_str()), ("origin", "null")],
        vec![("cookie", c.as_str()), ("sec-fetch-site", "cross-site")],
        vec![
            ("cookie", c.as_str()),
            ("origin", "http://expenses.example.com"),
        ],
    ] {
        let (status, _, _) = app.post_form("/expenses/new", &headers, &body).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{headers:?}");
    }
    let same = [
        ("cookie", c.as_str()),
        ("origin", "https://expenses.example.com"),
        ("sec-fetch-site", "same-origin"),
    ];
    let (status, _, text) = app.post_form("/expenses/new", &same, &body).await;
    assert_eq!((status, text.as_str()), (StatusCode::CREATED, "created"));
    // GET is not an unsafe method: no Origin check.
    let (status, _, _) = app
        .get(
            "/expenses/new",
            &[("cookie", &c), ("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn the_form_token_is_bound_to_the_session() {
    let app = app();
    let token = app.token(Role::Member);
    let c = cookie(&token);
    let (status, _, form_token) = app.get("/expenses/new", &[("cookie", &c)]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(form_token.len(), 43);
    let origin = ("origin", "https://expenses.example.com");
    let ok = app
        .post_form(
            "/expenses/new",
            &[("cookie", &c), origin],
            &format!("csrf_token={form_token}"),
        )
        .await;
    assert_eq!(ok.0, StatusCode::CREATED);
    let missing = app
        .post_form("/expenses/new", &[("cookie", &c), origin], "")
        .await;
    assert_eq!(missing.0, StatusCode::FORBIDDEN);
    let wrong = app
        .post_form(
            "/expenses/new",
            &[("cookie", &c), origin],
            "csrf_token=AAAA",
        )
        .await;
    assert_eq!(wrong.0, StatusCode::FORBIDDEN);
    // Another session of the same user gets another token.
    let other_session = app.token(Role::Member);
    let (_, _, other_form_token) = app
        .get("/expenses/new", &[("cookie", &cookie(&other_session))])
        .await;
    assert_ne!(other_form_token, form_token);
    let replayed = app
        .post_form(
            "/expenses/new",
            &[("cookie", &cookie(&other_session)), origin],
            &format!("csrf_token={form_token}"),
        )
        .await;
    assert_eq!(replayed.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bearer_requests_are_not_subject_to_csrf_checks() {
    let app = app();
    let token = app.token(Role::Member);
    let headers = [
        ("authorization", format!("Bearer {token}")),
        ("origin", "https://evil.example".into()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _, _) = app.post_form("/api/v1/expenses/", &headers, "").await;
    assert_eq!(status, StatusCode::CREATED);
}

fn is_html(h: &HeaderMap) -> bool {
    h[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html")
}

fn json_of(body: &str) -> Value {
    serde_json::from_str(body).unwrap()
}

/// A script's write: the form token in the `X-CSRF-Token` header.
async fn create_by_header(
    csrf: SessionCsrf,
    headers: HeaderMap,
) -> Result<StatusCode, AuthRejection> {
    csrf.verify_header(&headers)?;
    Ok(StatusCode::CREATED)
}

/// An app on tenant hosts below `example.com` whose host renders rejections itself: its own page
/// and JSON shape for every 403, the built-in 303 / 401 for a missing token.
fn host_rendered() -> App {
    let key = key(Algorithm::EdDSA);
    let ctx = context(&key, Some("example.com"), "https://example.com");
    let layer =
        AuthLayer::new(ctx.clone()).render_rejections_with(|r: AuthRejection, html| match r {
            AuthRejection::Unauthenticated { .. } => r.default_response(html),
            _ if html => {
                let page = format!("<p class=\"host\">{}</p>", r.detail());
                (r.status(), Html(page)).into_response()
            }
            _ => (r.status(), Json(json!({ "host_detail": r.detail() }))).into_response(),
        });
    let router = Router::new()
        .route("/", get(home))
        .route("/admin", get(admin))
        .route("/owner", get(admin_by_hand))
        .route("/expenses/new", post(create))
        .route("/api/v1/expenses/", post(create_by_header))
        .layer(layer);
    App {
        router,
        signer: signer(&key),
        ctx,
    }
}

#[tokio::test]
async fn a_host_renderer_answers_every_rejection_in_the_hosts_look() {
    let app = host_rendered();
    let acme = cookie(&app.token_for_tenant("acme"));
    let host = ("host", "acme.example.com");
    let page = |detail: &str| format!("<p class=\"host\">{detail}</p>");

    // Wrong tenant, role too low (extractor or handler), cross-site: the host's page or JSON.
    let (status, h, body) = app
        .get("/", &[("host", "globex.example.com"), ("cookie", &acme)])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(is_html(&h));
    assert_eq!(body, page(WRONG_TENANT_DETAIL));
    for path in ["/admin", "/owner"] {
        let (status, _, body) = app.get(path, &[host, ("cookie", &acme)]).await;
        assert_eq!(
            (status, body),
            (StatusCode::FORBIDDEN, page(FORBIDDEN_DETAIL))
        );
    }
    let cross = [
        host,
        ("cookie", acme.as_str()),
        ("origin", "https://evil.example"),
    ];
    let (status, _, body) = app.post_form("/expenses/new", &cross, "").await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, page(CSRF_DETAIL)));
    let cross_json = [cross[0], cross[1], cross[2], ("accept", "application/json")];
    let (status, _, body) = app.post_form("/expenses/new", &cross_json, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(json_of(&body), json!({ "host_detail": CSRF_DETAIL }));

    // No token: what the host kept, the contract's 303 and 401.
    let (status, h, _) = app.get("/admin", &[host]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location(&h).starts_with("https://auth.example.com/login?next="));
    let (status, h, body) = app
        .get("/admin", &[host, ("accept", "application/json")])
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(h.contains_key(header::WWW_AUTHENTICATE));
    assert!(serde_json::from_str::<Value>(&body).unwrap()["login_url"].is_string());
}

#[tokio::test]
async fn without_a_renderer_a_failed_csrf_check_says_so_as_a_page_or_json() {
    let app = app();
    let c = cookie(&app.token(Role::Member));
    let origin = ("origin", "https://expenses.example.com");
    let (status, h, body) = app
        .post_form("/expenses/new", &[("cookie", &c), origin], "")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(is_html(&h));
    assert!(body.contains(CSRF_DETAIL), "{body}");
    let evil = ("origin", "https://evil.example");
    let (status, h, body) = app
        .post_form("/api/v1/expenses/", &[("cookie", &c), evil], "")
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(h[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["detail"],
        CSRF_DETAIL
    );
}

#[tokio::test]
async fn scripts_send_the_form_token_in_the_x_csrf_token_header() {
    let app = host_rendered();
    let token = app.token_for_tenant("acme");
    let c = cookie(&token);
    let csrf = app
        .ctx
        .csrf
        .token_for(&app.ctx.verifier.verify(&token).unwrap());
    let host = ("host", "acme.example.com");
    let (status, _, _) = app
        .post_form(
            "/api/v1/expenses/",
            &[host, ("cookie", &c), ("x-csrf-token", &csrf)],
            "",
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    for wrong in ["", "AAAA"] {
        let (status, _, body) = app
            .post_form(
                "/api/v1/expenses/",
                &[host, ("cookie", &c), ("x-csrf-token", wrong)],
                "",
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(json_of(&body), json!({ "host_detail": CSRF_DETAIL }));
    }
    let bearer = format!("Bearer {token}");
    let (status, _, _) = app
        .post_form("/api/v1/expenses/", &[host, ("authorization", &bearer)], "")
        .await;
    assert_eq!(status, StatusCode::CREATED);
}
