//! The axum layer and extractors through a real router (tower `oneshot`): what a browser and an
//! API client see for missing, invalid, insufficient, foreign-tenant and cross-site requests.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use common::*;
use http_body_util::BodyExt;
use serde_json::Value;
use shared_jwt::{
    Algorithm, AtLeastAdmin, AuthContext, AuthLayer, AuthRejection, Claims, CookieSettings, Csrf,
    CurrentUser, RequireRole, Role, SessionCsrf, Signer, SigningKey,
};
use tower::ServiceExt;
use url::Url;

struct App {
    router: Router,
    signer: Signer,
    ctx: AuthContext,
}

fn context(key: &SigningKey, tenant_host_domain: Option<&str>, public_url: &str) -> AuthContext {
    AuthContext {
        verifier: verifier(Algorithm::EdDSA, &[key], 100),
        cookies: CookieSettings {
            secure: false,
            domain: None,
            access_ttl: Duration::from_secs(300),
            refresh_ttl: Duration::from_secs(3600),
        },
        auth_url: Url::parse("https://auth.example.com").unwrap(),
        public_url: Url::parse(public_url).unwrap(),
        tenant_host_domain: tenant_host_domain.map(str::to_owned),
        csrf: Csrf::new(b"0123456789abcdef0123456789abcdef"),
    }
}

async fn home(CurrentUser(claims): CurrentUser) -> String {
    format!("hello {}", claims.name)
}

async fn me(user: CurrentUser) -> Json<Claims> {
    Json(user.0)
}

async fn maybe(user: Option<CurrentUser>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.0.name)
}

async fn admin(user: RequireRole<AtLeastAdmin>) -> String {
    format!("admin {}", user.name)
}

async fn admin_by_hand(user: CurrentUser) -> Result<&'static str, AuthRejection> {
    user.require_role(Role::Owner)?;
    Ok("owner")
}

async fn form_page(csrf: SessionCsrf) -> String {
    csrf.token()
}

#[derive(serde::Deserialize)]
struct ExpenseForm {
    csrf_token: Option<String>,
}

async fn create(csrf: SessionCsrf, Form(form): Form<ExpenseForm>) -> Response {
    match csrf.verify(form.csrf_token.as_deref()) {
        Ok(()) => (StatusCode::CREATED, "created").into_response(),
        Err(e) => e.into_response(),
    }
}

fn app_with(tenant_host_domain: Option<&str>, public_url: &str) -> App {
    let key = key(Algorithm::EdDSA);
    let ctx = context(&key, tenant_host_domain, public_url);
    let routes = Router::new()
        .route("/", get(home))
        .route("/reports", get(home))
        .route("/maybe", get(maybe))
        .route("/admin", get(admin))
        .route("/owner", get(admin_by_hand))
        .route("/expenses/new", get(form_page).post(create))
        .route("/api/v1/me", get(me))
        .route("/api/v1/admin", get(admin))
        .route("/api/v1/expenses/", post(create));
    App {
        router: routes.layer(AuthLayer::new(ctx.clone())),
        signer: signer(&key),
        ctx,
    }
}

fn app() -> App {
    app_with(None, "https://expenses.example.com")
}

impl App {
    fn token(&self, role: Role) -> String {
        self.signer.issue(&input(role)).unwrap()
    }

    fn token_for_tenant(&self, slug: &str) -> String {
        let mut i = input(Role::Member);
        i.tenant_slug = slug.to_owned();
        self.signer.issue(&i).unwrap()
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    async fn get(&self, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    async fn post_form(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (StatusCode, HeaderMap, String) {
        let mut req =
            Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::from(body.to_owned())).unwrap())
            .await
    }
}

fn cookie(token: &str) -> String {
    format!("theme=dark; access_token={token}")
}

fn location(headers: &HeaderMap) -> &str {
    headers.get(header::LOCATION).unwrap().to_str().unwrap()
}

#[tokio::test]
async fn a_valid_cookie_or_bearer_token_reaches_the_handler() {
    let app = app();
    let token = app.token(Role::Member);
    let (status, _, body) = app.get("/", &[("cookie", &cookie(&token))]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "hello Ada Lovelace")
    );
    let (status, _, body) = app
        .get(
            "/api/v1/me",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let claims: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(claims["user_role"], "member");
    assert_eq!(claims["token_type"], "access");
}

#[tokio::test]
async fn html_requests_without_a_valid_token_are_redirected_to_sign_in_with_this_url() {
    let app = app();
    let expected = "https://auth.example.com/login?next=https%3A%2F%2Fexpenses.example.com%2Freports%3Fmonth%3D2026-11%26page%3D2";
    for headers in [
        vec![],
        vec![("cookie", "access_token=not.a.token")],
        vec![("cookie", "access_token=eyJhbGciOiJub25lIn0.e30.")],
        // A spoofed Host never reaches the redirect.
        vec![
            ("host", "evil.example"),
            ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        ],
        vec![
            ("sec-fetch-mode", "navigate"),
            ("x-forwarded-host", "evil.example"),
        ],
    ] {
        let (status, h, _) = app.get("/reports?month=2026-11&page=2", &headers).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
        assert_eq!(location(&h), expected, "{headers:?}");
        assert_eq!(h.get(header::CACHE_CONTROL).unwrap(), "no-store");
    }
}

#[tokio::test]
async fn an_expired_cookie_is_redirected_too() {
    let app = app();
    let mut claims: Claims = serde_json::from_value(claims_json()).unwrap();
    claims.exp = now() - 10;
    let expired = app.signer.issue_claims(&claims).unwrap();
    let (status, h, _) = app.get("/", &[("cookie", &cookie(&expired))]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&h),
        "https://auth.example.com/login?next=https%3A%2F%2Fexpenses.example.com%2F"
    );
}

#[tokio::test]
async fn api_requests_without_a_valid_token_get_401_json() {
    let app = app();
    let login =
        "https://auth.example.com/login?next=https%3A%2F%2Fexpenses.example.com%2Fapi%2Fv1%2Fme";
    for (uri, headers) in [
        ("/api/v1/me", vec![]),
        ("/api/v1/me", vec![("authorization", "Bearer garbage")]),
        ("/api/v1/me", vec![("cookie", "access_token=x.y.z")]),
        ("/reports", vec![("accept", "application/json")]),
        ("/reports", vec![("sec-fetch-mode", "cors")]),
    ] {
        let (status, h, body) = app.get(uri, &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} {headers:?}");
        assert_eq!(
            h.get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer error=\"invalid_token\""
        );
        assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), "application/json");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert!(json["detail"].as_str().unwrap().len() > 10);
        if uri == "/api/v1/me" {
            assert_eq!(json["login_url"], login);
        } else {
            assert_eq!(
                json["login_url"],
                "https://auth.example.com/login?next=https%3A%2F%2Fexpenses.example.com%2Freports"
            );
        }
    }
}

#[tokio::test]
async fn optional_user_is_none_without_a_valid_token() {
    let app = app();
    let (status, _, body) = app.get("/maybe", &[("cookie", "access_token=bad")]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "anonymous"));
    let token = app.token(Role::Viewer);
    let (_, _, body) = app.get("/maybe", &[("cookie", &cookie(&token))]).await;
    assert_eq!(body, "Ada Lovelace");
}

#[tokio::test]
async fn a_planted_bogus_cookie_does_not_hide_the_real_one() {
    let app = app();
    let token = app.token(Role::Member);
    let header = format!("access_token=planted.by.sibling; access_token={token}");
    let (status, _, _) = app.get("/", &[("cookie", &header)]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn role_guards_answer_403_page_or_json() {
    let app = app();
    let member = app.token(Role::Member);
    let admin = app.token(Role::Admin);
    let (status, h, body) = app.get("/admin", &[("cookie", &cookie(&member))]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        h.get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("You do not have permission"));
    let (status, h, body) = app
        .get(
            "/api/v1/admin",
            &[("authorization", &format!("Bearer {member}"))],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["detail"],
        "You do not have permission to perform this action."
    );
    let (status, _, body) = app.get("/admin", &[("cookie", &cookie(&admin))]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "admin Ada Lovelace")
    );
    let (status, _, _) = app.get("/owner", &[("cookie", &cookie(&admin))]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let owner = app.token(Role::Owner);
    let (status, _, _) = app.get("/owner", &[("cookie", &cookie(&owner))]).await;
    assert_eq!(status, StatusCode::OK);
    // Unauthenticated still redirects rather than 403.
    let (status, _, _) = app.get("/admin", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

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

#[tokio::test]
async fn extractors_without_the_layer_fail_closed_not_500() {
    let router = Router::new().route("/", get(home));
    let res = router
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
