//! `GET users/` and `PATCH users/{id}/` for owners and admins: pagination, roles,
//! tenant scoping (404), the last owner, and deactivation ending every session.

use auth_service::tenants::SignupPolicy;
use reqwest::{Method, StatusCode};
use serde_json::json;
use shared_jwt::Role;

use crate::api::helpers::{Backend, TestApp};
use crate::api::json_helpers::{authed, call, post, status_json, tokens};
use test_support::db_tests;

db_tests!(
    owners_and_admins_list_their_tenant_page_by_page,
    roles_limit_who_changes_whom_and_other_tenants_are_not_found,
    the_last_owner_stays_and_deactivation_ends_every_session,
    two_owners_demoting_each_other_at_once_leave_one_owner,
);

const USERS: &str = "/api/v1/auth/users/";

fn user_url(id: impl std::fmt::Display) -> String {
    format!("/api/v1/auth/users/{id}/")
}

async fn owners_and_admins_list_their_tenant_page_by_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    let acme = app.tenant("acme", SignupPolicy::Open, 10).await;
    app.user(&acme, "olivia@acme.test", Role::Owner).await;
    app.user(&acme, "adam@acme.test", Role::Admin).await;
    app.user(&acme, "mia@acme.test", Role::Member).await;
    let globex = app.tenant("globex", SignupPolicy::Open, 10).await;
    app.user(&globex, "eve@globex.test", Role::Owner).await;

    let (owner, _) = tokens(&app, "acme", "olivia@acme.test").await;
    let (status, page) = authed(&app, Method::GET, USERS, &owner, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["count"], 3);
    assert!(page["next"].is_null() && page["previous"].is_null());
    let emails: Vec<&str> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails.len(), 3);
    assert!(!emails.contains(&"eve@globex.test"));

    let (admin, _) = tokens(&app, "acme", "adam@acme.test").await;
    let (status, page) = authed(
        &app,
        Method::GET,
        &format!("{USERS}?page=2&page_size=1"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["results"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["next"],
        "http://localhost:8000/api/v1/auth/users/?page=3&page_size=1"
    );
    assert_eq!(
        page["previous"],
        "http://localhost:8000/api/v1/auth/users/?page=1&page_size=1"
    );
    let (status, body) = authed(&app, Method::GET, &format!("{USERS}?page=9"), &admin, None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Invalid page."}))
    );
    let (status, body) = authed(
        &app,
        Method::GET,
        &format!("{USERS}?page_size=1000"),
        &admin,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["page_size"].is_array());

    let (member, _) = tokens(&app, "acme", "mia@acme.test").await;
    let (status, body) = authed(&app, Method::GET, USERS, &member, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["detail"],
        "You do not have permission to perform this action."
    );
    let res = call(&app, Method::GET, USERS, None, None).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

async fn roles_limit_who_changes_whom_and_other_tenants_are_not_found(b: Backend) {
    let app = TestApp::spawn(b).await;
    let acme = app.tenant("acme", SignupPolicy::Open, 10).await;
    let olivia = app.user(&acme, "olivia@acme.test", Role::Owner).await;
    let adam = app.user(&acme, "adam@acme.test", Role::Admin).await;
    let mia = app.user(&acme, "mia@acme.test", Role::Member).await;
    let globex = app.tenant("globex", SignupPolicy::Open, 10).await;
    let eve = app.user(&globex, "eve@globex.test", Role::Member).await;
    let (owner, _) = tokens(&app, "acme", "olivia@acme.test").await;
    let (admin, _) = tokens(&app, "acme", "adam@acme.test").await;
    let (member, _) = tokens(&app, "acme", "mia@acme.test").await;

    // An admin manages members but neither makes nor changes owners.
    let (status, body) = authed(
        &app,
        Method::PATCH,
        &user_url(mia.id),
        &admin,
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["role"], "viewer");
    let (status, body) = authed(
        &app,
        Method::PATCH,
        &user_url(mia.id),
        &admin,
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["detail"], "Only an owner can make owners.");
    let (status, body) = authed(
        &app,
        Method::PATCH,
        &user_url(olivia.id),
        &admin,
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["detail"], "Only an owner can change an owner.");
    // Without a token, or with a broken one: 401.
    let res = call(
        &app,
        Method::PATCH,
        &user_url(mia.id),
        None,
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = authed(
        &app,
        Method::PATCH,
        &user_url(mia.id),
        "x.y.z",
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("token_not_valid"))
    );
    // A member manages nobody.
    let (status, _) = authed(
        &app,
        Method::PATCH,
        &user_url(adam.id),
        &member,
        Some(json!({"role": "member"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Another tenant's user, an unknown id and a non-id: 404 alike.
    for url in [
        user_url(eve.id),
        user_url(uuid::Uuid::new_v4()),
        user_url("nope"),
    ] {
        let (status, body) = authed(
            &app,
            Method::PATCH,
            &url,
            &owner,
            Some(json!({"role": "admin"})),
        )
        .await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, json!({"detail": "Not found."}))
        );
    }
    // Validation.
    let (status, body) = authed(
        &app,
        Method::PATCH,
        &user_url(mia.id),
        &owner,
        Some(json!({"role": "king", "is_active": "yes"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["role"][0], "\"king\" is not a valid choice.");
    assert_eq!(body["is_active"][0], "Must be a valid boolean.");
    // The owner makes another owner.
    let (status, body) = authed(
        &app,
        Method::PATCH,
        &user_url(adam.id),
        &owner,
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(
        (status, body["role"].clone()),
        (StatusCode::OK, json!("owner"))
    );
    // Each change audited as what it is.
    assert!(app.count_events("role_changed").await >= 2);
    let _ = eve;
}

async fn the_last_owner_stays_and_deactivation_ends_every_session(b: Backend) {
    let app = TestApp::spawn(b).await;
    let acme = app.tenant("acme", SignupPolicy::Open, 10).await;
    let olivia = app.user(&acme, "olivia@acme.test", Role::Owner).await;
    let mia = app.user(&acme, "mia@acme.test", Role::Member).await;
    let (owner, _) = tokens(&app, "acme", "olivia@acme.test").await;
    for change in [json!({"role": "admin"}), json!({"is_active": false})] {
        let (status, body) = authed(
            &app,
            Method::PATCH,
            &user_url(olivia.id),
            &owner,
            Some(change),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let msgs: Vec<_> = body.as_object().unwrap().values().collect();
        assert_eq!(
            msgs,
            [&json!([
                "The organization must keep at least one active owner."
            ])]
        );
    }
    // Deactivating the member revokes all of their sessions at once.
    let (mia_access, mia_refresh) = tokens(&app, "acme", "mia@acme.test").await;
    let (status, body) = authed(
        &app,
        Method::PATCH,
        &user_url(mia.id),
        &owner,
        Some(json!({"is_active": false})),
    )
    .await;
    assert_eq!(
        (status, body["is_active"].clone()),
        (StatusCode::OK, json!(false))
    );
    let (status, _) = post(
        &app,
        "/api/v1/auth/jwt/refresh/",
        json!({"refresh": mia_refresh}),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = authed(
        &app,
        Method::GET,
        "/api/v1/auth/users/me/",
        &mia_access,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = status_json(
        call(
            &app,
            Method::POST,
            "/api/v1/auth/jwt/create/",
            None,
            Some(json!({"tenant_slug": "acme", "email": "mia@acme.test", "password": crate::api::helpers::PASSWORD})),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn two_owners_demoting_each_other_at_once_leave_one_owner(b: Backend) {
    let app = TestApp::spawn(b).await;
    let acme = app.tenant("acme", SignupPolicy::Open, 10).await;
    let olivia = app.user(&acme, "olivia@acme.test", Role::Owner).await;
    let oscar = app.user(&acme, "oscar@acme.test", Role::Owner).await;
    let (t_olivia, _) = tokens(&app, "acme", "olivia@acme.test").await;
    let (t_oscar, _) = tokens(&app, "acme", "oscar@acme.test").await;
    let demote = json!({"role": "member"});
    let (url_oscar, url_olivia) = (user_url(oscar.id), user_url(olivia.id));
    let (a, b) = tokio::join!(
        authed(
            &app,
            Method::PATCH,
            &url_oscar,
            &t_olivia,
            Some(demote.clone())
        ),
        authed(
            &app,
            Method::PATCH,
            &url_olivia,
            &t_oscar,
            Some(demote.clone())
        ),
    );
    // Exactly one wins; the other is refused as the last owner (400) or, when it
    // started after the first finished, as no longer an owner (403).
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(statuses[0], StatusCode::OK, "{a:?} {b:?}");
    assert!(
        [StatusCode::BAD_REQUEST, StatusCode::FORBIDDEN].contains(&statuses[1]),
        "{a:?} {b:?}"
    );
    let (_, page) = authed(
        &app,
        Method::GET,
        USERS,
        if a.0 == StatusCode::OK {
            &t_olivia
        } else {
            &t_oscar
        },
        None,
    )
    .await;
    let owners = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == "owner")
        .count();
    assert_eq!(owners, 1);
}
