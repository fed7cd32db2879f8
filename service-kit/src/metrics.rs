//! Prometheus metrics shared by every service: the one recorder of the process
//! ([`handle`]; installed once, so tests that build many apps in one process share it), the
//! request middleware ([`track`], installed by [`crate::Stack`]: `http_requests_total` and
//! `http_request_duration_seconds` by method, route template and status), the database pool
//! gauges ([`record_pool`]) and the `/metrics` route, served on the service's own listener or,
//! with `METRICS_BIND`, on a listener of its own ([`serve_separately`]).
//!
//! Series of the services themselves are recorded with the `metrics` macros where things
//! happen (sign-ins, throttling, hashing, JWKS fetches, …); they all land in this recorder.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use axum::Router;
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::net::TcpListener;

/// Latency buckets (seconds) of every `*_seconds` histogram.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Requests served, by `method`, `route` (the template, e.g. `/api/v1/users/{id}/`, or
/// `unmatched`) and `status`.
pub const HTTP_REQUESTS: &str = "http_requests_total";
/// Request latency histogram, same labels as [`HTTP_REQUESTS`].
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
/// Database pool connections, by `state` (`in_use`, `idle`).
pub const DB_POOL: &str = "db_pool_connections";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder handle, installing the recorder on first use. If another
/// recorder was installed first (an embedder's), this one still renders what it records
/// through its own handle, which then holds nothing: the embedder's recorder wins.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = || {
            PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), BUCKETS)
        };
        match builder().and_then(PrometheusBuilder::install_recorder) {
            Ok(handle) => handle,
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed; /metrics stays empty");
                // Buckets are constants that the builder accepts (not empty); if it still
                // refused them, the default summaries are used.
                let recorder = builder()
                    .unwrap_or_else(|_| PrometheusBuilder::new())
                    .build_recorder();
                recorder.handle()
            }
        }
    })
}

/// Middleware counting every request and its latency by route template and status.
/// Installed by [`crate::Stack::apply`] (which also installs the recorder).
pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().as_str().to_owned();
    // The template, never the path: ids in paths would explode the series.
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let res = next.run(req).await;
    let labels = [
        ("method", method),
        ("route", route),
        ("status", res.status().as_u16().to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
    metrics::histogram!(HTTP_DURATION, &labels).record(start.elapsed().as_secs_f64());
    res
}

/// Sets the pool gauges from `db`'s pool (connections in use and idle).
pub fn record_pool(db: &DatabaseConnection) {
    let (size, idle) = match db.get_database_backend() {
        DbBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle())
        }
        DbBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle())
        }
        _ => return,
    };
    let idle = u32::try_from(idle).unwrap_or(u32::MAX);
    metrics::gauge!(DB_POOL, "state" => "in_use").set(f64::from(size.saturating_sub(idle)));
    metrics::gauge!(DB_POOL, "state" => "idle").set(f64::from(idle));
}

/// `GET /metrics` (Prometheus text format) for any state that hands out its database.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    DatabaseConnection: FromRef<S>,
{
    Router::new().route("/metrics", get(render))
}

async fn render(State(db): State<DatabaseConnection>) -> Response {
    record_pool(&db);
    let handle = handle();
    // Drains histogram samples into their buckets (bounded memory between scrapes).
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle.render(),
    )
        .into_response()
}

/// Serves `/metrics` alone on `bind` (`METRICS_BIND`) in a background task until the
/// process ends, so it is not reachable through the public listener.
///
/// # Errors
/// `bind` cannot be listened on.
pub async fn serve_separately(
    bind: SocketAddr,
    db: DatabaseConnection,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(bind).await?;
    let address = listener.local_addr()?;
    let app = router::<DatabaseConnection>().with_state(db);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
    tracing::info!(%address, "metrics listening (METRICS_BIND)");
    Ok(address)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    #[tokio::test]
    async fn requests_are_counted_by_route_template_and_status() {
        let db = crate::db::connect("sqlite::memory:", 1).await.unwrap();
        let app = crate::Stack::new("default-src 'self'", std::time::Duration::from_secs(5)).apply(
            Router::new()
                .route("/items/{id}", get(|| async { "item" }))
                .merge(router())
                .with_state(db),
        );
        for path in ["/items/1", "/items/2", "/nowhere"] {
            let req = http::Request::get(path).body(Body::empty()).unwrap();
            app.clone().oneshot(req).await.unwrap();
        }
        let req = http::Request::get("/metrics").body(Body::empty()).unwrap();
        let res = app.oneshot(req).await.unwrap();
        let text = String::from_utf8(res.into_body().collect().await.unwrap().to_bytes().to_vec())
            .unwrap();
        assert!(
            text.contains(
                r#"http_requests_total{method="GET",route="/items/{id}",status="200"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"http_requests_total{method="GET",route="unmatched",status="404"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"http_request_duration_seconds_bucket{method="GET",route="/items/{id}",status="200",le="0.5"}"#),
            "{text}"
        );
        assert!(
            text.contains(r#"db_pool_connections{state="in_use"}"#),
            "{text}"
        );
    }
}
