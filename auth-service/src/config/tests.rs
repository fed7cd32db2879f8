//! Unit tests of the settings parser.
use super::*;
use secrecy::ExposeSecret;
use std::collections::HashMap;

fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn defaults_follow_the_contract() {
    let s = Settings::from_lookup(lookup(&[])).unwrap();
    assert_eq!(s.bind.to_string(), "127.0.0.1:8000");
    assert_eq!(s.public_origin(), "http://localhost:8000");
    assert!(!s.cookie_secure);
    assert_eq!(s.jwt_algorithm, JwtAlgorithm::EdDSA);
    assert_eq!(s.jwt_issuer, "http://localhost:8000");
    assert_eq!(s.jwt_audience, "localhost");
    assert_eq!(s.access_token_ttl, Duration::from_secs(300));
    assert_eq!(s.refresh_token_ttl, Duration::from_secs(7 * 86400));
    assert_eq!(
        s.database_url.expose_secret(),
        "sqlite://data/auth.db?mode=rwc"
    );
    assert_eq!(
        s.jwt_private_key_file,
        PathBuf::from("data/jwt-signing-key.pem")
    );
}

#[test]
fn https_public_url_makes_cookies_secure_and_domain_is_audience() {
    let s = Settings::from_lookup(lookup(&[
        ("PUBLIC_URL", "https://auth.example.test"),
        ("COOKIE_DOMAIN", "Example.Test"),
    ]))
    .unwrap();
    assert!(s.cookie_secure);
    assert_eq!(s.cookie_domain.as_deref(), Some("example.test"));
    assert_eq!(s.jwt_audience, "example.test");
}

#[test]
fn errors_name_the_variable_and_never_the_secret() {
    let cases: &[(&str, &str)] = &[
        ("BIND", "nope"),
        ("PUBLIC_URL", "ftp://x"),
        ("COOKIE_SECURE", "maybe"),
        ("JWT_ALGORITHM", "RS256"),
        ("ACCESS_TOKEN_TTL", "soon"),
        ("REFRESH_TOKEN_TTL", "0s"),
        ("TRUSTED_PROXIES", "10.0.0.0/99"),
        ("COOKIE_DOMAIN", "exa mple.com"),
        ("LOG_FORMAT", "xml"),
        ("DATABASE_URL", "mysql://x"),
    ];
    for (var, value) in cases {
        let err = Settings::from_lookup(lookup(&[(var, value)])).unwrap_err();
        assert_eq!(err.variable, *var);
        assert!(err.to_string().contains(var));
    }
    let err = Settings::from_lookup(lookup(&[("JWT_SECRET", "short-secret-value")])).unwrap_err();
    assert_eq!(err.variable, "JWT_SECRET");
    assert!(!err.to_string().contains("short-secret-value"));
    let err = Settings::from_lookup(lookup(&[("JWT_ALGORITHM", "HS512")])).unwrap_err();
    assert_eq!(err.variable, "JWT_SECRET");
}

/// Drift fixed: auth-service now reads every boolean and duration in the grammar
/// expense-service and shared-jwt read them in.
#[test]
fn booleans_and_durations_use_the_workspace_grammar() {
    for (text, secure) in [("on", true), ("OFF", false), ("yes", true), ("0", false)] {
        let s = Settings::from_lookup(lookup(&[("COOKIE_SECURE", text)])).unwrap();
        assert_eq!(s.cookie_secure, secure, "COOKIE_SECURE={text}");
    }
    let s = Settings::from_lookup(lookup(&[
        ("ACCESS_TOKEN_TTL", "1h 30m"),
        ("REFRESH_TOKEN_TTL", "2w"),
        ("REQUEST_TIMEOUT", "90"),
    ]))
    .unwrap();
    assert_eq!(s.access_token_ttl, Duration::from_secs(5_400));
    assert_eq!(s.refresh_token_ttl, Duration::from_secs(14 * 86_400));
    assert_eq!(s.request_timeout, Duration::from_secs(90));
    for (var, value) in [
        ("ACCESS_TOKEN_TTL", "0"),
        ("REFRESH_REUSE_GRACE", "0s"),
        ("REQUEST_TIMEOUT", "0"),
        ("ACCESS_TOKEN_TTL", "5 minutes"),
        ("PUBLIC_URL", "https://auth.example.test/?x=1"),
        ("RUST_LOG", "sqlx=loud"),
        ("DB_MAX_CONNECTIONS", "0"),
    ] {
        let err = Settings::from_lookup(lookup(&[(var, value)])).unwrap_err();
        assert_eq!(err.variable, var, "{var}={value}");
        assert!(
            err.to_string()
                .starts_with(&format!("invalid setting {var}: ")),
            "{err}"
        );
    }
}

#[test]
fn cors_allowed_origins_are_origins_without_a_path() {
    let s = Settings::from_lookup(lookup(&[])).unwrap();
    assert!(s.cors_allowed_origins.is_empty());
    let s = Settings::from_lookup(lookup(&[(
        "CORS_ALLOWED_ORIGINS",
        "https://App.Example.test, http://localhost:5173/,",
    )]))
    .unwrap();
    assert_eq!(
        s.cors_allowed_origins,
        ["https://app.example.test", "http://localhost:5173"]
    );
    for bad in ["https://app.test/spa", "app.test", "ftp://app.test", "null"] {
        let err = Settings::from_lookup(lookup(&[("CORS_ALLOWED_ORIGINS", bad)])).unwrap_err();
        assert_eq!(err.variable, "CORS_ALLOWED_ORIGINS", "{bad}");
    }
}

#[test]
fn signing_key_settings_have_the_contract_defaults_and_postgres_needs_a_key_encryption_key() {
    let s = Settings::from_lookup(lookup(&[])).unwrap();
    assert_eq!(s.jwks_max_age, Duration::from_secs(300));
    assert_eq!(s.key_rotation_interval, Duration::from_secs(30 * 86400));
    assert_eq!(s.key_activation_margin, Duration::from_secs(60));
    assert_eq!(s.key_reload_interval, Duration::from_secs(5));
    assert!(s.key_encryption_key.is_none(), "SQLite: generated on start");

    let pg = ("DATABASE_URL", "postgres://u:pw@db/auth");
    let err = Settings::from_lookup(lookup(&[pg])).unwrap_err();
    assert_eq!(err.variable, "KEY_ENCRYPTION_KEY");
    assert!(
        err.to_string().contains("required with PostgreSQL"),
        "{err}"
    );
    let kek = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";
    let s = Settings::from_lookup(lookup(&[pg, ("KEY_ENCRYPTION_KEY", kek)])).unwrap();
    assert!(s.key_encryption_key.is_some());
    // HS512 stores no key: no key-encryption key needed.
    let secret = "s".repeat(64);
    let hs = [
        pg,
        ("JWT_ALGORITHM", "HS512"),
        ("JWT_SECRET", secret.as_str()),
    ];
    assert!(Settings::from_lookup(lookup(&hs)).is_ok());
    for bad in ["dG9vIHNob3J0", "!!!not base64!!!"] {
        let err = Settings::from_lookup(lookup(&[("KEY_ENCRYPTION_KEY", bad)])).unwrap_err();
        assert_eq!(err.variable, "KEY_ENCRYPTION_KEY");
        assert!(!err.to_string().contains(bad), "{err}");
    }
    let err = Settings::from_lookup(lookup(&[("KEY_ROTATION_INTERVAL", "0s")])).unwrap_err();
    assert_eq!(err.variable, "KEY_ROTATION_INTERVAL");
}
