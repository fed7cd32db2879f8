//! The cookies in a real HTTP exchange: a server on 127.0.0.1:0 sets them with the helpers, a
//! cookie-store client (reqwest) sends them back, the layer authenticates from them, and the
//! removal cookies really remove them.

use std::time::Duration;

use crate::common::app::context;
use crate::common::*;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use shared_jwt::{Algorithm, AuthLayer, CookieSettings, CurrentUser, Role};

fn set_cookies(cookies: &[cookie::Cookie<'static>]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for c in cookies {
        headers.append(
            header::SET_COOKIE,
            HeaderValue::from_str(&c.to_string()).unwrap(),
        );
    }
    headers
}

#[tokio::test]
async fn a_browser_like_client_signs_in_is_recognised_and_signs_out() {
    let key = key(Algorithm::EdDSA);
    let token = signer(&key).issue(&input(Role::Admin)).unwrap();
    let ctx = context(&key, None, "http://127.0.0.1");
    let cookies: CookieSettings = ctx.cookies.clone();
    let (set_in, set_out) = (cookies.clone(), cookies.clone());
    let app = Router::new()
        .route(
            "/me",
            get(|CurrentUser(c): CurrentUser| async move { c.name.clone() }),
        )
        .route(
            "/signin",
            post(move || async move {
                let jar = [
                    set_in.access_cookie(&token),
                    set_in.refresh_cookie("opaque-refresh"),
                ];
                (StatusCode::NO_CONTENT, set_cookies(&jar)).into_response()
            }),
        )
        .route(
            "/signout",
            post(move || async move {
                let jar = [
                    set_out.remove_access_cookie(),
                    set_out.remove_refresh_cookie(),
                ];
                (StatusCode::NO_CONTENT, set_cookies(&jar)).into_response()
            }),
        )
        .route(
            "/refresh-seen",
            get(move |headers: HeaderMap| async move {
                cookies.read_refresh(&headers).unwrap_or_default()
            }),
        )
        .layer(AuthLayer::new(ctx));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let me = || {
        client
            .get(format!("{base}/me"))
            .header("accept", "text/html")
            .send()
    };

    assert_eq!(
        me().await.unwrap().status(),
        StatusCode::SEE_OTHER,
        "not signed in yet"
    );
    let res = client.post(format!("{base}/signin")).send().await.unwrap();
    assert_eq!(res.headers().get_all(header::SET_COOKIE).iter().count(), 2);
    let res = me().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "Ada Lovelace");
    let seen = client
        .get(format!("{base}/refresh-seen"))
        .send()
        .await
        .unwrap();
    assert_eq!(seen.text().await.unwrap(), "opaque-refresh");

    client.post(format!("{base}/signout")).send().await.unwrap();
    let res = me().await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the removal cookie removed it"
    );
    let seen = client
        .get(format!("{base}/refresh-seen"))
        .send()
        .await
        .unwrap();
    assert_eq!(seen.text().await.unwrap(), "");
}
