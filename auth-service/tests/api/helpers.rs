//! Test harness: a real auth-service on `127.0.0.1:0` with its own database — a fresh
//! SQLite file in a temporary directory, and (when `TEST_DATABASE_URL` is set) a fresh
//! PostgreSQL database created through that admin URL and dropped afterwards.

use std::future::Future;

use auth_service::entities::{tenant, user};
use auth_service::tenants::{self, SignupPolicy};
use auth_service::{AppState, Application, Settings};
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};
use secrecy::SecretString;
use shared_jwt::Role;

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs `scenario` on SQLite, and on PostgreSQL when `TEST_DATABASE_URL` is set.
pub async fn on_each_backend<F, Fut>(scenario: F)
where
    F: Fn(Backend) -> Fut,
    Fut: Future<Output = ()>,
{
    scenario(Backend::Sqlite).await;
    if std::env::var("TEST_DATABASE_URL").is_ok_and(|v| !v.is_empty()) {
        scenario(Backend::Postgres).await;
    }
}

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    /// A browser: cookie store on, redirects off.
    pub client: reqwest::Client,
    /// Holds the SQLite file, keys and secret until the test ends.
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

fn base_settings(dir: &std::path::Path) -> Settings {
    let mut s = Settings::from_lookup(|_| None).expect("defaults are valid");
    s.bind = "127.0.0.1:0".parse().unwrap();
    s.data_dir = dir.to_path_buf();
    s.jwt_private_key_file = dir.join("jwt-signing-key.pem");
    s.database_url = SecretString::from(format!("sqlite://{}/auth.db?mode=rwc", dir.display()));
    s
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = base_settings(dir.path());
        let mut pg = None;
        if backend == Backend::Postgres {
            let admin = std::env::var("TEST_DATABASE_URL").unwrap();
            let name = format!("auth_test_{}", uuid::Uuid::new_v4().simple());
            let conn = Database::connect(&admin).await.unwrap();
            conn.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .unwrap();
            let mut url = url::Url::parse(&admin).unwrap();
            url.set_path(&format!("/{name}"));
            settings.database_url = SecretString::from(url.to_string());
            pg = Some((admin, name));
        }
        tweak(&mut settings);
        Self::start(settings, dir, pg).await
    }

    async fn start(
        settings: Settings,
        dir: tempfile::TempDir,
        pg: Option<(String, String)>,
    ) -> Self {
        let app = Application::build(settings).await.expect("the app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped());
        Self {
            address,
            state,
            client: browser(),
            _dir: dir,
            pg,
        }
    }

    /// Drops the PostgreSQL database (best effort).
    pub async fn cleanup(mut self) {
        if let Some((admin, name)) = self.pg.take() {
            drop_database(&admin, &name).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// The CSRF token of the form at `path` (creating this browser's pre-session).
    pub async fn csrf_token(&self, path: &str) -> String {
        let body = self.get(path).await.text().await.unwrap();
        csrf_from(&body)
    }

    /// Signs in through the form like a browser; returns the POST's response.
    pub async fn login(
        &self,
        tenant: &str,
        email: &str,
        password: &str,
        next: &str,
    ) -> reqwest::Response {
        let token = self.csrf_token("/login").await;
        self.post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("tenant", tenant),
                ("email", email),
                ("password", password),
                ("next", next),
            ],
        )
        .await
    }

    /// Signs up through the form; `org` joins, `new_org` creates.
    pub async fn register(
        &self,
        email: &str,
        org: &str,
        new_org: &str,
        next: &str,
    ) -> reqwest::Response {
        let token = self.csrf_token("/register").await;
        self.post_form(
            "/register",
            &[
                ("csrf_token", &token),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("email", email),
                ("password", PASSWORD),
                ("password_confirm", PASSWORD),
                ("organization", org),
                ("new_organization", new_org),
                ("next", next),
            ],
        )
        .await
    }

    pub async fn tenant(&self, slug: &str, policy: SignupPolicy, max_users: i32) -> tenant::Model {
        tenants::create_tenant(
            &self.state.db,
            &format!("Org {slug}"),
            slug,
            policy,
            max_users,
        )
        .await
        .unwrap()
    }

    pub async fn user(&self, tenant: &tenant::Model, email: &str, role: Role) -> user::Model {
        auth_service::users::create_user(
            &self.state.db,
            tenant.id,
            email,
            PASSWORD,
            "Grace",
            "Hopper",
            role,
        )
        .await
        .unwrap()
    }

    /// An open tenant `acme` with member `ada@acme.test`.
    pub async fn acme(&self) -> (tenant::Model, user::Model) {
        let t = self.tenant("acme", SignupPolicy::Open, 10).await;
        let u = self.user(&t, "ada@acme.test", Role::Member).await;
        (t, u)
    }

    pub async fn count_users(&self) -> u64 {
        user::Entity::find().count(&self.state.db).await.unwrap()
    }

    pub async fn count_tenants(&self) -> u64 {
        tenant::Entity::find().count(&self.state.db).await.unwrap()
    }

    pub async fn count_events(&self, kind: &str) -> u64 {
        use sea_orm::{ColumnTrait, QueryFilter};
        auth_service::entities::auth_event::Entity::find()
            .filter(auth_service::entities::auth_event::Column::Kind.eq(kind))
            .count(&self.state.db)
            .await
            .unwrap()
    }
}

async fn drop_database(admin: &str, name: &str) {
    if let Ok(conn) = Database::connect(admin).await {
        let _ = conn
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .await;
    }
}

impl Drop for TestApp {
    /// A test that panicked never reached `cleanup`: drop its database anyway, from a
    /// thread of its own (no async in `Drop`, and the test's runtime may be unwinding).
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let _ = std::thread::spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(drop_database(&admin, &name));
                }
            })
            .join();
        }
    }
}

pub fn csrf_from(body: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = body.find(marker).expect("the page has a CSRF field") + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

/// Every `Set-Cookie` of a response, parsed.
pub fn set_cookies(res: &reqwest::Response) -> Vec<cookie::Cookie<'static>> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| cookie::Cookie::parse(v.to_str().unwrap().to_owned()).unwrap())
        .collect()
}

pub fn find_cookie(res: &reqwest::Response, name: &str) -> Option<cookie::Cookie<'static>> {
    set_cookies(res).into_iter().find(|c| c.name() == name)
}

/// The raw `Set-Cookie` line for `name`.
pub fn raw_cookie(res: &reqwest::Response, name: &str) -> Option<String> {
    res.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
}

pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// The text of the form-level alert (`<div class="alert …">…</div>`), or "".
pub fn alert(body: &str) -> String {
    body.find("<div class=\"alert")
        .map(|i| body[i..].split("</div>").next().unwrap().to_owned())
        .unwrap_or_default()
}
