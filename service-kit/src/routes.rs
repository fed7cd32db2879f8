//! The routes every service serves: `/healthz` (liveness), `/readyz` (the database answers)
//! and `/static/app.css` (the stylesheet the services share).

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use http::{StatusCode, header};
use sea_orm::DatabaseConnection;
use serde_json::json;

/// The stylesheet shared by every service's templates, compiled in.
pub const APP_CSS: &str = include_str!("../../templates/static/app.css");

/// `/healthz`, `/readyz` and `/static/app.css`, for any state that hands out its database.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
{
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/static/app.css", get(app_css))
}

/// `200 {"status": "ok"}` while the process serves.
async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// `200 {"status": "ok", "database": "ok"}`, or `503` when the database does not answer.
async fn readyz(State(db): State<DatabaseConnection>) -> Response {
    match db.ping().await {
        Ok(()) => Json(json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable", "database": "unreachable" })),
            )
                .into_response()
        }
    }
}

async fn app_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        APP_CSS,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    async fn get_json(app: Router, path: &str) -> (StatusCode, serde_json::Value) {
        let req = http::Request::get(path).body(Body::empty()).unwrap();
        let res = app.oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn health_and_readiness_follow_the_database() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let app = router::<DatabaseConnection>().with_state(db.clone());
        let (status, body) = get_json(app.clone(), "/healthz").await;
        assert_eq!((status, body), (StatusCode::OK, json!({"status": "ok"})));
        let (status, body) = get_json(app.clone(), "/readyz").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["database"], "ok");
        db.close_by_ref().await.unwrap();
        let (status, body) = get_json(app, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["database"], "unreachable");
    }
}
