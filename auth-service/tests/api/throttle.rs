//! Brute force: the account lock after the threshold (known and unknown accounts
//! alike), the IP limit, and the client IP behind a trusted proxy.

use crate::api::helpers::{Backend, PASSWORD, TestApp, location};
use test_support::db_tests;

db_tests!(
    five_failures_lock_known_and_unknown_accounts_alike,
    a_second_lock_lasts_twice_as_long,
    the_ip_limit_refuses_many_accounts_from_one_address,
    behind_a_trusted_proxy_the_forwarded_client_is_counted,
);

const LOCKED: &str = "Too many attempts; try again in 15 minutes.";

async fn five_failures_lock_known_and_unknown_accounts_alike(b: Backend) {
    // More sign-ins than the per-address rate limit allows: this tests the throttle.
    let app = TestApp::spawn_with(b, crate::api::helpers::raise_rate_limits).await;
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
        let retry: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=900).contains(&retry), "{retry}");
        let body = res.text().await.unwrap();
        assert!(body.contains(LOCKED), "{body}");
    }
    assert_eq!(app.count_events("lock").await, 3);
    // Another account is unaffected.
    let res = app
        .login("acme", "other@acme.test", "wrong password!", "/")
        .await;
    assert_eq!(res.status(), 401);
}

async fn a_second_lock_lasts_twice_as_long(b: Backend) {
    use auth_service::entities::login_lock;
    use chrono::Utc;
    use sea_orm::EntityTrait;
    use sea_orm::sea_query::Expr;
    // More sign-ins than the per-address rate limit allows: this tests the throttle.
    let app = TestApp::spawn_with(b, crate::api::helpers::raise_rate_limits).await;
    app.acme().await;
    for _ in 0..5 {
        app.login("acme", "ada@acme.test", "wrong password!", "/")
            .await;
    }
    // Let the first lock run out (moved into the past), then fail again.
    login_lock::Entity::update_many()
        .col_expr(
            login_lock::Column::LockedUntil,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .exec(&app.state.db)
        .await
        .unwrap();
    for _ in 0..5 {
        assert_eq!(
            app.login("acme", "ada@acme.test", "wrong password!", "/")
                .await
                .status(),
            401
        );
    }
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 429);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("try again in 30 minutes")
    );
}

async fn the_ip_limit_refuses_many_accounts_from_one_address(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.throttle.ip_max_failures = 3).await;
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
        s.throttle.ip_max_failures = 2;
        s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    app.acme().await;
    let attempt = |xff: &'static str, email: &'static str, password: &'static str| {
        let app = &app;
        async move {
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
    };
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
