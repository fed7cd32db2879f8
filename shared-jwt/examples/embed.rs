//! A sibling service protected by shared-jwt, in about twenty lines.
//! Built by `cargo test`; run with `cargo run -p shared-jwt --example embed` (needs auth-service's
//! JWKS at `AUTH_URL`, by default http://localhost:8000/.well-known/jwks.json).

use std::sync::Arc;

use axum::{Json, Router, routing::get};
use shared_jwt::{
    AtLeastAdmin, AuthContext, AuthLayer, AuthSettings, Claims, CurrentUser, RequireRole,
};

async fn home(user: Option<CurrentUser>) -> String {
    user.map_or("hello, stranger".into(), |u| format!("hello, {}", u.name))
}

async fn me(CurrentUser(claims): CurrentUser) -> Json<Arc<Claims>> {
    Json(claims) // no valid token: 303 to sign-in for pages, 401 JSON under /api/
}

async fn admin(user: RequireRole<AtLeastAdmin>) -> String {
    format!("{} manages {}", user.name, user.tenant_slug) // lower roles: 403
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let settings = AuthSettings::from_env()?; // one clear line per bad variable
    let auth = AuthContext::from_settings(settings).await?; // fetches the JWKS
    let app = Router::new()
        .route("/", get(home))
        .route("/admin", get(admin))
        .route("/api/v1/me", get(me))
        .layer(AuthLayer::new(auth)); // resolves the cookie or bearer token; never fails
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8001").await?;
    axum::serve(listener, app).await?;
    Ok(())
}
