//! Password-guessing limits, one request at a time: the lock per account and address
//! (known and unknown accounts alike), its end one window after the last checked
//! password (no escalation), `Retry-After` as the real time until a slot frees, a
//! success clearing the address's count, the address limit across accounts, the
//! client address behind a trusted proxy, and `auth-service user unlock`.
//! (Concurrency, replicas and the cap across addresses: `throttle_races.rs`.)

use auth_service::entities::throttle_slot;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use serde_json::json;

use crate::api::helpers::{Backend, PASSWORD, TestApp, location, raise_rate_limits};
use crate::api::json_helpers::post;
use test_support::db_tests;

db_tests!(
    five_failures_lock_known_and_unknown_accounts_alike,
    a_lock_ends_one_window_after_the_last_check_and_never_escalates,
    retry_after_is_the_time_until_the_oldest_slot_frees,
    a_success_clears_the_count_of_its_address,
    the_ip_limit_refuses_many_accounts_from_one_address,
    behind_a_trusted_proxy_the_forwarded_client_is_counted,
    user_unlock_clears_the_accounts_limits_and_is_audited,
);

const LOCKED: &str = "Too many attempts; try again in 15 minutes.";
const WINDOW_MS: i64 = 15 * 60 * 1000;

/// `Retry-After` in seconds.
pub fn retry_after(res: &reqwest::Response) -> u64 {
    res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// Moves every used slot `ms` into the past (as if the attempts were that old).
pub async fn age_slots(app: &TestApp, ms: i64) {
    throttle_slot::Entity::update_many()
        .col_expr(
            throttle_slot::Column::UsedAtMs,
            Expr::col(throttle_slot::Column::UsedAtMs).sub(ms),
        )
        .filter(throttle_slot::Column::UsedAtMs.gt(0))
        .exec(&app.state.db)
        .await
        .unwrap();
}

/// Signs in to `acme` through the form as if from `xff` (behind a trusted proxy).
pub async fn login_from(
    app: &TestApp,
    xff: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let token = app.csrf_token("/login").await;
    app.client
        .post(app.url("/login"))
        .header("x-forwarded-for", xff)
        .form(&[
            ("csrf_token", token.as_str()),
            ("tenant", "acme"),
            ("email", email),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// `n` wrong passwords for ada@acme through the form, each checked (401).
async fn fail(app: &TestApp, n: usize) {
    for i in 0..n {
        let res = app
            .login("acme", "ada@acme.test", "wrong password!", "/")
            .await;
        assert_eq!(res.status(), 401, "failure {i}");
    }
}

async fn five_failures_lock_known_and_unknown_accounts_alike(b: Backend) {
    let app = TestApp::spawn_with(b, raise_rate_limits).await;
    app.acme().await;
    for (tenant, email) in [
        ("acme", "ada@acme.test"),
        ("acme", "ghost@acme.test"),
        ("nosuchorg", "x@y.test"),
    ] {
        for _ in 0..5 {
            let res = app.login(tenant, email, "wrong password!", "/").await;
            assert_eq!(res.status(), 401);
        }
        // Locked now: even the right password is refused, without a check.
        let res = app
            .login(tenant, &email.to_uppercase(), PASSWORD, "/")
            .await;
        assert_eq!(res.status(), 429, "{tenant}/{email}");
        let retry = retry_after(&res);
        assert!((890..=900).contains(&retry), "{retry}");
        let body = res.text().await.unwrap();
        assert!(body.contains(LOCKED), "{body}");
    }
    assert_eq!(app.count_events("lock").await, 3);
    assert_eq!(app.count_events("login_failure").await, 15);
    // Another account is unaffected.
    let res = app
        .login("acme", "other@acme.test", "wrong password!", "/")
        .await;
    assert_eq!(res.status(), 401);
}

/// Was: a second lock lasted twice as long (`lock_base · 2^n`, up to 24 h). Now every
/// lock ends one window after the last checked password, however often it recurs, and
/// refused attempts do not extend it.
async fn a_lock_ends_one_window_after_the_last_check_and_never_escalates(b: Backend) {
    let app = TestApp::spawn_with(b, raise_rate_limits).await;
    app.acme().await;
    for round in 0..3 {
        fail(&app, 5).await;
        // Asking again and again while locked neither extends nor escalates the lock.
        for _ in 0..3 {
            let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
            assert_eq!(res.status(), 429, "round {round}");
            assert!(retry_after(&res) <= 900, "round {round}");
            assert!(res.text().await.unwrap().contains(LOCKED));
        }
        // The attacker stopped 15 minutes ago: the lock is over.
        age_slots(&app, WINDOW_MS).await;
    }
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(app.count_events("login_failure").await, 15);
    assert_eq!(app.count_events("login_throttled").await, 9);
}

async fn retry_after_is_the_time_until_the_oldest_slot_frees(b: Backend) {
    let app = TestApp::spawn_with(b, raise_rate_limits).await;
    app.acme().await;
    fail(&app, 5).await;
    // The five checks happened 13 minutes ago: the first slot frees in 2 minutes.
    age_slots(&app, 13 * 60 * 1000).await;
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 429);
    let retry = retry_after(&res);
    assert!((110..=120).contains(&retry), "{retry}");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Too many attempts; try again in 2 minutes.")
    );
    // Two minutes later (the slots moved by that much) the owner is checked again.
    age_slots(&app, 2 * 60 * 1000).await;
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
}

async fn a_success_clears_the_count_of_its_address(b: Backend) {
    let app = TestApp::spawn_with(b, raise_rate_limits).await;
    app.acme().await;
    fail(&app, 4).await;
    // The success through the JSON API (same address): this browser stays signed out.
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/create/",
        json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, 200);
    // Five more tries before the lock: the four failures were forgotten.
    fail(&app, 5).await;
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 429);
}

async fn the_ip_limit_refuses_many_accounts_from_one_address(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        raise_rate_limits(s);
        raise_rate_limits(s);
        s.throttle.address_max = 3;
    })
    .await;
    app.acme().await;
    for i in 0..3 {
        let res = app
            .login(
                "acme",
                &format!("user{i}@acme.test"),
                "wrong password!",
                "/",
            )
            .await;
        assert_eq!(res.status(), 401);
    }
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 429);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Too many attempts; try again in")
    );
}

async fn behind_a_trusted_proxy_the_forwarded_client_is_counted(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        raise_rate_limits(s);
        s.throttle.address_max = 2;
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.acme().await;
    let attempt = |xff, email, password| login_from(&app, xff, email, password);
    assert_eq!(
        attempt("198.51.100.1", "a@acme.test", "wrong password!")
            .await
            .status(),
        401
    );
    assert_eq!(
        attempt("6.6.6.6, 198.51.100.1", "b@acme.test", "wrong password!")
            .await
            .status(),
        401
    );
    assert_eq!(
        attempt("198.51.100.1", "ada@acme.test", PASSWORD)
            .await
            .status(),
        429
    );
    let ok = attempt("203.0.113.5", "ada@acme.test", PASSWORD).await;
    assert_eq!(ok.status(), 303, "another client is not affected");
    assert_eq!(location(&ok), "/");
}

async fn user_unlock_clears_the_accounts_limits_and_is_audited(b: Backend) {
    let app = TestApp::spawn_with(b, raise_rate_limits).await;
    app.acme().await;
    fail(&app, 5).await;
    assert_eq!(
        app.login("acme", "ada@acme.test", PASSWORD, "/")
            .await
            .status(),
        429
    );
    let cli = |args: &[&str]| {
        use secrecy::ExposeSecret as _;
        let s = &app.state.settings;
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_auth-service"));
        cmd.args(args)
            .env_clear()
            .env("DATA_DIR", &s.data_dir)
            .env("DATABASE_URL", s.database_url.expose_secret());
        if let Some(kek) = &s.key_encryption_key {
            // Required with PostgreSQL.
            cmd.env("KEY_ENCRYPTION_KEY", kek.expose_secret());
        }
        cmd.output().unwrap()
    };
    let out = cli(&[
        "user",
        "unlock",
        "--tenant",
        "acme",
        "--email",
        "ADA@acme.test",
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("Sign-in limits of ada@acme.test in acme cleared."),
        "{text}"
    );
    assert_eq!(app.count_events("throttle_cleared").await, 1);
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
    // Unknown accounts are refused with exit status 2.
    let out = cli(&[
        "user",
        "unlock",
        "--tenant",
        "acme",
        "--email",
        "nobody@acme.test",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(app.count_events("throttle_cleared").await, 1);
}
