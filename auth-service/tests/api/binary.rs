//! The `auth-service` binary: `migrate`, `serve` with graceful shutdown on SIGTERM, and
//! a one-line error naming a bad setting.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_auth-service");

#[test]
fn migrate_creates_the_sqlite_file_and_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh/data");
    let out = Command::new(BIN)
        .arg("migrate")
        .env_clear()
        .env("DATA_DIR", &data)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("auth.db").exists());
}

#[test]
fn a_bad_setting_stops_start_up_with_one_line_naming_it() {
    let out = Command::new(BIN)
        .env_clear()
        .env("JWT_SECRET", "too-short-secret")
        .env("JWT_ALGORITHM", "HS512")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("JWT_SECRET"));
    assert!(
        !stderr.contains("too-short-secret"),
        "the secret is never printed"
    );
}

#[test]
fn serve_answers_then_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .env("DATA_DIR", dir.path())
        .env("BIND", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("the server logs before it exits")
            .unwrap();
        let event: serde_json::Value = serde_json::from_str(&line).unwrap();
        if event["message"] == "auth-service listening" {
            break event["address"].as_str().unwrap().to_owned();
        }
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::get(format!("http://{address}/readyz"))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(killed.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "graceful shutdown exits 0, got {exit}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(rest.iter().any(|l| l.contains("shutting down")), "{rest:?}");
    // The signing key is in the database; its development key-encryption key beside it.
    assert!(dir.path().join("key-encryption-key").exists());
}
