//! Refresh: rotation through `GET /login` and `GET /refresh`, the grace for parallel
//! tabs, replay detection, the family's absolute expiry, inactive users and tenants.

use std::time::Duration;

use auth_service::entities::refresh_token;
use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{EntityTrait, QueryFilter as _};

use crate::api::helpers::{Backend, PASSWORD, TestApp, find_cookie, location, plain_client};
use test_support::db_tests;

db_tests!(
    get_login_and_get_refresh_rotate_the_refresh_token,
    a_rotated_token_within_the_grace_yields_the_same_successor,
    a_rotated_token_after_the_grace_fails_and_revokes_the_family,
    a_family_ends_at_its_absolute_expiry_however_often_refreshed,
    a_deactivated_user_or_tenant_cannot_refresh,
);

/// Signs in and returns the refresh token.
async fn signed_in(app: &TestApp) -> String {
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
    find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned()
}

/// `GET path` carrying only this refresh token.
async fn with_refresh(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    plain_client()
        .get(app.url(path))
        .header("cookie", format!("refresh_token={token}"))
        .send()
        .await
        .unwrap()
}

async fn get_login_and_get_refresh_rotate_the_refresh_token(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let first = signed_in(&app).await;

    let res = with_refresh(&app, "/login?next=/account-x", &first).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/account-x");
    let second = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    assert_ne!(second, first);
    assert!(find_cookie(&res, "access_token").is_some());

    let res = with_refresh(&app, "/refresh?next=http://localhost:8001/", &second).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://localhost:8001/");
    let third = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    assert_ne!(third, second);

    // Only hashes are stored.
    let rows = refresh_token::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(
        rows.iter()
            .all(|r| r.token_hash.len() == 64 && r.token_hash != first && r.token_hash != third)
    );
    assert!(rows.iter().all(|r| r.family_id == rows[0].family_id));

    // Without a cookie: to the sign-in form, keeping next.
    let res = plain_client()
        .get(app.url("/refresh?next=/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2Fx");
}

async fn a_rotated_token_within_the_grace_yields_the_same_successor(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let first = signed_in(&app).await;
    let a = with_refresh(&app, "/refresh", &first).await;
    let b2 = with_refresh(&app, "/refresh", &first).await;
    let succ_a = find_cookie(&a, "refresh_token").unwrap().value().to_owned();
    let succ_b = find_cookie(&b2, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    assert_eq!(succ_a, succ_b, "parallel tabs get the same successor");
    let res = with_refresh(&app, "/refresh", &succ_a).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
    assert_eq!(app.count_events("refresh_reuse").await, 0);
}

async fn a_rotated_token_after_the_grace_fails_and_revokes_the_family(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.refresh_reuse_grace = Duration::ZERO).await;
    app.acme().await;
    let first = signed_in(&app).await;
    let res = with_refresh(&app, "/refresh", &first).await;
    let second = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();

    // Replay of the rotated token: refused, cookies deleted, family revoked.
    let res = with_refresh(&app, "/refresh?next=/x", &first).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/login?next=%2Fx");
    assert_eq!(
        find_cookie(&res, "refresh_token").unwrap().max_age(),
        Some(cookie::time::Duration::ZERO)
    );
    assert_eq!(app.count_events("refresh_reuse").await, 1);
    // The legitimate successor is dead too.
    let res = with_refresh(&app, "/refresh", &second).await;
    assert_eq!(location(&res), "/login");
    let res = with_refresh(&app, "/login", &second).await;
    assert_eq!(res.status(), 200, "the form, no refresh");
}

async fn a_family_ends_at_its_absolute_expiry_however_often_refreshed(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let first = signed_in(&app).await;
    let res = with_refresh(&app, "/refresh", &first).await;
    let second = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    let rows = refresh_token::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|r| r.family_expires_at == rows[0].family_expires_at)
    );
    // Move the sign-in's absolute end into the past.
    refresh_token::Entity::update_many()
        .col_expr(
            refresh_token::Column::FamilyExpiresAt,
            Expr::value(Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(sea_orm::ColumnTrait::eq(
            &refresh_token::Column::FamilyId,
            rows[0].family_id,
        ))
        .exec(&app.state.db)
        .await
        .unwrap();
    let res = with_refresh(&app, "/refresh", &second).await;
    assert_eq!(location(&res), "/login");
}

async fn a_deactivated_user_or_tenant_cannot_refresh(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (tenant, user) = app.acme().await;
    let token = signed_in(&app).await;
    auth_service::users::set_active(&app.state.db, user.id, false)
        .await
        .unwrap();
    let res = with_refresh(&app, "/refresh", &token).await;
    assert_eq!(location(&res), "/login");
    assert!(
        find_cookie(&res, "access_token")
            .unwrap()
            .value()
            .is_empty()
    );

    auth_service::users::set_active(&app.state.db, user.id, true)
        .await
        .unwrap();
    let token = signed_in(&app).await;
    auth_service::tenants::set_active(&app.state.db, tenant.id, false)
        .await
        .unwrap();
    let res = with_refresh(&app, "/refresh", &token).await;
    assert_eq!(location(&res), "/login");
}
