//! `auth-service healthcheck`, the real binary: exit 0 when the local `/readyz` answers 200
//! (a running auth-service), non-zero when it answers otherwise or nothing listens.

use std::process::Output;

use auth_service::Application;
use axum::http::StatusCode;

use crate::cli::CliEnv;
use test_support::{Backend, db_tests};

db_tests!(healthcheck_exits_0_only_when_ready);

async fn healthcheck(env: &CliEnv, bind: &str) -> Output {
    let mut env_vars = env.vars.clone();
    env_vars.retain(|(k, _)| k != "BIND");
    env_vars.push(("BIND".to_owned(), bind.to_owned()));
    tokio::process::Command::new(env!("CARGO_BIN_EXE_auth-service"))
        .arg("healthcheck")
        .env_clear()
        .envs(env_vars)
        .output()
        .await
        .unwrap()
}

async fn healthcheck_exits_0_only_when_ready(b: Backend) {
    let mut env = CliEnv::new(b).await;
    env.set("BIND", "127.0.0.1:0");
    let app = Application::build(env.settings()).await.unwrap();
    let port = app.port();
    let server = tokio::spawn(app.run_until_stopped());

    // Ready: a running auth-service, reached on loopback even when bound to every address.
    let out = healthcheck(&env, &format!("127.0.0.1:{port}")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = healthcheck(&env, &format!("0.0.0.0:{port}")).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.abort();

    // Not ready: /readyz answers 503.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let busy = listener.local_addr().unwrap();
    let router = axum::Router::new().route(
        "/readyz",
        axum::routing::get(|| async { StatusCode::SERVICE_UNAVAILABLE }),
    );
    let stub = tokio::spawn(async move { axum::serve(listener, router).await });
    let out = healthcheck(&env, &busy.to_string()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("503"));
    stub.abort();

    // Nothing listening.
    let free = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let out = healthcheck(&env, &free.to_string()).await;
    assert_eq!(out.status.code(), Some(1));
}
