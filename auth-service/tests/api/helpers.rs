//! Test harness: a real auth-service on `127.0.0.1:0` with its own database (a
//! [`TestDb`](test_support::TestDb): a fresh SQLite file, or a fresh PostgreSQL database
//! dropped when the test ends), and a browser-like client.

use auth_service::config::{Limit, Rate};
use auth_service::entities::{tenant, user};
use auth_service::mail::{MailSettings, Transport};
use auth_service::tenants::{self, SignupPolicy};
use auth_service::{AppState, Application, Settings};
use sea_orm::{EntityTrait, PaginatorTrait};
use secrecy::SecretString;
use shared_jwt::Role;
use test_support::TestDb;
#[allow(unused_imports)] // Used by the lifecycle tests.
pub use test_support::smtp::{Delivered, SmtpServer};

pub use test_support::Backend;
pub use test_support::http::{browser, csrf_from, location, plain_client};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub address: String,
    pub state: AppState,
    /// A browser: cookie store on, redirects off.
    pub client: reqwest::Client,
    /// The real SMTP server the app sends to ([`TestApp::spawn_with_mail`]).
    pub smtp: Option<SmtpServer>,
    /// The database, and the data directory (keys, secret); removed when the test ends.
    _db: TestDb,
}

/// The defaults, on port 0, with `db` (and its directory for keys and secret).
fn base_settings(db: &TestDb) -> Settings {
    let mut s = Settings::from_lookup(|_| None).expect("defaults are valid");
    s.bind = "127.0.0.1:0".parse().unwrap();
    s.data_dir = db.dir().to_path_buf();
    s.jwt_private_key_file = db.dir().join("jwt-signing-key.pem");
    s.database_url = SecretString::from(db.url.clone());
    s.mail.transport = Transport::Outbox(db.dir().join("outbox"));
    if db.url.starts_with("postgres") {
        // Required with PostgreSQL; on SQLite the development key is generated.
        s.key_encryption_key = Some(test_support::TEST_KEY_ENCRYPTION_KEY.into());
    }
    s
}

/// For tests that send more sign-ins (refreshes, …) from 127.0.0.1 than the per-address
/// rate limits allow, because they test something else: every limit 10,000 per hour.
pub fn raise_rate_limits(s: &mut Settings) {
    for limit in Limit::ALL {
        s.rate_limits.set(
            limit,
            Rate::new(10_000, std::time::Duration::from_secs(3600)),
        );
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, |_| {}).await
    }

    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDb::new(backend, "auth_test").await;
        let mut settings = base_settings(&db);
        tweak(&mut settings);
        let app = Application::build(settings).await.expect("the app builds");
        let address = format!("http://127.0.0.1:{}", app.port());
        let state = app.state().clone();
        tokio::spawn(app.run_until_stopped());
        Self {
            address,
            state,
            client: browser(),
            smtp: None,
            _db: db,
        }
    }

    /// Like [`TestApp::spawn_with`], sending mail to a real SMTP server (aiosmtpd) started
    /// for this test: read it with [`TestApp::mail`].
    pub async fn spawn_with_mail(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Self {
        let smtp = SmtpServer::start().await;
        let url = SecretString::from(smtp.url());
        let mut app = Self::spawn_with(backend, |s| {
            s.mail =
                MailSettings::parse(Some(&url), None, &s.public_url, s.data_dir.join("outbox"))
                    .expect("the test SMTP URL is valid");
            tweak(s);
        })
        .await;
        app.smtp = Some(smtp);
        app
    }

    /// The SMTP server of [`TestApp::spawn_with_mail`].
    pub fn mail(&self) -> &SmtpServer {
        self.smtp.as_ref().expect("spawned with spawn_with_mail")
    }

    /// Mutable, to stop and start the SMTP server.
    pub fn mail_mut(&mut self) -> &mut SmtpServer {
        self.smtp.as_mut().expect("spawned with spawn_with_mail")
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

/// The text of the form-level alert (`<div class="alert …">…</div>`), or "".
pub fn alert(body: &str) -> String {
    body.find("<div class=\"alert")
        .map(|i| body[i..].split("</div>").next().unwrap().to_owned())
        .unwrap_or_default()
}
