//! The promise at the heart of the design, in a real browser: sign in once on the auth
//! host, be signed in on a tenant's subdomain through the parent-domain cookie.
//!
//! Headless Chromium (Debian's `chromium` + `chromium-driver`) driven with fantoccini;
//! `--host-resolver-rules` maps `*.example.test` to 127.0.0.1. Outside CI a missing browser
//! skips these tests with a message; under `CI=true` it fails them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use test_support::http::free_port;
use test_support::stack::DOMAIN;

use super::{TENANT, demo_stack};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A chromedriver process and a browser session (a profile of its own); both end when
/// dropped/closed. Shared with the other journeys (`journey_*.rs`).
pub(super) struct Browser {
    pub(super) client: Client,
    driver: Child,
    shots: PathBuf,
    step: u32,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `None` (after saying why) when the browser is not installed and we are not in CI.
pub(super) async fn browser(test: &str) -> Option<Browser> {
    browser_with(test, &[]).await
}

/// [`browser`] with more Chromium switches (e.g. an insecure origin to treat as secure).
pub(super) async fn browser_with(test: &str, extra_args: &[String]) -> Option<Browser> {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI=true but {CHROMIUM} or {CHROMEDRIVER} is missing: .ci/run must install chromium and chromium-driver"
        );
        eprintln!(
            "SKIPPED {test}: install Debian's chromium and chromium-driver to run the browser test"
        );
        return None;
    }
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().expect("profile dir");
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--disable-dev-shm-usage".to_owned(),
        "--disable-quic".to_owned(),
        "--no-first-run".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--window-size=1200,900".to_owned(),
        format!("--user-data-dir={}", profile.path().display()),
        format!("--host-resolver-rules=MAP *.{DOMAIN} 127.0.0.1"),
    ];
    args.extend(extra_args.iter().cloned());
    let caps = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": args,
        }
    });
    let caps = caps.as_object().cloned().expect("an object");
    let url = format!("http://127.0.0.1:{port}");
    let mut last_err = None;
    for _ in 0..100 {
        match ClientBuilder::new(HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Some(Browser {
                    client,
                    driver,
                    shots: screenshot_dir(test),
                    step: 0,
                    _profile: profile,
                });
            }
            Err(e) => {
                last_err = Some(e);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("cannot start a Chromium session: {last_err:?}");
}

/// Where screenshots go: `target/tmp/screenshots/<test>/`.
fn screenshot_dir(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("screenshots")
        .join(test);
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

impl Browser {
    /// Saves `target/tmp/screenshots/<test>/NN-<name>.png`.
    pub(super) async fn shot(&mut self, name: &str) {
        self.step += 1;
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{:02}-{name}.png", self.step)), png)
            .expect("write screenshot");
    }

    pub(super) async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("current url")
    }

    pub(super) async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("body")
            .text()
            .await
            .expect("text")
    }

    pub(super) async fn fill(&self, css: &str, value: &str) {
        let field = self.client.find(Locator::Css(css)).await.expect(css);
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    pub(super) async fn submit(&self, css: &str) {
        // The current document: it goes stale once the form's answer replaces it.
        let old = self.client.find(Locator::Css("html")).await.expect("html");
        self.client
            .find(Locator::Css(css))
            .await
            .expect(css)
            .click()
            .await
            .expect("click");
        // Wait for the navigation the click started (a form post always loads a new
        // document), then for the new page's body.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while old.tag_name().await.is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "the click on {css} did not load a new page"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.client
            .wait()
            .for_element(Locator::Css("body"))
            .await
            .expect("page after submit");
    }

    /// Signs in on the auth host's form (the organization may be pre-filled).
    /// With the demo owner's sign-in as `auth-service demo` prints it.
    pub(super) async fn sign_in(&self, (email, password): &(String, String)) {
        self.fill("input[name=tenant]", TENANT).await;
        self.fill("input[name=email]", email).await;
        self.fill("input[name=password]", password).await;
        self.submit("form[action='/login'] button[type=submit]")
            .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_once_and_use_the_tenant_subdomain_then_sign_out() {
    let Some(mut b) = browser("cross_subdomain").await else {
        return;
    };
    let (stack, owner) = demo_stack(None, &[]).await;
    let home = format!("{}/", stack.exp_url(TENANT, ""));

    // 1. The protected tenant page sends the browser to the auth host's sign-in, with next.
    b.client.goto(&home).await.expect("goto");
    let url = b.url().await;
    assert_eq!(
        url.host_str(),
        Some(format!("auth.{DOMAIN}").as_str()),
        "{url}"
    );
    assert_eq!(url.path(), "/login");
    let next: Vec<_> = url
        .query_pairs()
        .filter(|(k, _)| k == "next")
        .map(|(_, v)| v.into_owned())
        .collect();
    assert_eq!(next, vec![home.clone()]);
    let tenant_field = b
        .client
        .find(Locator::Css("input[name=tenant]"))
        .await
        .expect("tenant field");
    assert_eq!(
        tenant_field.prop("value").await.expect("value").as_deref(),
        Some(TENANT),
        "pre-filled from next's host"
    );
    b.shot("login-form").await;

    // 2. Sign in: back on the tenant page, signed in through the parent-domain cookie.
    b.sign_in(&owner).await;
    let url = b.url().await;
    assert_eq!(
        url.as_str(),
        home,
        "back where the user started; page: {}",
        b.text().await
    );
    let body = b.text().await;
    assert!(body.contains("Olivia"), "signed-in user shown: {body}");
    b.shot("expenses-signed-in").await;

    // The access cookie is on the parent domain, so the tenant host sees it; the refresh
    // cookie stays host-only on the auth host and is invisible here.
    let cookies = b.client.get_all_cookies().await.expect("cookies");
    let names: Vec<_> = cookies.iter().map(|c| c.name().to_owned()).collect();
    assert!(names.contains(&"access_token".to_owned()), "{names:?}");
    assert!(
        !names.contains(&"refresh_token".to_owned()),
        "refresh cookie must not reach siblings: {names:?}"
    );

    // 3. A department, then an expense, through the forms.
    b.client
        .goto(&format!("{}/departments", stack.exp_url(TENANT, "")))
        .await
        .expect("goto");
    b.fill("input[name=name]", "Travel").await;
    b.submit("form[action='/departments'] button[type=submit]")
        .await;
    assert!(b.text().await.contains("Travel"));
    b.shot("department-created").await;

    b.client
        .goto(&format!("{}/expenses/new", stack.exp_url(TENANT, "")))
        .await
        .expect("goto");
    b.fill("input[name=amount]", "42.50").await;
    b.fill("input[name=currency]", "EUR").await;
    b.fill(
        "textarea[name=description]",
        "Train to the customer workshop",
    )
    .await;
    let today = chrono::Utc::now()
        .date_naive()
        .format("%Y-%m-%d")
        .to_string();
    // A date input's typing format depends on the browser locale: set the value directly.
    b.client
        .execute(
            "document.querySelector('input[name=spent_on]').value = arguments[0];",
            vec![json!(today)],
        )
        .await
        .expect("set date");
    let dept = b
        .client
        .find(Locator::Css("select[name=department_id]"))
        .await
        .expect("select");
    dept.select_by_label("Travel")
        .await
        .expect("choose department");
    b.shot("expense-form").await;
    b.submit("form button[type=submit]").await;
    let body = b.text().await;
    assert!(body.contains("Train to the customer workshop"), "{body}");
    assert!(body.contains("42.50"), "{body}");
    b.shot("expense-created").await;

    // 4. A hostile next while signed in lands on the auth host's own "/".
    b.client
        .goto(&format!(
            "{}/login?next=https://evil.test/steal",
            stack.auth_url("")
        ))
        .await
        .expect("goto");
    let url = b.url().await;
    assert_eq!(
        url.host_str(),
        Some(format!("auth.{DOMAIN}").as_str()),
        "{url}"
    );
    assert_eq!(url.path(), "/", "{url}");
    b.shot("hostile-next-lands-on-account").await;

    // 5. Sign out on the auth host; the protected page asks for sign-in again.
    b.client
        .goto(&format!("{}/logout", stack.auth_url("")))
        .await
        .expect("goto");
    b.shot("logout-page").await;
    b.submit("main form[action='/logout'] button[type=submit]")
        .await;
    let url = b.url().await;
    assert_eq!(url.path(), "/login", "{url}");
    b.client.goto(&home).await.expect("goto");
    let url = b.url().await;
    assert_eq!(
        url.host_str(),
        Some(format!("auth.{DOMAIN}").as_str()),
        "{url}"
    );
    assert_eq!(url.path(), "/login");
    assert!(
        b.client
            .find(Locator::Css("input[name=password]"))
            .await
            .is_ok(),
        "the sign-in form, not a silent refresh"
    );
    b.shot("signed-out-protected-page").await;

    b.client.clone().close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_cookie_is_renewed_silently() {
    let Some(mut b) = browser("silent_refresh").await else {
        return;
    };
    let (stack, owner) = demo_stack(None, &[("ACCESS_TOKEN_TTL", "2s")]).await;
    let home = format!("{}/", stack.exp_url(TENANT, ""));

    b.client.goto(&home).await.expect("goto");
    b.sign_in(&owner).await;
    assert_eq!(b.url().await.as_str(), home);
    let first = access_cookie(&b)
        .await
        .expect("access cookie after sign-in");
    b.shot("signed-in").await;

    // The browser drops the cookie at Max-Age; the tenant page redirects to the auth host,
    // whose refresh cookie renews it and redirects back, without a form.
    tokio::time::sleep(Duration::from_millis(3_000)).await;
    b.client.goto(&home).await.expect("goto");
    let url = b.url().await;
    assert_eq!(url.as_str(), home, "silently back on the page");
    assert!(b.text().await.contains("Olivia"));
    let second = access_cookie(&b).await.expect("renewed access cookie");
    assert_ne!(first, second, "a fresh access token was issued");
    b.shot("renewed").await;

    b.client.clone().close().await.expect("close");
}

async fn access_cookie(b: &Browser) -> Option<String> {
    b.client
        .get_all_cookies()
        .await
        .expect("cookies")
        .into_iter()
        .find(|c| c.name() == "access_token")
        .map(|c| c.value().to_owned())
}
