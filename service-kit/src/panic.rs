//! No input can crash a request: [`CatchPanic`] (a layer of [`crate::Stack`]) answers a
//! request whose handler, extractor or middleware panicked with the service's `500` (the
//! [`PanicResponder`] it gave [`crate::Stack::on_panic`]: its error page or JSON, chosen by
//! the one negotiation rule, [`shared_jwt::axum::wants_html`], with the request id) instead
//! of dropping the connection.
//!
//! The panic is logged once, by the process's panic hook ([`install_hook`], installed by
//! [`crate::Stack::wrap`]): one `ERROR` event with the message and the location, inside the
//! request's span (which carries the request id), never the request itself. Without an
//! enabled tracing subscriber the previous hook (Rust's default: standard error) runs
//! instead, so a panic is never silent.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use futures_util::future::CatchUnwind;
use http::StatusCode;
use pin_project_lite::pin_project;
use tokio::task::futures::TaskLocalFuture;
use tower::util::Oneshot;
use tower::{Layer, Service, ServiceExt as _};

use crate::request_id::{REQUEST_ID, request_id_of};

/// How a service answers a request that panicked: `(request id, wants_html)` → its `500`
/// (the status is forced to 500 whatever the responder sets).
pub type PanicResponder = fn(request_id: &str, wants_html: bool) -> Response;

/// The answer when a service gives no responder of its own: `{"detail", "request_id"}`.
#[must_use]
pub fn default_responder(request_id: &str, _wants_html: bool) -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        axum::Json(serde_json::json!({
            "detail": "A server error occurred.",
            "request_id": request_id,
        })),
    )
        .into_response()
}

/// The stack's layer that runs the rest of the request with its id in scope
/// ([`crate::current_request_id`]) and answers a panic with the service's responder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CatchPanicLayer(pub(crate) PanicResponder);

impl<S> Layer<S> for CatchPanicLayer {
    type Service = CatchPanic<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CatchPanic {
            inner,
            respond: self.0,
        }
    }
}

/// See [`CatchPanicLayer`].
#[derive(Clone, Debug)]
pub struct CatchPanic<S> {
    inner: S,
    respond: PanicResponder,
}

impl<S> Service<Request> for CatchPanic<S>
where
    S: Service<Request, Response = Response> + Clone,
{
    type Response = Response;
    type Error = S::Error;
    type Future = CatchPanicFuture<S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let wants_html = shared_jwt::axum::wants_html(req.uri().path(), req.headers());
        let request_id = request_id_of(&req).to_owned();
        // The service that was made ready runs the request; the clone (the router behind the
        // body limit: a reference count) waits for the next one. Called inside the future, so
        // that a panic in its `call` is caught too and the id is in scope there as well.
        let clone = self.inner.clone();
        let ready = std::mem::replace(&mut self.inner, clone);
        CatchPanicFuture {
            // Unwind safety: nothing of this request outlives the panic; shared state (pools,
            // caches) is behind types that stay consistent when a holder unwinds.
            inner: REQUEST_ID.scope(
                request_id,
                AssertUnwindSafe(ready.oneshot(req)).catch_unwind(),
            ),
            respond: self.respond,
            wants_html,
        }
    }
}

pin_project! {
    /// The future of [`CatchPanic`].
    pub struct CatchPanicFuture<S: Service<Request>> {
        #[pin]
        inner: TaskLocalFuture<String, CatchUnwind<AssertUnwindSafe<Oneshot<S, Request>>>>,
        respond: PanicResponder,
        wants_html: bool,
    }
}

impl<S> Future for CatchPanicFuture<S>
where
    S: Service<Request, Response = Response>,
{
    type Output = Result<Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        match ready!(this.inner.as_mut().poll(cx)) {
            Ok(result) => Poll::Ready(result),
            Err(_payload) => {
                // The hook has logged it (message and location, in this request's span).
                let request_id = this.inner.take_value().unwrap_or_default();
                let mut response = (this.respond)(&request_id, *this.wants_html);
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// Installs (once per process) the hook that logs a panic as one tracing event.
pub fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if tracing::enabled!(tracing::Level::ERROR) {
                log(info);
            } else {
                previous(info);
            }
        }));
    });
}

fn log(info: &PanicHookInfo<'_>) {
    let location = info.location().map_or_else(
        || "unknown".to_owned(),
        |l| format!("{}:{}:{}", l.file(), l.line(), l.column()),
    );
    tracing::error!(
        panic.message = message(info.payload()),
        panic.location = %location,
        "panicked"
    );
}

/// The text of a `panic!`'s payload.
fn message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(a panic without a message)")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::routing::{get, post};
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;
    use crate::Stack;

    /// A service's responder: says what it was given (and sets a status the layer overrides).
    fn responder(request_id: &str, wants_html: bool) -> Response {
        (
            StatusCode::IM_A_TEAPOT,
            format!("id={request_id} html={wants_html}"),
        )
            .into_response()
    }

    async fn page_gives_up() -> &'static str {
        panic!("the page gave up")
    }

    fn app(respond: Option<PanicResponder>) -> crate::Stacked {
        let router = Router::new().route("/boom", get(page_gives_up)).route(
            "/api/boom",
            post(|body: String| async move {
                assert!(body.is_empty(), "the handler gave up");
                "fine"
            }),
        );
        let stack = Stack::new("default-src 'self'", Duration::from_secs(5));
        match respond {
            Some(r) => stack.on_panic(r),
            None => stack,
        }
        .wrap(router)
    }

    async fn send(
        app: crate::Stacked,
        req: http::Request<Body>,
    ) -> (http::response::Parts, String) {
        let (parts, body) = app.oneshot(req).await.unwrap().into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        (parts, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn boom(path: &str, id: &str, accept: &str) -> http::Request<Body> {
        let method = if path.starts_with("/api") {
            "POST"
        } else {
            "GET"
        };
        http::Request::builder()
            .method(method)
            .uri(path)
            .header("x-request-id", id)
            .header("accept", accept)
            .body(Body::from(if method == "POST" {
                "secret-body"
            } else {
                ""
            }))
            .unwrap()
    }

    #[tokio::test]
    async fn a_panic_is_the_services_500_with_the_request_id_and_the_headers() {
        for (path, accept, html) in [
            ("/boom", "text/html", true),
            ("/boom", "application/json", false),
            ("/api/boom", "text/html", false),
        ] {
            let (parts, body) = send(app(Some(responder)), boom(path, "rid-1", accept)).await;
            assert_eq!(parts.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
            assert_eq!(body, format!("id=rid-1 html={html}"), "{path} {accept}");
            assert_eq!(parts.headers["x-request-id"], "rid-1");
            assert_eq!(parts.headers["x-content-type-options"], "nosniff");
            assert_eq!(parts.headers["cache-control"], "no-store");
        }
    }

    #[tokio::test]
    async fn without_a_responder_the_answer_is_json_with_the_request_id() {
        let (parts, body) = send(app(None), boom("/boom", "rid-2", "text/html")).await;
        assert_eq!(parts.status, StatusCode::INTERNAL_SERVER_ERROR);
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"detail": "A server error occurred.", "request_id": "rid-2"})
        );
    }

    #[test]
    fn a_panic_is_logged_once_with_message_location_and_request_id_never_the_body() {
        let buffer = crate::TestLog::default();
        let out = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || out.clone())
            .with_ansi(false)
            .finish();
        // This thread's subscriber; the current-thread runtime polls the handler here.
        let _guard = tracing::subscriber::set_default(subscriber);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (parts, _) = rt.block_on(send(app(Some(responder)), boom("/api/boom", "rid-3", "")));
        assert_eq!(parts.status, StatusCode::INTERNAL_SERVER_ERROR);
        let text = buffer.text();
        let events: Vec<&str> = text.lines().filter(|l| l.contains("panicked")).collect();
        assert_eq!(events.len(), 1, "{text}");
        let event = events[0];
        assert!(
            event.contains("ERROR") && event.contains("the handler gave up"),
            "{event}"
        );
        assert!(event.contains("service-kit/src/panic.rs:"), "{event}");
        assert!(
            event.contains("rid-3"),
            "inside the request's span: {event}"
        );
        assert!(!text.contains("secret-body"), "{text}");
    }
}
