//! `AuthSettings::from_lookup`: the contract's variables, defaults and one-line errors.

use std::collections::HashMap;
use std::time::Duration;

use shared_jwt::{Algorithm, AuthSettings, ConfigError, KeySource, SigningKey};

fn settings(vars: &[(&str, &str)]) -> Result<AuthSettings, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    AuthSettings::from_lookup(|name| map.get(name).cloned())
}

const SECRET_64: &str = "this-is-a-sixty-four-byte-shared-secret-for-hs512-tokens-0123456";

#[test]
fn development_defaults() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.auth_url.as_str(), "http://localhost:8000/");
    assert_eq!(s.public_url.as_str(), "http://localhost:8001/");
    assert!(!s.cookies.secure);
    assert_eq!(s.cookies.domain, None);
    assert_eq!(s.cookies.access_ttl, Duration::from_secs(300));
    assert_eq!(s.cookies.refresh_ttl, Duration::from_secs(7 * 86_400));
    assert_eq!(s.verifier.algorithm, Algorithm::EdDSA);
    assert_eq!(s.verifier.issuer, "http://localhost:8000");
    assert_eq!(s.verifier.audience, "localhost");
    assert!(s.verifier.leeway <= Duration::from_secs(60));
    assert!(!s.tenant_from_host);
    match s.key_source {
        KeySource::Jwks { url, .. } => {
            assert_eq!(url.as_str(), "http://localhost:8000/.well-known/jwks.json")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn production_values() {
    let s = settings(&[
        ("AUTH_URL", "https://auth.example.com/"),
        ("PUBLIC_URL", "https://expenses.example.com"),
        ("COOKIE_DOMAIN", ".Example.com"),
        ("ACCESS_TOKEN_TTL", "10m"),
        ("REFRESH_TOKEN_TTL", "30d"),
        ("TENANT_FROM_HOST", "true"),
        ("JWT_ALGORITHM", "ES256"),
    ])
    .unwrap();
    assert!(
        s.cookies.secure,
        "https PUBLIC_URL makes cookies Secure by default"
    );
    assert_eq!(s.cookie_domain.as_deref(), Some("example.com"));
    assert_eq!(s.cookies.domain.as_deref(), Some("example.com"));
    assert_eq!(
        s.verifier.issuer, "https://auth.example.com",
        "no trailing slash"
    );
    assert_eq!(s.verifier.audience, "example.com");
    assert_eq!(s.verifier.algorithm, Algorithm::ES256);
    assert_eq!(s.cookies.access_ttl, Duration::from_secs(600));
    assert_eq!(s.cookies.refresh_ttl, Duration::from_secs(30 * 86_400));
    assert!(s.tenant_from_host);
    let explicit = settings(&[
        ("PUBLIC_URL", "https://expenses.example.com"),
        ("COOKIE_SECURE", "false"),
        ("JWT_ISSUER", "https://issuer.example"),
        ("JWT_AUDIENCE", "expenses"),
        ("JWKS_URL", "https://keys.example.com/jwks.json"),
    ])
    .unwrap();
    assert!(!explicit.cookies.secure);
    assert_eq!(explicit.verifier.issuer, "https://issuer.example");
    assert_eq!(explicit.verifier.audience, "expenses");
    assert!(
        matches!(explicit.key_source, KeySource::Jwks { ref url, .. } if url.as_str() == "https://keys.example.com/jwks.json")
    );
}

#[test]
fn hs512_needs_a_64_byte_secret_and_errors_never_show_it() {
    let s = settings(&[("JWT_ALGORITHM", "HS512"), ("JWT_SECRET", SECRET_64)]).unwrap();
    match &s.key_source {
        KeySource::Static(keys) => {
            let expected = SigningKey::from_hs512_secret(SECRET_64.as_bytes()).unwrap();
            assert!(keys.get(expected.kid()).is_some());
        }
        other => panic!("{other:?}"),
    }
    let with_csrf = settings(&[
        ("JWT_ALGORITHM", "HS512"),
        ("JWT_SECRET", SECRET_64),
        (
            "CSRF_SECRET",
            "a-csrf-secret-that-is-long-enough-0123456789",
        ),
    ])
    .unwrap();
    let debug = format!("{with_csrf:?}");
    assert!(
        !debug.contains(SECRET_64) && !debug.contains("a-csrf-secret"),
        "{debug}"
    );
    let short = "short-but-secret-value";
    let err = settings(&[("JWT_ALGORITHM", "HS512"), ("JWT_SECRET", short)]).unwrap_err();
    assert_eq!(err.variable, "JWT_SECRET");
    assert!(!err.to_string().contains(short));
    assert!(!format!("{err:?}").contains(short));
    let missing = settings(&[("JWT_ALGORITHM", "HS512")]).unwrap_err();
    assert_eq!(missing.variable, "JWT_SECRET");
    let csrf = "tiny";
    let err = settings(&[("CSRF_SECRET", csrf)]).unwrap_err();
    assert_eq!(err.variable, "CSRF_SECRET");
    assert!(!err.to_string().contains(csrf));
}

#[test]
fn a_public_key_file_replaces_the_jwks() {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (
        SigningKey::generate(Algorithm::EdDSA).unwrap(),
        SigningKey::generate(Algorithm::EdDSA).unwrap(),
    );
    let pem = |k: &SigningKey| {
        k.verifying_key()
            .ed25519_public_key()
            .unwrap()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
    };
    let path = dir.path().join("jwt-public.pem");
    std::fs::write(&path, format!("{}{}", pem(&a), pem(&b))).unwrap();
    let s = settings(&[("JWT_PUBLIC_KEY_FILE", path.to_str().unwrap())]).unwrap();
    match s.key_source {
        KeySource::Static(keys) => {
            assert_eq!(keys.len(), 2, "every PUBLIC KEY block of the file");
            assert!(keys.get(a.kid()).is_some() && keys.get(b.kid()).is_some());
        }
        other => panic!("{other:?}"),
    }
    let missing = settings(&[("JWT_PUBLIC_KEY_FILE", "/nonexistent/key.pem")]).unwrap_err();
    assert_eq!(missing.variable, "JWT_PUBLIC_KEY_FILE");
    std::fs::write(&path, "not a key").unwrap();
    assert_eq!(
        settings(&[("JWT_PUBLIC_KEY_FILE", path.to_str().unwrap())])
            .unwrap_err()
            .variable,
        "JWT_PUBLIC_KEY_FILE"
    );
}

#[test]
fn malformed_values_name_their_variable_on_one_line() {
    for (name, value) in [
        ("AUTH_URL", "not a url"),
        ("AUTH_URL", "ftp://auth.example.com"),
        ("PUBLIC_URL", "https://x.example.com/?q=1"),
        ("COOKIE_DOMAIN", "https://example.com"),
        ("COOKIE_SECURE", "perhaps"),
        ("JWT_ALGORITHM", "none"),
        ("JWT_ALGORITHM", "RS256"),
        ("ACCESS_TOKEN_TTL", "5 minutes"),
        ("REFRESH_TOKEN_TTL", "7x"),
        ("JWT_LEEWAY", "2m"),
        ("JWKS_URL", "file:///etc/passwd"),
        ("TENANT_FROM_HOST", "true"),
    ] {
        let err = settings(&[(name, value)]).unwrap_err();
        assert_eq!(err.variable, name, "{name}={value}: {err}");
        let line = err.to_string();
        assert!(line.contains(name) && !line.contains('\n'), "{line}");
    }
}
