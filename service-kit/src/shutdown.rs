//! Serving until SIGTERM or Ctrl-C, then finishing the requests in flight.

use std::future::Future;
use std::net::SocketAddr;

use crate::Stacked;
use tokio::net::TcpListener;

/// Completes at SIGTERM or Ctrl-C (logging "shutting down").
pub async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

/// Serves `app` on `listener` (handlers may extract the peer's
/// `ConnectInfo<SocketAddr>`) until `shutdown` completes, then lets requests in flight finish.
///
/// # Errors
/// I/O errors of the server.
pub async fn serve(
    listener: TcpListener,
    app: Stacked,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
