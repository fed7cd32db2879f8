//! Test harness: a real expense-service on port 0 with its own database (a SQLite file in a
//! tempdir, or a fresh PostgreSQL database and a fresh non-owner role when TEST_DATABASE_URL
//! is set: [`TestDb::with_app_role`]), tokens minted with shared-jwt's `Signer`, and a plain
//! HTTP client.

use std::collections::HashMap;
use std::time::Duration;

use expense_service::config::Settings;
use expense_service::startup::Application;
use reqwest::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use shared_jwt::{
    AccessTokenInput, Algorithm, Claims, Csrf, KeySet, KeySource, Role, Signer, SigningKey,
};
use test_support::http::{client_builder, resolving};
use tokio::sync::oneshot;
use uuid::Uuid;

pub use test_support::http::location;
pub use test_support::{Backend, TestDb, settings_lookup};

pub const CSRF_SECRET: &str = "test-csrf-secret-0123456789abcdef0123456789abcdef";
pub const AUTH_URL: &str = "http://auth.example.test";
pub const PUBLIC_URL: &str = "http://expenses.example.test";
pub const AUDIENCE: &str = "example.test";

/// The scope of an owner of a new tenant, for repository-level tests (no token, no server).
pub fn new_tenant_scope() -> expense_service::tenant::TenantScope {
    let id = Uuid::new_v4();
    expense_service::tenant::TenantScope::of(&shared_jwt::CurrentUser::from(Claims {
        iss: "test".into(),
        aud: "test".into(),
        exp: i64::MAX,
        iat: 0,
        nbf: 0,
        jti: "j".into(),
        sub: id,
        user_id: id,
        token_type: "access".into(),
        tenant_id: Uuid::new_v4(),
        tenant_slug: "t".into(),
        user_role: Role::Owner,
        email: "o@t.test".into(),
        name: "Owner".into(),
        email_verified: true,
        amr: Vec::new(),
        sid: None,
    }))
}

/// A fresh database and a role that owns nothing (row-level security applies to it).
pub async fn test_db(backend: Backend) -> TestDb {
    TestDb::with_app_role(backend, "exp_test").await
}

/// An organization.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: Uuid,
    pub slug: String,
}

impl Tenant {
    pub fn new(slug: &str) -> Self {
        Tenant {
            id: Uuid::new_v4(),
            slug: slug.to_owned(),
        }
    }
}

/// A signed-in user: a token and the session's CSRF token.
#[derive(Clone, Debug)]
pub struct User {
    pub id: Uuid,
    pub role: Role,
    pub token: String,
    pub csrf: String,
}

/// A running expense-service.
pub struct TestApp {
    pub port: u16,
    pub base: String,
    pub client: reqwest::Client,
    pub signer: Signer,
    /// Kept alive (and dropped, i.e. removed) with the app; `None` for a replica.
    _db: Option<TestDb>,
    /// The environment it started with and its static keys (for [`TestApp::replica`]).
    vars: HashMap<String, String>,
    keys: Option<KeySet>,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Starts the service with extra environment variables.
    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Self {
        Self::spawn_keyed(backend, extra, false).await
    }

    /// Starts the service fetching its keys from a JWKS served by the test (`JWKS_URL`).
    pub async fn spawn_fetching_jwks(backend: Backend) -> Self {
        Self::spawn_keyed(backend, &[], true).await
    }

    async fn spawn_keyed(backend: Backend, extra: &[(&str, &str)], fetch_jwks: bool) -> Self {
        let db = test_db(backend).await;
        let key = SigningKey::generate(Algorithm::EdDSA).expect("EdDSA key");
        let mut keys = KeySet::new();
        keys.insert(key.verifying_key());
        let jwks_url = if fetch_jwks {
            let jwks = keys.to_jwks();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
            let router = axum::Router::new().route(
                "/jwks.json",
                axum::routing::get(move || async move { axum::Json(jwks) }),
            );
            tokio::spawn(async move { axum::serve(listener, router).await });
            Some(url)
        } else {
            None
        };
        let signer = Signer::new(key, AUTH_URL, AUDIENCE, Duration::from_secs(300));
        let mut vars: HashMap<String, String> = [
            ("BIND", "127.0.0.1:0"),
            ("AUTH_URL", AUTH_URL),
            ("PUBLIC_URL", PUBLIC_URL),
            ("COOKIE_DOMAIN", AUDIENCE),
            ("CSRF_SECRET", CSRF_SECRET),
            // The key source is replaced below; this keeps start-up from fetching a JWKS.
            ("JWKS_URL", "http://127.0.0.1:9/unused"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        vars.insert("DATABASE_URL".into(), db.app_url.clone());
        vars.insert("MIGRATION_DATABASE_URL".into(), db.url.clone());
        if let Some(role) = &db.app_role {
            vars.insert("APP_DB_ROLE".into(), role.clone());
        }
        for (k, v) in extra {
            vars.insert((*k).to_owned(), (*v).to_owned());
        }
        if let Some(url) = jwks_url {
            vars.insert("JWKS_URL".into(), url);
        }
        let keys = (!fetch_jwks).then_some(keys);
        Self::start(vars, keys, signer, Some(db)).await
    }

    /// Another instance of the service on the same database with the same keys (a second
    /// replica: its own memory, its own port). Stop or drop it before `self`, which owns the
    /// database.
    pub async fn replica(&self) -> TestApp {
        Self::start(
            self.vars.clone(),
            self.keys.clone(),
            self.signer.clone(),
            None,
        )
        .await
    }

    async fn start(
        vars: HashMap<String, String>,
        keys: Option<KeySet>,
        signer: Signer,
        db: Option<TestDb>,
    ) -> TestApp {
        let mut settings = Settings::from_lookup(settings_lookup(vars.clone())).expect("settings");
        if let Some(keys) = &keys {
            settings.auth.key_source = KeySource::Static(keys.clone());
        }
        let app = Application::build(settings)
            .await
            .expect("application builds");
        let port = app.port();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            app.run_until(async {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        let tenants = ["acme.example.test", "globex.example.test"].map(String::from);
        let client = resolving(client_builder(), &tenants, port)
            .build()
            .expect("client");
        TestApp {
            port,
            base: format!("http://127.0.0.1:{port}"),
            client,
            signer,
            _db: db,
            vars,
            keys,
            shutdown: Some(tx),
            server: Some(server),
        }
    }

    /// Stops the server gracefully (in-flight requests finish, the pool closes).
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }

    /// A user with a fresh session.
    pub fn user(&self, tenant: &Tenant, role: Role, name: &str) -> User {
        let id = Uuid::new_v4();
        let sid = Uuid::new_v4();
        let input = AccessTokenInput {
            user_id: id,
            tenant_id: tenant.id,
            tenant_slug: tenant.slug.clone(),
            role,
            email: format!(
                "{}@{}.test",
                name.to_lowercase().replace(' ', "."),
                tenant.slug
            ),
            name: name.to_owned(),
            email_verified: true,
            session_id: Some(sid),
        };
        let token = self.signer.issue(&input).expect("token");
        let claims = self.claims_for(&input);
        let csrf = Csrf::new(CSRF_SECRET.as_bytes()).token_for(&claims);
        User {
            id,
            role,
            token,
            csrf,
        }
    }

    /// The claims `issue` puts in a token (for the CSRF token, which binds to `sid`).
    pub fn claims_for(&self, input: &AccessTokenInput) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            iss: AUTH_URL.into(),
            aud: AUDIENCE.into(),
            exp: now + 300,
            iat: now,
            nbf: now,
            jti: Uuid::new_v4().to_string(),
            sub: input.user_id,
            user_id: input.user_id,
            token_type: "access".into(),
            tenant_id: input.tenant_id,
            tenant_slug: input.tenant_slug.clone(),
            user_role: input.role,
            email: input.email.clone(),
            name: input.name.clone(),
            email_verified: true,
            amr: Vec::new(),
            sid: input.session_id,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn cookie(user: &User) -> HeaderValue {
        HeaderValue::from_str(&format!("access_token={}", user.token)).expect("cookie header")
    }

    /// A browser-like GET (cookie when signed in).
    pub async fn get(&self, path: &str, user: Option<&User>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(u) = user {
            req = req.header(COOKIE, Self::cookie(u));
        }
        req.send().await.expect("GET")
    }

    /// A browser-like form POST: cookie, same-origin `Origin`, and the session's CSRF token.
    pub async fn post_form(
        &self,
        path: &str,
        user: &User,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        let mut all: Vec<(&str, &str)> = vec![("csrf_token", user.csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_form_raw(path, user, &all, Some(PUBLIC_URL)).await
    }

    /// A form POST with exactly these fields and `Origin` (or none).
    pub async fn post_form_raw(
        &self,
        path: &str,
        user: &User,
        fields: &[(&str, &str)],
        origin: Option<&str>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(path))
            .header(COOKIE, Self::cookie(user))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).expect("form"));
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send().await.expect("POST form")
    }

    /// An API call with `Authorization: Bearer`.
    pub async fn api(
        &self,
        method: Method,
        path: &str,
        user: Option<&User>,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(u) = user {
            req = req.header(AUTHORIZATION, format!("Bearer {}", u.token));
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("API call")
    }

    /// An API call authenticated by the cookie, with optional extra headers.
    pub async fn api_cookie(
        &self,
        method: Method,
        path: &str,
        user: &User,
        body: Option<Value>,
        headers: HeaderMap,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .request(method, self.url(path))
            .header(COOKIE, Self::cookie(user))
            .headers(headers);
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.expect("API call")
    }

    /// Creates a department through the API (as an admin/owner) and returns its id.
    pub async fn department(
        &self,
        admin: &User,
        name: &str,
        budget: Option<(&str, &str)>,
    ) -> String {
        let mut body = serde_json::json!({ "name": name });
        if let Some((amount, currency)) = budget {
            body["monthly_budget"] = amount.into();
            body["budget_currency"] = currency.into();
        }
        let res = self
            .api(
                Method::POST,
                "/api/v1/departments/",
                Some(admin),
                Some(body),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "department created");
        let json: Value = res.json().await.expect("json");
        json["id"].as_str().expect("id").to_owned()
    }

    /// Files an expense through the API and returns it.
    pub async fn expense(
        &self,
        user: &User,
        department: &str,
        amount: &str,
        description: &str,
    ) -> Value {
        let body = serde_json::json!({
            "amount": amount,
            "currency": "EUR",
            "description": description,
            "spent_on": today(),
            "department_id": department,
        });
        let res = self
            .api(Method::POST, "/api/v1/expenses/", Some(user), Some(body))
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "expense created");
        res.json().await.expect("json")
    }
}

pub fn today() -> String {
    chrono::Utc::now().date_naive().to_string()
}

pub fn this_month() -> String {
    chrono::Utc::now().date_naive().format("%Y-%m").to_string()
}
