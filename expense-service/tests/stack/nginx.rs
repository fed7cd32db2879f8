//! Real nginx (Debian's package) in front of both services on loopback, with the same
//! proxy settings as `deploy/nginx/` (its `proxy-headers.conf` is included as is), and a
//! sign-in through it. Outside CI a missing nginx skips the test with a message.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};

use test_support::http::{csrf_from, free_port};
use test_support::stack::{DOMAIN, Ports};

use super::{TENANT, demo_stack};

struct Nginx(Child);

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn nginx_binary() -> Option<PathBuf> {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The loopback twin of `deploy/nginx/sso.conf`: same routing (auth host, tenant
/// wildcard), same included proxy headers, plain HTTP on a free port.
fn write_config(dir: &Path, listen: u16, ports: Ports) -> PathBuf {
    let headers = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx/proxy-headers.conf");
    let headers = headers
        .canonicalize()
        .expect("deploy/nginx/proxy-headers.conf exists");
    let d = dir.display();
    let conf = format!(
        r#"daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream sso_auth    {{ server 127.0.0.1:{auth}; keepalive 4; }}
    upstream sso_expense {{ server 127.0.0.1:{exp}; keepalive 4; }}
    server {{
        listen 127.0.0.1:{listen};
        server_name auth.{DOMAIN};
        location / {{ include {headers}; proxy_pass http://sso_auth; }}
    }}
    server {{
        listen 127.0.0.1:{listen};
        server_name "~^(?<tenant>[a-z0-9][a-z0-9-]{{1,61}}[a-z0-9])\.example\.test$";
        location / {{ include {headers}; proxy_pass http://sso_expense; }}
    }}
}}
"#,
        auth = ports.auth_bind,
        exp = ports.expense_bind,
        headers = headers.display(),
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).expect("write nginx.conf");
    path
}

async fn wait_for_port(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {port}");
}

fn cookie_value(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers().get_all(SET_COOKIE).iter().find_map(|h| {
        let s = h.to_str().ok()?;
        let (pair, _) = s.split_once(';').unwrap_or((s, ""));
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name && !v.is_empty()).then(|| v.to_owned())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_through_nginx_and_reach_the_tenant_host() {
    let Some(nginx) = nginx_binary() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI=true but nginx is missing: .ci/run must install it"
        );
        eprintln!("SKIPPED nginx test: install Debian's nginx to run it");
        return;
    };
    let listen = free_port();
    let ports = Ports {
        auth_public: listen,
        expense_public: listen,
        auth_bind: free_port(),
        expense_bind: free_port(),
    };
    let (stack, (email, password)) = demo_stack(Some(ports), &[]).await;
    let dir = tempfile::tempdir().expect("nginx dir");
    let conf = write_config(dir.path(), listen, ports);
    let check = Command::new(&nginx)
        .args(["-t", "-q", "-c"])
        .arg(&conf)
        .arg("-p")
        .arg(dir.path())
        .output()
        .expect("nginx -t runs");
    assert!(
        check.status.success(),
        "nginx -t: {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let _nginx = Nginx(
        Command::new(&nginx)
            .arg("-c")
            .arg(&conf)
            .arg("-p")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts"),
    );
    wait_for_port(listen).await;

    // Every test host resolves to nginx.
    let client = stack.browser().client;
    let home = format!("{}/", stack.exp_url(TENANT, ""));

    // The tenant host, through nginx, sends us to the auth host, through nginx.
    let resp = client.get(&home).send().await.expect("tenant page");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let login = resp.headers()[LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    let expected = url::Url::parse_with_params(
        &format!("{}/login", stack.auth_url("")),
        [("next", home.as_str())],
    )
    .expect("url");
    assert_eq!(url::Url::parse(&login).expect("absolute"), expected);

    // The sign-in form, then the sign-in.
    let page = client.get(&login).send().await.expect("login page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    let csrf = csrf_from(&html);
    let resp = client
        .post(format!("{}/login", stack.auth_url("")))
        .header("Origin", stack.auth_url(""))
        // A client-supplied X-Forwarded-For is overwritten by nginx, never appended.
        .header("X-Forwarded-For", "203.0.113.9")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("next", home.as_str()),
            ("tenant", TENANT),
            ("email", email.as_str()),
            ("password", password.as_str()),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        resp.text().await
    );
    assert_eq!(resp.headers()[LOCATION], home.as_str());
    assert!(
        cookie_value(&resp, "access_token").is_some(),
        "access cookie set through nginx"
    );
    assert!(
        cookie_value(&resp, "refresh_token").is_some(),
        "refresh cookie set through nginx"
    );

    // Signed in on the tenant host through the parent-domain cookie.
    let resp = client.get(&home).send().await.expect("tenant page");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.expect("html").contains("Olivia"));

    // Another tenant's host refuses acme's token (TENANT_FROM_HOST), even through nginx.
    let resp = client
        .get(format!("{}/", stack.exp_url("globex", "")))
        .send()
        .await
        .expect("other tenant");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}
