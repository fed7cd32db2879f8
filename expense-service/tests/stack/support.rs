//! Starts real auth-service and expense-service on loopback ports, with their public URLs
//! on `*.example.test` hosts (clients map those names to 127.0.0.1), and seeds a tenant
//! with a user through auth-service's own domain functions.

use std::collections::HashMap;
use std::net::TcpListener as StdListener;
use std::path::PathBuf;

use tempfile::TempDir;

/// The parent domain every test host lives under.
pub const DOMAIN: &str = "example.test";
/// The demo tenant (`auth-service demo`).
pub const TENANT: &str = auth_service::demo::TENANT_SLUG;

/// The owner's e-mail and password exactly as `auth-service demo` prints them (the line
/// `  owner   owner@acme.test / <password>`), so the browser test proves the printed
/// sign-in works.
pub fn demo_owner() -> (String, String) {
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

/// How the two services are reached from the outside.
#[derive(Clone, Copy, Debug)]
pub struct Ports {
    /// Port clients use for the auth host (auth-service itself, or a proxy in front).
    pub auth_public: u16,
    /// Port clients use for tenant hosts.
    pub expense_public: u16,
    /// Where auth-service listens.
    pub auth_bind: u16,
    /// Where expense-service listens.
    pub expense_bind: u16,
}

impl Ports {
    /// Both services reached directly.
    pub fn direct() -> Self {
        let auth = free_port();
        let expense = free_port();
        Self {
            auth_public: auth,
            expense_public: expense,
            auth_bind: auth,
            expense_bind: expense,
        }
    }
}

/// A running pair of services; dropped with the test (the runtime ends the tasks).
pub struct Stack {
    pub ports: Ports,
    pub _dir: TempDir,
}

impl Stack {
    /// `http://auth.example.test:{port}` as clients see it.
    pub fn auth_url(&self) -> String {
        format!("http://auth.{DOMAIN}:{}", self.ports.auth_public)
    }
    /// `http://{tenant}.example.test:{port}` as clients see it.
    pub fn tenant_url(&self, tenant: &str) -> String {
        format!("http://{tenant}.{DOMAIN}:{}", self.ports.expense_public)
    }
}

/// A free loopback port (bound then released; the race with other processes is accepted
/// for tests, since the public URLs must be known before the services start).
pub fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Starts both services (SQLite files in a temp dir) and seeds the demo organization
/// [`TENANT`] as `auth-service demo` does. `extra_auth` overrides auth-service settings (e.g. the access
/// token lifetime), `extra_expense` expense-service ones.
pub async fn start(
    ports: Ports,
    extra_auth: &[(&str, &str)],
    extra_expense: &[(&str, &str)],
) -> Stack {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| -> PathBuf { dir.path().join(name) };
    let auth_url = format!("http://auth.{DOMAIN}:{}", ports.auth_public);

    let mut auth: HashMap<String, String> = HashMap::from([
        (
            "DATABASE_URL".into(),
            format!("sqlite://{}?mode=rwc", path("auth.db").display()),
        ),
        ("BIND".into(), format!("127.0.0.1:{}", ports.auth_bind)),
        ("PUBLIC_URL".into(), auth_url.clone()),
        ("COOKIE_DOMAIN".into(), DOMAIN.into()),
        ("COOKIE_SECURE".into(), "false".into()),
        (
            "JWT_PRIVATE_KEY_FILE".into(),
            path("jwt-signing-key.pem").display().to_string(),
        ),
        ("DATA_DIR".into(), dir.path().display().to_string()),
        ("TRUSTED_PROXIES".into(), "127.0.0.1/32".into()),
    ]);
    for (k, v) in extra_auth {
        auth.insert((*k).into(), (*v).into());
    }
    let settings = auth_service::config::Settings::from_lookup(|k| auth.get(k).cloned())
        .expect("auth settings");
    let app = auth_service::startup::Application::build(settings)
        .await
        .expect("auth-service starts");
    let db = app.state().db.clone();
    tokio::spawn(app.run_until_stopped());

    // The same seeding as `auth-service demo` (scripts/dev).
    auth_service::demo::seed(&db)
        .await
        .expect("demo organization");

    let mut exp: HashMap<String, String> = HashMap::from([
        (
            "DATABASE_URL".into(),
            format!("sqlite://{}?mode=rwc", path("expenses.db").display()),
        ),
        ("BIND".into(), format!("127.0.0.1:{}", ports.expense_bind)),
        (
            "PUBLIC_URL".into(),
            format!("http://{TENANT}.{DOMAIN}:{}", ports.expense_public),
        ),
        ("AUTH_URL".into(), auth_url),
        // Server-to-server: the JWKS is fetched from the loopback address directly.
        (
            "JWKS_URL".into(),
            format!("http://127.0.0.1:{}/.well-known/jwks.json", ports.auth_bind),
        ),
        ("COOKIE_DOMAIN".into(), DOMAIN.into()),
        ("COOKIE_SECURE".into(), "false".into()),
        ("TENANT_FROM_HOST".into(), "true".into()),
        ("JWT_LEEWAY".into(), "0s".into()),
    ]);
    for (k, v) in extra_expense {
        exp.insert((*k).into(), (*v).into());
    }
    let settings = expense_service::config::Settings::from_lookup(|k| exp.get(k).cloned())
        .expect("expense settings");
    let app = expense_service::startup::Application::build(settings)
        .await
        .expect("expense-service starts");
    tokio::spawn(app.run_until_stopped());

    Stack { ports, _dir: dir }
}

/// Where screenshots go: `target/tmp/screenshots/<test>/`.
pub fn screenshot_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("screenshots")
        .join(test);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// The first `name="…" value="…"` hidden input's value in an HTML page.
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\"");
    let at = html.find(&marker)?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let end = tag[v..].find('"')?;
    Some(tag[v..v + end].replace("&#x2f;", "/").replace("&amp;", "&"))
}
