//! Prometheus metrics shared by every service: the one recorder of the process
//! ([`handle`]; installed once, so tests that build many apps in one process share it), the
//! request layer ([`Track`], installed by [`crate::Stack`]: `http_requests_total` and
//! `http_request_duration_seconds` by method, route template and status), the database pool
//! gauges ([`record_pool`]) and the `/metrics` route, served on the service's own listener or,
//! with `METRICS_BIND`, on a listener of its own ([`serve_separately`]).
//!
//! Series of the services themselves are recorded with the `metrics` macros where things
//! happen (sign-ins, throttling, hashing, JWKS fetches, …); they all land in this recorder.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{FromRef, MatchedPath, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{Method, StatusCode, header};
use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use pin_project_lite::pin_project;
use sea_orm::{DatabaseConnection, DbBackend};
use tokio::net::TcpListener;
use tokio::task::futures::TaskLocalFuture;
use tower::{Layer, Service};

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

tokio::task_local! {
    /// The route template of the request being handled, set from inside the router by
    /// [`RouteLabel`] and read by [`Track`] when the answer is known.
    static ROUTE: Cell<Option<MatchedPath>>;
}

/// The stack's outermost layer: counts every answer (408s and panics' 500s included) and its
/// latency by method, route template and status. The template is learned inside the router
/// ([`RouteLabelLayer`], which [`crate::Stack::wrap`] puts around every route), so a request
/// no route matched is `unmatched`.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TrackLayer;

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Track { inner }
    }
}

/// See [`TrackLayer`].
#[derive(Clone, Debug)]
pub struct Track<S> {
    inner: S,
}

impl<S, B> Service<Request> for Track<S>
where
    S: Service<Request, Response = http::Response<B>>,
    http::Response<B>: IntoResponse,
{
    type Response = Response;
    type Error = S::Error;
    type Future = TrackFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let start = Instant::now();
        let method = req.method().clone();
        TrackFuture {
            inner: ROUTE.scope(Cell::new(None), self.inner.call(req)),
            start,
            method,
        }
    }
}

pin_project! {
    /// The future of [`Track`].
    pub struct TrackFuture<F> {
        #[pin]
        inner: TaskLocalFuture<Cell<Option<MatchedPath>>, F>,
        start: Instant,
        method: Method,
    }
}

impl<F, B, E> Future for TrackFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    http::Response<B>: IntoResponse,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let result = ready!(this.inner.as_mut().poll(cx));
        let route = this.inner.take_value().and_then(Cell::into_inner);
        // The template, never the path: ids in paths would explode the series.
        let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
        Poll::Ready(result.map(|res| {
            record(this.method, route, res.status(), this.start.elapsed());
            res.into_response()
        }))
    }
}

/// Around every route, inside the router: tells [`Track`] the route template
/// ([`MatchedPath`]) of the request.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RouteLabelLayer;

impl<S> Layer<S> for RouteLabelLayer {
    type Service = RouteLabel<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RouteLabel { inner }
    }
}

/// See [`RouteLabelLayer`].
#[derive(Clone, Debug)]
pub struct RouteLabel<S> {
    inner: S,
}

impl<S: Service<Request>> Service<Request> for RouteLabel<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = RouteLabelFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let route = req.extensions().get::<MatchedPath>().cloned();
        RouteLabelFuture {
            inner: self.inner.call(req),
            route,
        }
    }
}

pin_project! {
    /// The future of [`RouteLabel`]: hands the template over when first polled, which is
    /// inside [`Track`]'s scope whatever calls it (a 408 or a panic later keeps the label).
    pub struct RouteLabelFuture<F> {
        #[pin]
        inner: F,
        route: Option<MatchedPath>,
    }
}

impl<F: Future> Future for RouteLabelFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Some(route) = this.route.take() {
            // Outside a tracked request (a router used without the stack) there is no one to tell.
            let _ = ROUTE.try_with(|slot| slot.set(Some(route)));
        }
        this.inner.poll(cx)
    }
}

/// A series' handles, looked up once per thread.
struct Series {
    method: &'static str,
    status: StatusCode,
    requests: Counter,
    duration: Histogram,
}

thread_local! {
    /// This thread's handles by route template, then method and status: a request finds its
    /// series without allocating or building label sets. Bounded: templates come from the
    /// router, methods are the standard ones (others take the slow path) and statuses few.
    static SERIES: RefCell<HashMap<Box<str>, Vec<Series>>> = RefCell::new(HashMap::new());
}

/// The standard methods as labels; any other method is labelled by its name, uncached.
fn method_label(method: &Method) -> Option<&'static str> {
    const STANDARD: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
    ];
    STANDARD.into_iter().find(|m| *m == method.as_str())
}

fn record(method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    let Some(method) = method_label(method) else {
        let labels = [
            ("method", method.as_str().to_owned()),
            ("route", route.to_owned()),
            ("status", status.as_str().to_owned()),
        ];
        metrics::counter!(HTTP_REQUESTS, &labels).increment(1);
        metrics::histogram!(HTTP_DURATION, &labels).record(seconds);
        return;
    };
    SERIES.with_borrow_mut(|series| {
        let by_route = match series.get_mut(route) {
            Some(by_route) => by_route,
            None => series.entry(route.into()).or_default(),
        };
        let found = by_route
            .iter()
            .position(|s| s.method == method && s.status == status);
        let index = found.unwrap_or_else(|| {
            let labels = [
                ("method", method.to_owned()),
                ("route", route.to_owned()),
                ("status", status.as_str().to_owned()),
            ];
            by_route.push(Series {
                method,
                status,
                requests: metrics::counter!(HTTP_REQUESTS, &labels),
                duration: metrics::histogram!(HTTP_DURATION, &labels),
            });
            by_route.len() - 1
        });
        let s = &by_route[index];
        s.requests.increment(1);
        s.duration.record(seconds);
    });
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
        let app = crate::Stack::new("default-src 'self'", std::time::Duration::from_millis(200))
            .wrap(
                Router::new()
                    .route("/items/{id}", get(|| async { "item" }))
                    .route(
                        "/slow/{id}",
                        get(|| async {
                            tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                        }),
                    )
                    .merge(router())
                    .with_state(db),
            );
        for (method, path) in [
            ("GET", "/items/1"),
            ("GET", "/items/2"),
            ("GET", "/nowhere"),
            ("DELETE", "/items/3"),
            ("GET", "/slow/1"),
            ("BREW", "/items/4"),
        ] {
            let req = http::Request::builder()
                .method(method)
                .uri(path)
                .body(Body::empty())
                .unwrap();
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
        for series in [
            r#"http_requests_total{method="DELETE",route="/items/{id}",status="405"} 1"#,
            r#"http_requests_total{method="GET",route="/slow/{id}",status="408"} 1"#,
            r#"http_requests_total{method="BREW",route="/items/{id}",status="405"} 1"#,
        ] {
            assert!(text.contains(series), "{series}: {text}");
        }
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
