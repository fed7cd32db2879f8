//! The layer stack every service puts around its router, in one place. Order, outermost
//! first: request id (a UUID unless the request brought one) → tracing span carrying the id →
//! the id echoed on the response → security headers (so even a 408 carries them) → request
//! timeout answering `408` → the id made available to error pages ([`current_request_id`]) →
//! a panic answered with the service's `500` ([`crate::panic`]; inside all of the above, so
//! that answer carries the id, the security headers and the span) → the 64 KiB body limit
//! seen by the body extractors. Layers a service adds to its router before [`Stack::apply`]
//! run inside all of these.

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use tower::ServiceBuilder;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::panic::{PanicResponder, catch_panic, default_responder, install_hook};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The strictest policy, used when a service's own CSP is not a valid header value.
const FALLBACK_CSP: &str = "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled (`X-Request-Id`), when called inside one.
#[must_use]
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// The stack's per-service parts: the Content-Security-Policy, the request timeout and how
/// a panic is answered.
#[derive(Clone, Debug)]
pub struct Stack {
    csp: HeaderValue,
    timeout: Duration,
    on_panic: PanicResponder,
}

impl Stack {
    /// A stack with this service's CSP and `REQUEST_TIMEOUT`.
    #[must_use]
    pub fn new(csp: &str, timeout: Duration) -> Self {
        let csp = HeaderValue::from_str(csp).unwrap_or_else(|_| {
            tracing::error!(
                "the Content-Security-Policy is not a header value; using the strictest"
            );
            HeaderValue::from_static(FALLBACK_CSP)
        });
        Self {
            csp,
            timeout,
            on_panic: default_responder,
        }
    }

    /// How this service answers a request that panicked (its error page or JSON, with the
    /// request id); without it, `{"detail", "request_id"}`.
    #[must_use]
    pub fn on_panic(mut self, respond: PanicResponder) -> Self {
        self.on_panic = respond;
        self
    }

    /// `router` wrapped in every layer (see the module's order).
    pub fn apply<S: Clone + Send + Sync + 'static>(self, router: Router<S>) -> Router<S> {
        install_hook();
        crate::metrics::handle();
        let layers = ServiceBuilder::new()
            // Outermost: counts every answer, 408s and panics' 500s included.
            .layer(middleware::from_fn(crate::metrics::track))
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request| {
                        // The path only: queries may carry data nobody needs in logs.
                        tracing::info_span!(
                            "request",
                            method = %req.method(),
                            path = %req.uri().path(),
                            request_id = %request_id_of(req),
                        )
                    })
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(middleware::from_fn_with_state(self.csp, security_headers))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                self.timeout,
            ))
            .layer(middleware::from_fn(request_id_scope))
            .layer(middleware::from_fn_with_state(self.on_panic, catch_panic))
            .layer(DefaultBodyLimit::max(BODY_LIMIT));
        router.layer(layers)
    }
}

pub(crate) fn request_id_of(req: &Request) -> &str {
    req.headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
}

async fn request_id_scope(req: Request, next: Next) -> Response {
    let id = request_id_of(&req).to_owned();
    REQUEST_ID.scope(id, next.run(req)).await
}

/// Headers added to every response that does not set them itself (the stylesheet and the
/// JWKS set their own `Cache-Control`).
async fn security_headers(State(csp): State<HeaderValue>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(csp);
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::{get, post};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    fn app() -> Router {
        let router = Router::new()
            .route(
                "/id",
                get(|| async { current_request_id().unwrap_or_default() }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/echo",
                post(|body: String| async move { body.len().to_string() }),
            );
        Stack::new("default-src 'self'", Duration::from_millis(50)).apply(router)
    }

    async fn send(req: http::Request<Body>) -> (http::response::Parts, String) {
        let res = app().oneshot(req).await.unwrap();
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (parts, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn get_req(path: &str) -> http::Request<Body> {
        http::Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn the_request_id_is_made_echoed_and_readable_inside() {
        let (parts, body) = send(get_req("/id")).await;
        assert_eq!(parts.status, StatusCode::OK);
        let id = parts.headers["x-request-id"].to_str().unwrap();
        assert_eq!(body, id, "current_request_id() is the echoed id");
        assert_eq!(id.len(), 36, "a UUID: {id}");
        let req = http::Request::get("/id")
            .header("x-request-id", "from-the-proxy")
            .body(Body::empty())
            .unwrap();
        let (parts, body) = send(req).await;
        assert_eq!(parts.headers["x-request-id"], "from-the-proxy");
        assert_eq!(body, "from-the-proxy");
        assert_eq!(current_request_id(), None, "outside a request");
    }

    #[tokio::test]
    async fn every_response_carries_the_security_headers_even_a_408() {
        for (path, status) in [
            ("/id", StatusCode::OK),
            ("/slow", StatusCode::REQUEST_TIMEOUT),
        ] {
            let (parts, _) = send(get_req(path)).await;
            assert_eq!(parts.status, status, "{path}");
            let h = &parts.headers;
            assert_eq!(h["content-security-policy"], "default-src 'self'");
            assert_eq!(h["x-content-type-options"], "nosniff");
            assert_eq!(h["x-frame-options"], "DENY");
            assert_eq!(h["referrer-policy"], "same-origin");
            assert_eq!(h["cache-control"], "no-store");
            assert!(h.contains_key("x-request-id"), "{path}");
        }
    }

    #[tokio::test]
    async fn bodies_over_64_kib_are_refused() {
        let ok = http::Request::post("/echo")
            .body(Body::from(vec![b'a'; BODY_LIMIT]))
            .unwrap();
        assert_eq!(send(ok).await.1, BODY_LIMIT.to_string());
        let big = http::Request::post("/echo")
            .body(Body::from(vec![b'a'; BODY_LIMIT + 1]))
            .unwrap();
        assert_eq!(send(big).await.0.status, StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn an_invalid_csp_falls_back_to_the_strictest() {
        let stack = Stack::new("bad\nvalue", Duration::from_secs(1));
        assert_eq!(stack.csp, FALLBACK_CSP);
    }
}
