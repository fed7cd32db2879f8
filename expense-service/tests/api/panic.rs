//! A panic in a request is answered `500` with the request id — this service's error page
//! for browsers, `{"detail", "request_id"}` for the API — never a dropped connection, and
//! the server goes on serving. The panicking routes exist only here, inside the service's
//! own stack (`app::stack`, the one `app::router` applies).

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};

async fn boom() -> &'static str {
    panic!("a handler gave up")
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

#[tokio::test]
async fn a_panic_is_a_500_with_the_request_id_as_a_page_or_json() {
    let routes = Router::new()
        .route("/boom", get(boom))
        .route("/api/v1/boom", get(boom))
        .route("/ok", get(|| async { "ok" }));
    let base = serve(expense_service::app::stack(Duration::from_secs(5)).apply(routes)).await;
    let client = reqwest::Client::new();

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
    assert!(page.contains("Something went wrong on our side."), "{page}");
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
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Something went wrong on our side.", "request_id": id})
    );

    let res = client.get(format!("{base}/ok")).send().await.unwrap();
    assert_eq!(res.status(), 200, "the server goes on serving");
}
