//! The Python guide (docs/verify-from-other-languages.md) is executed, so it cannot rot:
//! `docs/examples/verify_token.py` (PyJWT with its JWKS client) verifies a real access
//! token from `jwt/create/` against this service's JWKS and prints the claims; a token
//! with a changed payload, another audience or another pinned algorithm is refused.
//! Needs Debian's `python3-jwt` and `python3-cryptography` (`.ci/run` installs them);
//! outside CI a machine without them skips with a message, under `CI=true` it fails.

use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::api::helpers::{Backend, TestApp};
use crate::api::json_helpers::tokens;

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../docs/examples/verify_token.py"
);

fn python() -> &'static str {
    if std::path::Path::new("/usr/bin/python3").exists() {
        "/usr/bin/python3"
    } else {
        "python3"
    }
}

fn pyjwt_available() -> bool {
    Command::new(python())
        .args(["-c", "import jwt, cryptography; jwt.PyJWKClient"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the example; (exit code, stdout).
async fn run(args: Vec<String>) -> (i32, String) {
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python())
            .arg(SCRIPT)
            .args(&args)
            .output()
            .expect("python3 runs")
    })
    .await
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[tokio::test]
async fn the_python_example_verifies_a_real_token_and_refuses_altered_ones() {
    if !pyjwt_available() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3-jwt / python3-cryptography are missing"
        );
        eprintln!("SKIPPED: python3-jwt and python3-cryptography are not installed");
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (tenant, user) = app.acme().await;
    let (access, _) = tokens(&app, "acme", "ada@acme.test").await;
    let s = &app.state.settings;
    let args = |token: &str, audience: &str, alg: &str| {
        vec![
            app.url("/.well-known/jwks.json"),
            s.jwt_issuer.clone(),
            audience.to_owned(),
            token.to_owned(),
            alg.to_owned(),
        ]
    };

    let (code, out) = run(args(&access, &s.jwt_audience, "EdDSA")).await;
    assert_eq!(code, 0, "{out}");
    let claims: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(claims["sub"], user.id.to_string());
    assert_eq!(claims["user_id"], user.id.to_string());
    assert_eq!(claims["tenant_id"], tenant.id.to_string());
    assert_eq!(claims["tenant_slug"], "acme");
    assert_eq!(claims["user_role"], user.role.to_string());
    assert_eq!(claims["token_type"], "access");
    assert_eq!(claims["email"], "ada@acme.test");
    assert!(claims["email_verified"].is_boolean(), "{claims}");

    // Another audience, or a verifier pinned to another algorithm: refused.
    let (code, out) = run(args(&access, "other.example", "EdDSA")).await;
    assert_eq!(code, 1, "{out}");
    let (code, out) = run(args(&access, &s.jwt_audience, "ES256")).await;
    assert_eq!(code, 1, "{out}");

    // A payload changed to another role (signature no longer matches): refused.
    let parts: Vec<&str> = access.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    payload["user_role"] = Value::from("owner");
    payload["tenant_slug"] = Value::from("other");
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(payload.to_string()),
        parts[2]
    );
    let (code, out) = run(args(&forged, &s.jwt_audience, "EdDSA")).await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("refused"), "{out}");
}

/// The Node.js example at least parses (`node --check`) where Node.js is installed; it needs
/// the `jose` package from npm to run, which the test suite does not fetch.
#[test]
fn the_node_example_is_valid_javascript() {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/examples/verify_token.mjs"
    );
    match Command::new("node").arg("--check").arg(script).output() {
        Ok(out) => assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("SKIPPED: node is not installed"),
    }
}
