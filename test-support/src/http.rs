//! Browser-like HTTP clients (redirects are the test's to follow), free loopback ports, and
//! reading what a page or a response carries.

use std::net::{SocketAddr, TcpListener};

use reqwest::{Client, ClientBuilder};

/// A client that never follows redirects by itself (tests assert each `Location`).
pub fn client_builder() -> ClientBuilder {
    Client::builder().redirect(reqwest::redirect::Policy::none())
}

/// A browser: cookie store on, redirects off.
pub fn browser() -> Client {
    client_builder()
        .cookie_store(true)
        .build()
        .expect("an HTTP client")
}

/// A client without cookies, redirects off.
pub fn plain_client() -> Client {
    client_builder().build().expect("an HTTP client")
}

/// `builder` resolving each of `hosts` to `127.0.0.1:port`.
pub fn resolving(mut builder: ClientBuilder, hosts: &[String], port: u16) -> ClientBuilder {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for host in hosts {
        builder = builder.resolve(host, addr);
    }
    builder
}

/// A free loopback port (bound then released: the race with other processes is accepted,
/// for URLs that must be known before the service listens).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The `Location` header, or "".
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().expect("an ASCII Location").to_owned())
        .unwrap_or_default()
}

/// The `value` of the first input named `name` in `html` (HTML-escaped `/` and `&` decoded).
pub fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let tag_start = html[..at].rfind('<')?;
    let tag_end = at + html[at..].find('>')?;
    let tag = &html[tag_start..tag_end];
    let v = tag.find("value=\"")? + "value=\"".len();
    let end = tag[v..].find('"')?;
    Some(tag[v..v + end].replace("&#x2f;", "/").replace("&amp;", "&"))
}

/// The form's CSRF token (panics when the page has none).
pub fn csrf_from(html: &str) -> String {
    hidden_value(html, "csrf_token").expect("the page has a CSRF field")
}

/// `s` percent-encoded for a query string.
pub fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Asserts what a service answers for a panicking handler at `{base}/boom` (a page) and
/// `{base}/api/v1/boom` (JSON): `500` with the request id, the service's error page showing
/// `page_text` and the id but not the panic message, `{"detail": json_detail, "request_id"}`
/// for the API; never a dropped connection. Then `{base}{still_ok}` must answer `200`.
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
pub async fn assert_panics_answered(
    base: &str,
    page_text: &str,
    json_detail: &str,
    still_ok: &str,
) {
    let client = Client::new();
    let res = client
        .get(format!("{base}/boom"))
        .header("accept", "text/html")
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(res.status(), 500);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    let page = res.text().await.unwrap();
    assert!(page.contains(page_text), "{page}");
    assert!(
        page.contains(&id),
        "the page shows the request id {id}: {page}"
    );
    assert!(!page.contains("a handler gave up"), "{page}");

    let res = client
        .get(format!("{base}/api/v1/boom"))
        .send()
        .await
        .expect("an answer, not a dropped connection");
    assert_eq!(res.status(), 500);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"detail": json_detail, "request_id": id})
    );

    let res = client
        .get(format!("{base}{still_ok}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the server goes on serving");
}
