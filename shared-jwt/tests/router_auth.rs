//! The axum layer and extractors through a real router (tower `oneshot`): what a browser and an
//! API client see for missing, invalid and insufficient credentials.

use crate::common::app::*;
use crate::common::*;
use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use serde_json::Value;
use shared_jwt::{Claims, Role};
use tower::ServiceExt;

#[tokio::test]
async fn a_valid_cookie_or_bearer_token_reaches_the_handler() {
    let app = app();
    let token = app.token(Role::Member);
    let (status, _, body) = app.get("/", &[("cookie", &cookie(&token))]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "hello Ada Lovelace")
    );
    let (status, _, body) = app
        .get(
            "/api/v1/me",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let claims: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(claims["user_role"], "member");
    assert_eq!(claims["token_type"], "access");
}

#[tokio::test]
async fn html_requests_without_a_valid_token_are_redirected_to_sign_in_with_this_url() {
    let app = app();
    let expected = "https://auth.example.com/login?next=https%3A%2F%2Fexpenses.example.com%2Freports%3Fmonth%3D2026-11%26page%3D2";
    for headers in [
        vec![],
        vec![("cookie", "access_token=not.a.token")],
        vec![("cookie", "access_token=eyJhbGciOiJub25lIn0.e30.")],
        // A spoofed Host never reaches the redirect.
        vec![
            ("host", "evil.example"),
            ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        ],
        vec![
            ("sec-fetch-mode", "navigate"),
            ("x-forwarded-host", "evil.example"),
        ],
    ] {
        let (status, h, _) = app.get("/reports?month=2026-11&page=2", &headers).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{headers:?}");
        assert_eq!(location(&h), expected, "{headers:?}");
        assert_eq!(h.get(header::CACHE_CONTROL).unwrap(), "no-store");
    }
}

#[tokio::test]
async fn an_expired_cookie_is_redirected_too() {
    let app = app();
    let mut claims: Claims = serde_json::from_value(claims_json()).unwrap();
    claims.exp = now() - 10;
    let expired = app.signer.issue_claims(&claims).unwrap();
    let (status, h, _) = app.get("/", &[("cookie", &cookie(&expired))]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        location(&h),
        "https://auth.example.com/login?next=https%3A%2F%2Fexpenses.example.com%2F"
    );
}

#[tokio::test]
async fn api_requests_without_a_valid_token_get_401_json() {
    let app = app();
    let login =
        "https://auth.example.com/login?next=https%3A%2F%2Fexpenses.example.com%2Fapi%2Fv1%2Fme";
    for (uri, headers) in [
        ("/api/v1/me", vec![]),
        ("/api/v1/me", vec![("authorization", "Bearer garbage")]),
        ("/api/v1/me", vec![("cookie", "access_token=x.y.z")]),
        ("/reports", vec![("accept", "application/json")]),
        ("/reports", vec![("sec-fetch-mode", "cors")]),
    ] {
        let (status, h, body) = app.get(uri, &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} {headers:?}");
        assert_eq!(
            h.get(header::WWW_AUTHENTICATE).unwrap(),
            "Bearer error=\"invalid_token\""
        );
        assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), "application/json");
        let json: Value = serde_json::from_str(&body).unwrap();
        assert!(json["detail"].as_str().unwrap().len() > 10);
        if uri == "/api/v1/me" {
            assert_eq!(json["login_url"], login);
        } else {
            assert_eq!(
                json["login_url"],
                "https://auth.example.com/login?next=https%3A%2F%2Fexpenses.example.com%2Freports"
            );
        }
    }
}

#[tokio::test]
async fn optional_user_is_none_without_a_valid_token() {
    let app = app();
    let (status, _, body) = app.get("/maybe", &[("cookie", "access_token=bad")]).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "anonymous"));
    let token = app.token(Role::Viewer);
    let (_, _, body) = app.get("/maybe", &[("cookie", &cookie(&token))]).await;
    assert_eq!(body, "Ada Lovelace");
}

#[tokio::test]
async fn a_planted_bogus_cookie_does_not_hide_the_real_one() {
    let app = app();
    let token = app.token(Role::Member);
    let header = format!("access_token=planted.by.sibling; access_token={token}");
    let (status, _, _) = app.get("/", &[("cookie", &header)]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn role_guards_answer_403_page_or_json() {
    let app = app();
    let member = app.token(Role::Member);
    let admin = app.token(Role::Admin);
    let (status, h, body) = app.get("/admin", &[("cookie", &cookie(&member))]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        h.get(header::CONTENT_TYPE)
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(body.contains("You do not have permission"));
    let (status, h, body) = app
        .get(
            "/api/v1/admin",
            &[("authorization", &format!("Bearer {member}"))],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(h.get(header::CONTENT_TYPE).unwrap(), "application/json");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["detail"],
        "You do not have permission to perform this action."
    );
    let (status, _, body) = app.get("/admin", &[("cookie", &cookie(&admin))]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "admin Ada Lovelace")
    );
    let (status, _, _) = app.get("/owner", &[("cookie", &cookie(&admin))]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let owner = app.token(Role::Owner);
    let (status, _, _) = app.get("/owner", &[("cookie", &cookie(&owner))]).await;
    assert_eq!(status, StatusCode::OK);
    // Unauthenticated still redirects rather than 403.
    let (status, _, _) = app.get("/admin", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn extractors_without_the_layer_fail_closed_not_500() {
    let router = Router::new().route("/", get(home));
    let res = router
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_login_redirect_keeps_the_full_path_when_the_layer_sits_in_a_nested_router() {
    let key = shared_jwt::SigningKey::generate(shared_jwt::Algorithm::EdDSA).unwrap();
    let ctx = context(&key, None, "https://expenses.example.com");
    let inner = Router::new()
        .route("/reports", get(home))
        .layer(shared_jwt::AuthLayer::new(ctx));
    let app = Router::new().nest("/app", inner);
    let res = app
        .oneshot(
            Request::get("/app/reports?y=2026")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()[header::LOCATION],
        "https://auth.example.com/login?next=https%3A%2F%2Fexpenses.example.com%2Fapp%2Freports%3Fy%3D2026"
    );
}
