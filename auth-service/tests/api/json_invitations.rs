//! The invitation endpoints of the JSON API, with a real SMTP server: list, create
//! (roles, existing members), delete (another tenant's id is 404), accept (bad tokens,
//! field errors, single use).

use auth_service::accounts::links::{self, NewLink};
use auth_service::entities::link_token::LinkKind;
use auth_service::tenants::SignupPolicy;
use reqwest::{Method, StatusCode};
use serde_json::json;
use shared_jwt::Role;

use super::helpers::*;
use super::json_helpers::*;
use test_support::db_tests;

db_tests!(
    json_invitations_list_create_delete_and_accept,
    json_invitations_concurrent_accepts_create_one_user,
);

const LIST: &str = "/api/v1/auth/invitations/";
const ACCEPT: &str = "/api/v1/auth/invitations/accept/";

fn token_of(link: &str) -> String {
    link.split_once("token=").unwrap().1.to_owned()
}

async fn json_invitations_list_create_delete_and_accept(b: Backend) {
    let app = TestApp::spawn_with_mail(b, |_| {}).await;
    let t = app.tenant("acme", SignupPolicy::InviteOnly, 10).await;
    app.user(&t, "olga@acme.test", Role::Owner).await;
    app.user(&t, "adam@acme.test", Role::Admin).await;
    app.user(&t, "mia@acme.test", Role::Member).await;
    let (owner, _) = tokens(&app, "acme", "olga@acme.test").await;
    let (admin, _) = tokens(&app, "acme", "adam@acme.test").await;
    let (member, _) = tokens(&app, "acme", "mia@acme.test").await;

    // Below admin: 403; anonymous: 401.
    let (status, _) = authed(&app, Method::GET, LIST, &member, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = status_json(call(&app, Method::GET, LIST, None, None).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let body = json!({"email": "ian@acme.test", "role": "member"});
    let (status, _) = authed(&app, Method::POST, LIST, &member, Some(body)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Validation, a role above the caller's, an existing member.
    let (status, body) = authed(
        &app,
        Method::POST,
        LIST,
        &owner,
        Some(json!({"email": format!("{}@acme.test", "x".repeat(300)), "role": "king"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["email", "role"]);
    let (status, body) = authed(
        &app,
        Method::POST,
        LIST,
        &admin,
        Some(json!({"email": "boss@acme.test", "role": "owner"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["detail"], "Only an owner can make owners.");
    let (status, body) = authed(
        &app,
        Method::POST,
        LIST,
        &admin,
        Some(json!({"email": "Mia@Acme.test", "role": "member"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["email"][0]
            .as_str()
            .unwrap()
            .contains("already has an account")
    );

    // Create, list.
    let (status, inv) = authed(
        &app,
        Method::POST,
        LIST,
        &admin,
        Some(json!({"email": "ian@acme.test", "role": "admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{inv}");
    assert_eq!(inv["email"], "ian@acme.test");
    assert_eq!(inv["role"], "admin");
    assert_eq!(inv["invited_by_name"], "Grace Hopper");
    let (status, list) = authed(&app, Method::GET, LIST, &owner, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], inv["id"]);
    let first = token_of(
        &app.mail()
            .wait_for("ian@acme.test")
            .await
            .link("/invite/accept?token="),
    );

    // Delete: another tenant's id and unknown ids are 404; then 204, and the link is dead.
    let other = app.tenant("globex", SignupPolicy::InviteOnly, 10).await;
    let (foreign, _) = links::issue(
        &app.state.db,
        NewLink {
            kind: LinkKind::Invitation,
            tenant_id: other.id,
            user_id: None,
            email: "x@globex.test".into(),
            role: Some(Role::Member.into()),
            created_by: None,
        },
    )
    .await
    .unwrap();
    for id in [
        foreign.id.to_string(),
        uuid::Uuid::new_v4().to_string(),
        "x".into(),
    ] {
        let (status, body) =
            authed(&app, Method::DELETE, &format!("{LIST}{id}/"), &owner, None).await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, json!({"detail": "Not found."})),
            "{id}"
        );
    }
    let url = format!("{LIST}{}/", inv["id"].as_str().unwrap());
    let (status, _) = authed(&app, Method::DELETE, &url, &admin, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let accept = |token: String, password: &'static str| {
        let app = &app;
        async move {
            post(
                app,
                ACCEPT,
                json!({"token": token, "first_name": "Ian", "last_name": "Vitee", "password": password}),
            )
            .await
        }
    };
    let (status, body) = accept(first.clone(), PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("ask the person who invited you")
    );

    // Invite again, accept: field errors first, then 201, then the token is used.
    let (status, _) = authed(
        &app,
        Method::POST,
        LIST,
        &owner,
        Some(json!({"email": "ian@acme.test", "role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let second = token_of(
        &app.mail()
            .wait_for_nth("ian@acme.test", 2)
            .await
            .link("/invite/accept?token="),
    );
    let (status, body) = post(&app, ACCEPT, json!({"token": second, "first_name": 7})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["first_name", "last_name", "password"]);
    let long = "x".repeat(101);
    let (status, body) = post(
        &app,
        ACCEPT,
        json!({"token": second, "first_name": long, "last_name": "V", "password": PASSWORD}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["first_name"]);
    let (status, body) = accept(second.clone(), "short").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["password"]);
    let (status, user) = accept(second.clone(), PASSWORD).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["email"], "ian@acme.test");
    assert_eq!(user["role"], "viewer");
    assert_eq!(user["tenant_slug"], "acme");
    let (status, body) = accept(second, PASSWORD).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.get("detail").is_some(), "{body}");
    // The new user can sign in, and the list is empty again.
    tokens(&app, "acme", "ian@acme.test").await;
    let (_, list) = authed(&app, Method::GET, LIST, &owner, None).await;
    assert_eq!(list, json!([]));
    assert_eq!(app.count_events("invitation_sent").await, 2);
    assert_eq!(app.count_events("invitation_revoked").await, 1);
    assert_eq!(app.count_events("invitation_accepted").await, 1);
}

async fn json_invitations_concurrent_accepts_create_one_user(b: Backend) {
    let app = TestApp::spawn_with_mail(b, |_| {}).await;
    let t = app.tenant("acme", SignupPolicy::InviteOnly, 10).await;
    app.user(&t, "olga@acme.test", Role::Owner).await;
    let (owner, _) = tokens(&app, "acme", "olga@acme.test").await;
    let (status, _) = authed(
        &app,
        Method::POST,
        LIST,
        &owner,
        Some(json!({"email": "ian@acme.test", "role": "member"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = token_of(
        &app.mail()
            .wait_for("ian@acme.test")
            .await
            .link("/invite/accept?token="),
    );
    let body =
        json!({"token": token, "first_name": "Ian", "last_name": "Vitee", "password": PASSWORD});
    let (a, b, c, d) = tokio::join!(
        post(&app, ACCEPT, body.clone()),
        post(&app, ACCEPT, body.clone()),
        post(&app, ACCEPT, body.clone()),
        post(&app, ACCEPT, body.clone()),
    );
    let mut statuses = vec![a.0, b.0, c.0, d.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST,
            StatusCode::BAD_REQUEST
        ]
    );
    assert_eq!(app.count_users().await, 2);
    assert_eq!(app.count_events("invitation_accepted").await, 1);
}
