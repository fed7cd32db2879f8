//! The layer stack every service puts around its router, in one place. Order, outermost
//! first: metrics ([`crate::metrics`]: every answer counted by route template and status) →
//! request id (a random UUID unless the request brought one) → tracing span carrying the id →
//! the id echoed on the response → security headers (so even a 408 carries them) → request
//! timeout answering `408` → the id made available to error pages
//! ([`crate::current_request_id`]) and
//! a panic answered with the service's `500` ([`crate::panic`]; inside all of the above, so
//! that answer carries the id, the security headers and the span) → the 64 KiB body limit
//! seen by the body extractors → the router. Layers a service adds to its router before
//! [`Stack::wrap`] run inside all of these.
//!
//! The stack wraps the finished router once ([`Stacked`]) instead of every route
//! (`Router::layer`), which would make axum clone the whole boxed stack for each request; only
//! the small layer telling metrics the route template goes around each route.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::extract::{DefaultBodyLimit, Request};
use axum::response::Response;
use axum::serve::{IncomingStream, Listener};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use pin_project_lite::pin_project;
use tower::{Layer, Service, ServiceBuilder};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::request_id::{
    PropagateRequestId, PropagateRequestIdLayer, SetRequestId, SetRequestIdLayer,
};
use tower_http::timeout::{Timeout, TimeoutLayer};
use tower_http::trace::{DefaultOnRequest, DefaultOnResponse, MakeSpan, Trace, TraceLayer};
use tracing::{Level, Span};

use crate::metrics::{RouteLabelLayer, Track, TrackLayer};
use crate::panic::{CatchPanic, CatchPanicLayer, PanicResponder, default_responder, install_hook};
use crate::request_id::{FastUuid, request_id_of};

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The strictest policy, used when a service's own CSP is not a valid header value.
const FALLBACK_CSP: &str = "default-src 'self'; frame-ancestors 'none'; object-src 'none'; base-uri 'none'; form-action 'self'";

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

    /// The finished `router` wrapped in every layer (see the module's order), ready to serve.
    #[must_use]
    pub fn wrap(self, router: Router) -> Stacked {
        install_hook();
        crate::metrics::handle();
        let router = router.layer(RouteLabelLayer);
        let service = ServiceBuilder::new()
            .layer(TrackLayer)
            .layer(SetRequestIdLayer::x_request_id(FastUuid))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(RequestSpan)
                    .on_response(DefaultOnResponse::new().level(Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(SecurityHeadersLayer(self.csp))
            .layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                self.timeout,
            ))
            .layer(CatchPanicLayer(self.on_panic))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .service(router);
        Stacked(service)
    }
}

type Limited = <DefaultBodyLimit as Layer<Router>>::Service;
type Traced = Trace<
    PropagateRequestId<SecurityHeaders<Timeout<CatchPanic<Limited>>>>,
    SharedClassifier<ServerErrorsAsFailures>,
    RequestSpan,
    DefaultOnRequest,
    DefaultOnResponse,
>;

/// A router inside the whole [`Stack`]: a service to hand to `axum::serve` (directly, or
/// with [`Stacked::into_make_service_with_connect_info`]) or to call in tests.
#[derive(Clone)]
pub struct Stacked(Track<SetRequestId<Traced, FastUuid>>);

impl std::fmt::Debug for Stacked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stacked").finish_non_exhaustive()
    }
}

impl Stacked {
    /// The service for `axum::serve` that gives handlers the peer's address
    /// (`ConnectInfo<C>`).
    #[must_use]
    pub fn into_make_service_with_connect_info<C>(self) -> IntoMakeServiceWithConnectInfo<Self, C> {
        axum::ServiceExt::<Request>::into_make_service_with_connect_info(self)
    }
}

impl Service<Request> for Stacked {
    type Response = Response;
    type Error = Infallible;
    type Future = <Track<SetRequestId<Traced, FastUuid>> as Service<Request>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        self.0.call(req)
    }
}

/// `axum::serve(listener, stacked)`, like a `Router` (one clone per connection).
impl<L: Listener> Service<IncomingStream<'_, L>> for Stacked {
    type Response = Self;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _stream: IncomingStream<'_, L>) -> Self::Future {
        std::future::ready(Ok(self.clone()))
    }
}

/// The request's span: method, path and id. The path only: queries may carry data nobody
/// needs in logs.
#[derive(Clone, Copy, Debug)]
pub struct RequestSpan;

impl<B> MakeSpan<B> for RequestSpan {
    fn make_span(&mut self, req: &http::Request<B>) -> Span {
        tracing::info_span!(
            "request",
            method = %req.method(),
            path = %req.uri().path(),
            request_id = %request_id_of(req),
        )
    }
}

/// Adds the security headers to every response that does not set them itself (the
/// stylesheet and the JWKS set their own `Cache-Control`).
#[derive(Clone, Debug)]
struct SecurityHeadersLayer(HeaderValue);

impl<S> Layer<S> for SecurityHeadersLayer {
    type Service = SecurityHeaders<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SecurityHeaders {
            inner,
            csp: self.0.clone(),
        }
    }
}

/// See [`SecurityHeadersLayer`].
#[derive(Clone, Debug)]
pub struct SecurityHeaders<S> {
    inner: S,
    csp: HeaderValue,
}

impl<S, B> Service<http::Request<B>> for SecurityHeaders<S>
where
    S: Service<http::Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = SecurityHeadersFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        SecurityHeadersFuture {
            inner: self.inner.call(req),
            csp: Some(self.csp.clone()),
        }
    }
}

pin_project! {
    /// The future of [`SecurityHeaders`].
    pub struct SecurityHeadersFuture<F> {
        #[pin]
        inner: F,
        csp: Option<HeaderValue>,
    }
}

impl<F, E> Future for SecurityHeadersFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut result = ready!(this.inner.poll(cx));
        if let (Ok(res), Some(csp)) = (&mut result, this.csp.take()) {
            add_security_headers(res.headers_mut(), csp);
        }
        Poll::Ready(result)
    }
}

fn add_security_headers(h: &mut HeaderMap, csp: HeaderValue) {
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(csp);
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::X_FRAME_OPTIONS)
        .or_insert(HeaderValue::from_static("DENY"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::routing::{get, post};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;
    use crate::current_request_id;

    fn app() -> Stacked {
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
        Stack::new("default-src 'self'", Duration::from_millis(50)).wrap(router)
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
    async fn not_found_and_method_not_allowed_carry_the_headers_and_an_id() {
        // Not a GET to a missing page: the metrics test counts those in this process.
        let put_missing = http::Request::put("/nowhere").body(Body::empty()).unwrap();
        let post_id = http::Request::post("/id").body(Body::empty()).unwrap();
        for (req, status) in [
            (put_missing, StatusCode::NOT_FOUND),
            (post_id, StatusCode::METHOD_NOT_ALLOWED),
        ] {
            let (parts, _) = send(req).await;
            assert_eq!(parts.status, status);
            assert_eq!(parts.headers["x-frame-options"], "DENY", "{status}");
            assert_eq!(parts.headers["cache-control"], "no-store", "{status}");
            let id = parts.headers["x-request-id"].to_str().unwrap();
            assert_eq!(id.len(), 36, "{status}: {id}");
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
