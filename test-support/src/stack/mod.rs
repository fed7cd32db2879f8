//! The two services side by side, as users meet them: real auth-service and expense-service
//! on loopback TCP ports, public URLs on `*.example.test` hosts (clients map those names to
//! 127.0.0.1), `COOKIE_DOMAIN=example.test`, and browsers with cookie jars of their own.
//! expense-service fetches its keys from auth-service's JWKS at start-up, like production.

mod browser;

use std::sync::Arc;

use reqwest::cookie::Jar;
use shared_jwt::Role;

pub use browser::Browser;

use crate::http::{client_builder, free_port, resolving};
use crate::{Backend, TestDb, settings_lookup};

/// The parent domain every test host lives under.
pub const DOMAIN: &str = "example.test";
/// The tenant whose host is expense-service's `PUBLIC_URL` with `TENANT_FROM_HOST`: the
/// organization `auth-service demo` creates ([`Stack::seed_demo`]).
pub const HOME_TENANT: &str = auth_service::demo::TENANT_SLUG;
/// The password of the users the stack helpers create and sign in.
pub const PASSWORD: &str = "plum-orbit-cascade-41";

/// How the two services are reached.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// Port clients use for the auth host (auth-service itself, or a proxy in front).
    pub auth_public: u16,
    /// Port clients use for expense-service's hosts.
    pub expense_public: u16,
    /// Where auth-service listens.
    pub auth_bind: u16,
    /// Where expense-service listens.
    pub expense_bind: u16,
}

impl Ports {
    /// Both services reached directly.
    pub fn direct() -> Self {
        let (auth, expense) = (free_port(), free_port());
        Self {
            auth_public: auth,
            expense_public: expense,
            auth_bind: auth,
            expense_bind: expense,
        }
    }
}

/// What a test changes in the stack.
#[derive(Debug)]
pub struct StackOptions<'a> {
    pub backend: Backend,
    /// expense-service's `TENANT_FROM_HOST`; its `PUBLIC_URL` is then the
    /// [`HOME_TENANT`] host instead of `expenses.example.test`.
    pub tenant_from_host: bool,
    /// `None`: both reached directly.
    pub ports: Option<Ports>,
    /// Extra auth-service variables (e.g. `ACCESS_TOKEN_TTL`).
    pub auth_env: &'a [(&'a str, &'a str)],
    /// Extra expense-service variables.
    pub expense_env: &'a [(&'a str, &'a str)],
}

impl Default for StackOptions<'_> {
    fn default() -> Self {
        Self {
            backend: Backend::Sqlite,
            tenant_from_host: false,
            ports: None,
            auth_env: &[],
            expense_env: &[],
        }
    }
}

/// Both services, running on the test's runtime (they stop with it); their databases are
/// removed when the stack is dropped.
pub struct Stack {
    pub ports: Ports,
    /// auth-service's state: its database (to add users) and signer (to craft tokens).
    pub auth: auth_service::AppState,
    /// The real SMTP server auth-service sends its mail to (reset links, invitations).
    pub smtp: crate::smtp::SmtpServer,
    tenant_from_host: bool,
    _auth_db: TestDb,
    _exp_db: TestDb,
}

fn owned(vars: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
    vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
}

impl Stack {
    /// Both services reached directly, on `backend`.
    pub async fn start(backend: Backend, tenant_from_host: bool) -> Self {
        Self::start_with(StackOptions {
            backend,
            tenant_from_host,
            ..StackOptions::default()
        })
        .await
    }

    pub async fn start_with(options: StackOptions<'_>) -> Self {
        let ports = options.ports.unwrap_or_else(Ports::direct);
        let auth_db = TestDb::new(options.backend, "auth_test").await;
        let exp_db = TestDb::with_app_role(options.backend, "exp_test").await;
        let auth_url = format!("http://auth.{DOMAIN}:{}", ports.auth_public);
        let smtp = crate::smtp::SmtpServer::start().await;

        let mut vars: Vec<(String, String)> = [
            ("BIND", format!("127.0.0.1:{}", ports.auth_bind)),
            ("PUBLIC_URL", auth_url.clone()),
            ("DATABASE_URL", auth_db.url.clone()),
            ("COOKIE_DOMAIN", DOMAIN.into()),
            ("COOKIE_SECURE", "false".into()),
            ("DATA_DIR", auth_db.dir().display().to_string()),
            // A proxy in front (nginx) connects from loopback.
            ("TRUSTED_PROXIES", "127.0.0.1/32".into()),
            ("SMTP_URL", smtp.url()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if options.backend == Backend::Postgres {
            // Required with PostgreSQL (SQLite generates one under DATA_DIR).
            vars.push((
                "KEY_ENCRYPTION_KEY".into(),
                crate::TEST_KEY_ENCRYPTION_KEY.into(),
            ));
        }
        vars.extend(owned(options.auth_env));
        let settings = auth_service::Settings::from_lookup(settings_lookup(vars))
            .expect("auth-service settings");
        let app = auth_service::Application::build(settings)
            .await
            .expect("auth-service builds");
        let auth = app.state().clone();
        tokio::spawn(app.run_until_stopped());

        let home = if options.tenant_from_host {
            HOME_TENANT
        } else {
            "expenses"
        };
        let mut vars: Vec<(String, String)> = [
            ("BIND", format!("127.0.0.1:{}", ports.expense_bind)),
            (
                "PUBLIC_URL",
                format!("http://{home}.{DOMAIN}:{}", ports.expense_public),
            ),
            ("AUTH_URL", auth_url),
            // Server to server: the JWKS comes from the loopback address directly.
            (
                "JWKS_URL",
                format!("http://127.0.0.1:{}/.well-known/jwks.json", ports.auth_bind),
            ),
            ("DATABASE_URL", exp_db.app_url.clone()),
            ("MIGRATION_DATABASE_URL", exp_db.url.clone()),
            ("COOKIE_DOMAIN", DOMAIN.into()),
            ("COOKIE_SECURE", "false".into()),
            ("TENANT_FROM_HOST", options.tenant_from_host.to_string()),
            ("JWT_LEEWAY", "0s".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        if let Some(role) = &exp_db.app_role {
            vars.push(("APP_DB_ROLE".into(), role.clone()));
        }
        vars.extend(owned(options.expense_env));
        let settings = expense_service::config::Settings::from_lookup(settings_lookup(vars))
            .expect("expense-service settings");
        let app = expense_service::startup::Application::build(settings)
            .await
            .expect("expense-service builds");
        tokio::spawn(app.run_until_stopped());

        Stack {
            ports,
            auth,
            smtp,
            tenant_from_host: options.tenant_from_host,
            _auth_db: auth_db,
            _exp_db: exp_db,
        }
    }

    /// Seeds the demo organization exactly as `auth-service demo` does, and returns the
    /// owner's e-mail and password as that command prints them (the line
    /// `  owner   owner@acme.test / <password>`), so a sign-in proves the printout works.
    pub async fn seed_demo(&self) -> (String, String) {
        auth_service::demo::seed(&self.auth.db)
            .await
            .expect("the demo organization");
        let lines = auth_service::demo::lines();
        let line = lines
            .iter()
            .find(|l| l.trim_start().starts_with("owner "))
            .expect("demo prints an owner line");
        let (email, password) = line
            .trim()
            .trim_start_matches("owner")
            .trim()
            .split_once(" / ")
            .expect("`email / password`");
        (email.to_owned(), password.to_owned())
    }

    /// `http://auth.example.test:{port}{path}` as clients see it.
    pub fn auth_url(&self, path: &str) -> String {
        format!("http://auth.{DOMAIN}:{}{path}", self.ports.auth_public)
    }

    /// expense-service as clients see it on `host` (`expenses`, or a tenant slug).
    pub fn exp_url(&self, host: &str, path: &str) -> String {
        format!("http://{host}.{DOMAIN}:{}{path}", self.ports.expense_public)
    }

    /// The host of expense-service's `PUBLIC_URL`.
    pub fn home_host(&self) -> &'static str {
        if self.tenant_from_host {
            HOME_TENANT
        } else {
            "expenses"
        }
    }

    /// A browser: its own cookie jar, the test hosts resolved to the public ports, no
    /// automatic redirects.
    pub fn browser(&self) -> Browser {
        let jar = Arc::new(Jar::default());
        let builder = resolving(
            client_builder().cookie_provider(jar.clone()),
            &[format!("auth.{DOMAIN}")],
            self.ports.auth_public,
        );
        let tenants = ["expenses", HOME_TENANT, "globex"].map(|h| format!("{h}.{DOMAIN}"));
        let client = resolving(builder, &tenants, self.ports.expense_public)
            .build()
            .expect("an HTTP client");
        Browser::new(client, jar)
    }

    /// An admin-created user (auth-service's own domain function) with [`PASSWORD`].
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
