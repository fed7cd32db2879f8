//! Where two copies of a rule used to disagree, the one behaviour chosen: the "still
//! signed in" rule on `jwt/verify/`, the one Origin rule on the forms, one reading of
//! a typed organization, one HTML-or-JSON rule for errors, and no silent fallback for
//! an unknown stored role.

use auth_service::entities::user;
use reqwest::{Method, StatusCode};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use test_support::db_tests;

use crate::api::helpers::{Backend, PASSWORD, TestApp, plain_client};
use crate::api::json_helpers::{authed, call, post, status_json, tokens};

db_tests!(
    jwt_verify_refuses_the_token_of_a_deactivated_user_like_every_api_route,
    a_same_site_form_post_must_name_its_origin,
    the_sign_up_form_reads_a_typed_organization_like_the_sign_in_form,
    errors_answer_as_the_client_asks_on_every_route,
    an_unknown_stored_role_is_an_error_not_a_viewer,
);

async fn jwt_verify_refuses_the_token_of_a_deactivated_user_like_every_api_route(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, ada) = app.acme().await;
    let (access, _) = tokens(&app, "acme", "ada@acme.test").await;
    let verify = "/api/v1/auth/jwt/verify/";
    let (status, _) = post(&app, verify, json!({"token": access})).await;
    assert_eq!(status, StatusCode::OK);
    auth_service::users::set_active(&app.state.db, ada.id, false)
        .await
        .unwrap();
    // Before: `jwt/verify/` checked only the signature and the session (200).
    let (status, body) = post(&app, verify, json!({"token": access})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "token_not_valid");
    let (status, _) = authed(&app, Method::GET, "/api/v1/auth/users/me/", &access, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn a_same_site_form_post_must_name_its_origin(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let token = app.csrf_token("/login").await;
    let form = [
        ("csrf_token", token.as_str()),
        ("tenant", "acme"),
        ("email", "ada@acme.test"),
        ("password", PASSWORD),
    ];
    let send = |origin: Option<&'static str>| {
        let mut req = app
            .client
            .post(app.url("/login"))
            .header("sec-fetch-site", "same-site")
            .form(&form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    // Before: the pages' own Origin rule let this through (a sibling subdomain).
    let res = send(None).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count_events("login_success").await, 0);
    let res = send(Some("http://localhost:8000")).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count_events("login_success").await, 1);
}

async fn the_sign_up_form_reads_a_typed_organization_like_the_sign_in_form(b: Backend) {
    let app = TestApp::spawn(b).await;
    for path in ["/login?tenant=%20Acme%20", "/register?tenant=%20Acme%20"] {
        let body = app.get(path).await.text().await.unwrap();
        // Before: `/register` dropped it (no trimming, no case folding).
        assert!(body.contains("value=\"acme\""), "{path}");
    }
}

async fn errors_answer_as_the_client_asks_on_every_route(b: Backend) {
    let app = TestApp::spawn(b).await;
    // A browser gets the error page; a JSON client gets `{"detail"}`, page routes too.
    let res = plain_client()
        .get(app.url("/nowhere"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("There is no page at this address.")
    );
    let res = plain_client()
        .get(app.url("/nowhere"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(res).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"detail": "Not found."}));
    // A refused form, asked for by a script.
    let res = plain_client()
        .post(app.url("/logout/all"))
        .header("accept", "application/json")
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(res).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["detail"].as_str().unwrap().starts_with("CSRF Failed"));
    // The API answers JSON whatever the client accepts.
    let res = plain_client()
        .get(app.url("/api/v1/nowhere/"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(res).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"detail": "Not found."}));
}

async fn an_unknown_stored_role_is_an_error_not_a_viewer(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, ada) = app.acme().await;
    let (access, _) = tokens(&app, "acme", "ada@acme.test").await;
    user::Entity::update_many()
        .col_expr(user::Column::Role, Expr::value("superuser"))
        .filter(user::Column::Id.eq(ada.id))
        .exec(&app.state.db)
        .await
        .unwrap();
    // Before: read back as "viewer" for the checks and shown as "superuser".
    let res = call(
        &app,
        Method::GET,
        "/api/v1/auth/users/me/",
        Some(&access),
        None,
    )
    .await;
    let (status, body) = status_json(res).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["detail"], "A server error occurred.");
    assert!(body.get("role").is_none());
}
