//! The two-service harness: real auth-service and expense-service on loopback ports, public
//! URLs on `*.example.test` (resolved to 127.0.0.1 by each client), and browsers with their own
//! cookie jars.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::sync::Arc;

use reqwest::cookie::Jar;
use reqwest::{Client, StatusCode};
use serde_json::Value;
use shared_jwt::Role;

use crate::helpers::{Backend, TestDb, location, settings_lookup};

pub const DOMAIN: &str = "example.test";
const PASSWORD: &str = "plum-orbit-cascade-41";

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Both services, running on the test's runtime (they stop with it).
pub struct Stack {
    auth_port: u16,
    exp_port: u16,
    /// auth-service's state: its database (to add users) and signer (to craft tokens).
    pub auth: auth_service::AppState,
    tenant_from_host: bool,
    _auth_db: TestDb,
    _exp_db: TestDb,
    _dir: tempfile::TempDir,
}

impl Stack {
    pub async fn start(backend: Backend, tenant_from_host: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (auth_db, exp_db) = (TestDb::new(backend).await, TestDb::new(backend).await);
        let (auth_port, exp_port) = (free_port(), free_port());
        let auth_url = format!("http://auth.{DOMAIN}:{auth_port}");
        let vars: HashMap<String, String> = [
            ("BIND", format!("127.0.0.1:{auth_port}")),
            ("PUBLIC_URL", auth_url.clone()),
            ("DATABASE_URL", auth_db.owner_url.clone()),
            ("COOKIE_DOMAIN", DOMAIN.into()),
            ("COOKIE_SECURE", "false".into()),
            ("DATA_DIR", dir.path().display().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let settings =
            auth_service::Settings::from_lookup(settings_lookup(vars)).expect("auth settings");
        let app = auth_service::Application::build(settings)
            .await
            .expect("auth-service builds");
        let auth = app.state().clone();
        tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });

        let public = if tenant_from_host {
            format!("http://acme.{DOMAIN}:{exp_port}")
        } else {
            format!("http://expenses.{DOMAIN}:{exp_port}")
        };
        let mut vars: HashMap<String, String> = [
            ("BIND", format!("127.0.0.1:{exp_port}")),
            ("PUBLIC_URL", public),
            ("AUTH_URL", auth_url),
            // Fetched now from the running auth-service, like production.
            (
                "JWKS_URL",
                format!("http://127.0.0.1:{auth_port}/.well-known/jwks.json"),
            ),
            ("DATABASE_URL", exp_db.app_url.clone()),
            ("MIGRATION_DATABASE_URL", exp_db.owner_url.clone()),
            ("COOKIE_DOMAIN", DOMAIN.into()),
            ("COOKIE_SECURE", "false".into()),
            ("TENANT_FROM_HOST", tenant_from_host.to_string()),
            ("JWT_LEEWAY", "0s".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(role) = &exp_db.app_role {
            vars.insert("APP_DB_ROLE".into(), role.clone());
        }
        let settings = expense_service::config::Settings::from_lookup(settings_lookup(vars))
            .expect("settings");
        let app = expense_service::startup::Application::build(settings)
            .await
            .expect("expense-service builds");
        tokio::spawn(async move {
            let _ = app.run_until_stopped().await;
        });
        Stack {
            auth_port,
            exp_port,
            auth,
            tenant_from_host,
            _auth_db: auth_db,
            _exp_db: exp_db,
            _dir: dir,
        }
    }

    pub fn auth_url(&self, path: &str) -> String {
        format!("http://auth.{DOMAIN}:{}{path}", self.auth_port)
    }

    /// expense-service as seen on `host` (`expenses`, or a tenant slug).
    pub fn exp_url(&self, host: &str, path: &str) -> String {
        format!("http://{host}.{DOMAIN}:{}{path}", self.exp_port)
    }

    pub fn home_host(&self) -> &'static str {
        if self.tenant_from_host {
            "acme"
        } else {
            "expenses"
        }
    }

    /// A browser: its own cookie jar, names resolved to loopback, no automatic redirects.
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(Jar::default());
        let auth = SocketAddr::from(([127, 0, 0, 1], self.auth_port));
        let exp = SocketAddr::from(([127, 0, 0, 1], self.exp_port));
        let client = Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&format!("auth.{DOMAIN}"), auth)
            .resolve(&format!("expenses.{DOMAIN}"), exp)
            .resolve(&format!("acme.{DOMAIN}"), exp)
            .resolve(&format!("globex.{DOMAIN}"), exp)
            .build()
            .unwrap();
        Browser { client, jar }
    }

    /// An admin-created user (auth-service's own domain function), e.g. a second admin.
    pub async fn add_user(&self, tenant_id: uuid::Uuid, email: &str, first: &str, role: Role) {
        auth_service::users::create_user(
            &self.auth.db,
            tenant_id,
            email,
            PASSWORD,
            first,
            "Test",
            role,
        )
        .await
        .expect("user created");
    }
}

/// One browser: a cookie-keeping client that does not follow redirects by itself.
pub struct Browser {
    client: Client,
    /// The cookie jar (tests inspect and replace cookies).
    pub jar: Arc<Jar>,
}

/// The `value` of the input named `name` in `html`.
pub fn hidden_value(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let tag_start = html[..at].rfind('<').unwrap();
    let tag_end = at + html[at..].find('>').unwrap();
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"").unwrap() + "value=\"".len();
    tag[v..v + tag[v..].find('"').unwrap()].to_owned()
}

impl Browser {
    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.client.get(url).send().await.unwrap()
    }

    /// Follows 303s from `url` (at most 5) and returns the final response and URL.
    pub async fn follow(&self, url: &str) -> (reqwest::Response, String) {
        let mut url = url.to_owned();
        for _ in 0..5 {
            let res = self.get(&url).await;
            if res.status() != StatusCode::SEE_OTHER {
                return (res, url);
            }
            let next = location(&res);
            url = if next.starts_with('/') {
                let base = reqwest::Url::parse(&url).unwrap();
                base.join(&next).unwrap().to_string()
            } else {
                next
            };
        }
        panic!("redirect loop from {url}");
    }

    pub async fn post_form(
        &self,
        url: &str,
        origin: &str,
        fields: &[(&str, &str)],
    ) -> reqwest::Response {
        self.client
            .post(url)
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(fields).unwrap())
            .send()
            .await
            .unwrap()
    }

    /// Signs up on auth-service creating `organization`, coming from `next`.
    pub async fn sign_up(
        &self,
        stack: &Stack,
        next: &str,
        first: &str,
        email: &str,
        organization: &str,
    ) -> reqwest::Response {
        let form_url = stack.auth_url(&format!("/register?next={}", urlencode(next)));
        let html = self.get(&form_url).await.text().await.unwrap();
        let csrf = hidden_value(&html, "csrf_token");
        self.post_form(
            &stack.auth_url("/register"),
            &stack.auth_url(""),
            &[
                ("csrf_token", &csrf),
                ("first_name", first),
                ("last_name", "Test"),
                ("email", email),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("organization", ""),
                ("new_organization", organization),
                ("next", next),
            ],
        )
        .await
    }

    /// Signs in on auth-service, coming from `next`.
    pub async fn sign_in(
        &self,
        stack: &Stack,
        next: &str,
        tenant: &str,
        email: &str,
    ) -> reqwest::Response {
        let html = self
            .get(&stack.auth_url(&format!("/login?next={}", urlencode(next))))
            .await
            .text()
            .await
            .unwrap();
        let csrf = hidden_value(&html, "csrf_token");
        self.post_form(
            &stack.auth_url("/login"),
            &stack.auth_url(""),
            &[
                ("csrf_token", &csrf),
                ("tenant", tenant),
                ("email", email),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await
    }

    /// `GET /api/v1/me` with the cookie.
    pub async fn me(&self, stack: &Stack, host: &str) -> Value {
        let res = self.get(&stack.exp_url(host, "/api/v1/me")).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }

    /// A cookie-authenticated API call the way a same-origin script makes it.
    pub async fn api(
        &self,
        stack: &Stack,
        host: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let csrf = self.me(stack, host).await["csrf_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut req = self
            .client
            .request(method, stack.exp_url(host, path))
            .header("x-csrf-token", csrf)
            .header("origin", stack.exp_url(host, ""));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap()
    }
}

pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
