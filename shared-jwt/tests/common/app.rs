//! A one-service router behind `AuthLayer`, and request helpers, for the router tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use super::*;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use http_body_util::BodyExt;
use shared_jwt::{
    Algorithm, AtLeastAdmin, AuthContext, AuthLayer, AuthRejection, Claims, CookieSettings, Csrf,
    CurrentUser, RequireRole, Role, SessionCsrf, Signer, SigningKey,
};
use tower::ServiceExt;
use url::Url;

pub struct App {
    pub router: Router,
    pub signer: Signer,
    pub ctx: AuthContext,
}

pub fn context(
    key: &SigningKey,
    tenant_host_domain: Option<&str>,
    public_url: &str,
) -> AuthContext {
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

pub async fn home(CurrentUser(claims): CurrentUser) -> String {
    format!("hello {}", claims.name)
}

pub async fn me(user: CurrentUser) -> Json<Arc<Claims>> {
    Json(user.0)
}

pub async fn maybe(user: Option<CurrentUser>) -> String {
    user.map_or_else(|| "anonymous".to_owned(), |u| u.name.clone())
}

pub async fn admin(user: RequireRole<AtLeastAdmin>) -> String {
    format!("admin {}", user.name)
}

pub async fn admin_by_hand(user: CurrentUser) -> Result<&'static str, AuthRejection> {
    user.require_role(Role::Owner)?;
    Ok("owner")
}

pub async fn form_page(csrf: SessionCsrf) -> String {
    csrf.token()
}

#[derive(serde::Deserialize)]
pub struct ExpenseForm {
    pub csrf_token: Option<String>,
}

pub async fn create(csrf: SessionCsrf, Form(form): Form<ExpenseForm>) -> Response {
    match csrf.verify(form.csrf_token.as_deref()) {
        Ok(()) => (StatusCode::CREATED, "created").into_response(),
        Err(e) => e.into_response(),
    }
}

pub fn app_with(tenant_host_domain: Option<&str>, public_url: &str) -> App {
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

pub fn app() -> App {
    app_with(None, "https://expenses.example.com")
}

impl App {
    pub fn token(&self, role: Role) -> String {
        self.signer.issue(&input(role)).unwrap()
    }

    pub fn token_for_tenant(&self, slug: &str) -> String {
        let mut i = input(Role::Member);
        i.tenant_slug = slug.to_owned();
        self.signer.issue(&i).unwrap()
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, HeaderMap, String) {
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    pub async fn get(
        &self,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, HeaderMap, String) {
        let mut req = Request::get(uri);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    pub async fn post_form(
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

pub fn cookie(token: &str) -> String {
    format!("theme=dark; access_token={token}")
}

pub fn location(headers: &HeaderMap) -> &str {
    headers.get(header::LOCATION).unwrap().to_str().unwrap()
}
