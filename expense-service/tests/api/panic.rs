//! A panic in a request is answered `500` with the request id — this service's error page
//! for browsers, `{"detail", "request_id"}` for the API — never a dropped connection, and
//! the server goes on serving. The panicking routes exist only here, inside the service's
//! own stack (`app::stack`, the one `app::router` applies).

use std::time::Duration;

use axum::Router;
use axum::routing::get;

async fn boom() -> &'static str {
    panic!("a handler gave up")
}

async fn serve(app: service_kit::Stacked) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

#[tokio::test]
async fn a_panic_is_a_500_with_the_request_id_as_a_page_or_json() {
    let routes = Router::new()
        .route("/boom", get(boom))
        .route("/api/v1/boom", get(boom))
        .route("/ok", get(|| async { "ok" }));
    let base = serve(expense_service::app::stack(Duration::from_secs(5)).wrap(routes)).await;
    test_support::http::assert_panics_answered(
        &base,
        "Something went wrong on our side.",
        "Something went wrong on our side.",
        "/ok",
    )
    .await;
}
