//! A panic in a request is answered `500` with the request id — this service's error page
//! for browsers, `{"detail", "request_id"}` for the API — never a dropped connection, and
//! the server goes on serving. The panicking routes exist only here: the service's real
//! routes plus two that panic, inside the service's own stack (`app::stack`, the one
//! `app::build_router` applies).

use axum::routing::get;

use crate::api::helpers::{Backend, TestApp};
use test_support::db_tests;

db_tests!(a_panic_is_a_500_with_the_request_id_as_a_page_or_json);

async fn boom() -> &'static str {
    panic!("a handler gave up")
}

async fn a_panic_is_a_500_with_the_request_id_as_a_page_or_json(b: Backend) {
    let app = TestApp::spawn(b).await;
    let settings = &app.state.settings;
    let routes = auth_service::routes::router(settings)
        .route("/boom", get(boom))
        .route("/api/v1/boom", get(boom))
        .with_state(app.state.clone());
    let router = auth_service::app::stack(settings).wrap(routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    test_support::http::assert_panics_answered(
        &base,
        "Something went wrong",
        "A server error occurred.",
        "/login",
    )
    .await;
}
