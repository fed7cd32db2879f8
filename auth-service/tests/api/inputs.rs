//! No input can crash a request: arbitrary strings and bytes (test-support's `inputs`) fed
//! over real HTTP to every query, form and path parser of the service — the pages' `next` and
//! `tenant`, `GET users/`'s paging, the ids in paths, the sign-in, sign-up and sign-out
//! forms (with a valid CSRF token, so the typed forms really parse them), and the token
//! verifier (bearer, cookie, `jwt/verify/`, `jwt/refresh/`) — answer 2xx, 3xx or 4xx, never
//! a 5xx nor a dropped connection. Also the two paging values that used to drop the
//! connection, by name.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::json;
use shared_jwt::Role;
use test_support::db_tests;
use test_support::inputs::{encode, never_5xx, segment, urlencoded, value};

use crate::api::helpers::{Backend, TestApp};
use crate::api::json_helpers::{authed, tokens};

db_tests!(paging_beyond_any_integer_is_a_400_naming_the_range);
db_tests!(blocking; no_query_form_path_or_token_gets_a_5xx);

const USERS: &str = "/api/v1/auth/users/";

async fn paging_beyond_any_integer_is_a_400_naming_the_range(b: Backend) {
    let app = TestApp::spawn(b).await;
    let acme = app
        .tenant("acme", auth_service::tenants::SignupPolicy::Open, 10)
        .await;
    app.user(&acme, "olivia@acme.test", Role::Owner).await;
    let (owner, _) = tokens(&app, "acme", "olivia@acme.test").await;
    for page in [
        "18446744073709551615",
        "9223372036854775808",
        "1000001",
        "0",
        "x",
    ] {
        let path = format!("{USERS}?page={page}");
        let (status, body) = authed(&app, Method::GET, &path, &owner, None).await;
        assert_eq!(
            (status, body),
            (
                StatusCode::BAD_REQUEST,
                json!({"page": ["page must be a whole number between 1 and 1000000."]})
            ),
            "{page}"
        );
    }
    let path = format!("{USERS}?page_size=18446744073709551616");
    let (status, body) = authed(&app, Method::GET, &path, &owner, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["page_size"][0],
        "page_size must be a whole number between 1 and 100."
    );
    let path = format!("{USERS}?page=1000000&page_size=100");
    let (status, body) = authed(&app, Method::GET, &path, &owner, None).await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Invalid page."})),
        "the largest page is past the end, not an overflow"
    );
}

fn no_query_form_path_or_token_gets_a_5xx(backend: Backend) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let app = rt.block_on(TestApp::spawn(backend));
    let (owner, csrf) = rt.block_on(async {
        let acme = app
            .tenant("acme", auth_service::tenants::SignupPolicy::Open, 10)
            .await;
        app.user(&acme, "olivia@acme.test", Role::Owner).await;
        let (owner, _) = tokens(&app, "acme", "olivia@acme.test").await;
        let res = app
            .login(
                "acme",
                "olivia@acme.test",
                crate::api::helpers::PASSWORD,
                "/",
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "the browser is signed in"
        );
        (owner, app.csrf_token("/").await)
    });
    let client = &app.client;
    let url = |path: &str| app.url(path);

    let pages = proptest::sample::select(&["/login", "/register", "/logout", "/refresh", "/"][..]);
    never_5xx(
        &rt,
        "page query",
        (pages, urlencoded(&["next", "tenant"])),
        |(p, q)| client.get(url(&format!("{p}?{q}"))).send(),
    );
    never_5xx(
        &rt,
        "users/ query",
        urlencoded(&["page", "page_size"]),
        |q| {
            client
                .get(url(&format!("{USERS}?{q}")))
                .bearer_auth(&owner)
                .send()
        },
    );
    never_5xx(&rt, "users/{id}/ path", segment(), |id| {
        let req = client.request(Method::PATCH, url(&format!("{USERS}{id}/")));
        req.bearer_auth(&owner).json(&json!({})).send()
    });
    let form = |path: String, fields: String| {
        client
            .post(url(&path))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("csrf_token={csrf}&{fields}"))
            .send()
    };
    never_5xx(&rt, "sessions/{id}/revoke path", segment(), |id| {
        form(format!("/sessions/{id}/revoke"), String::new())
    });
    never_5xx(&rt, "token verifier", value(), |raw| {
        let text = String::from_utf8_lossy(&raw).into_owned();
        let token = encode(&raw);
        let (cookie, bearer) = (format!("access_token={token}"), format!("Bearer {token}"));
        let me = client
            .get(url("/api/v1/auth/users/me/"))
            .header(AUTHORIZATION, bearer);
        let account = client.get(url("/")).header(COOKIE, cookie);
        let verify = client
            .post(url("/api/v1/auth/jwt/verify/"))
            .json(&json!({"token": text}));
        let refresh = client
            .post(url("/api/v1/auth/jwt/refresh/"))
            .json(&json!({"refresh": text}));
        async move {
            for req in [me, account, refresh] {
                let res = req.send().await?;
                if res.status().is_server_error() {
                    return Ok(res);
                }
            }
            verify.send().await
        }
    });
    // Members, invitations and settings (the browser is the owner).
    let pages = proptest::sample::select(&["/members", "/organization", "/invite/accept"][..]);
    never_5xx(
        &rt,
        "members pages' query",
        (pages, urlencoded(&["done", "token"])),
        |(p, q)| client.get(url(&format!("{p}?{q}"))).send(),
    );
    let actions = proptest::sample::select(
        &[
            "invitations/{}/revoke",
            "users/{}/role",
            "users/{}/deactivate",
        ][..],
    );
    never_5xx(&rt, "members paths", (actions, segment()), |(a, id)| {
        form(
            format!("/members/{}", a.replace("{}", &id)),
            "role=admin".to_owned(),
        )
    });
    never_5xx(&rt, "invitations/{id}/ path", segment(), |id| {
        let req = client.request(
            Method::DELETE,
            url(&format!("/api/v1/auth/invitations/{id}/")),
        );
        req.bearer_auth(&owner).send()
    });
    let forms =
        proptest::sample::select(&["/members/invite", "/organization", "/invite/accept"][..]);
    let fields = urlencoded(&[
        "email",
        "role",
        "name",
        "signup_policy",
        "max_users",
        "token",
        "first_name",
        "last_name",
        "password",
        "password_confirm",
    ]);
    never_5xx(&rt, "members forms", (forms, fields), |(p, f)| {
        form(p.to_owned(), f)
    });
    // Last: a sign-out form ends the browser's sign-in.
    let forms = proptest::sample::select(&["/login", "/register", "/logout", "/logout/all"][..]);
    let fields = urlencoded(&[
        "tenant",
        "email",
        "password",
        "first_name",
        "last_name",
        "password_confirm",
        "organization",
        "new_organization",
        "next",
    ]);
    never_5xx(&rt, "page forms", (forms, fields), |(p, f)| {
        form(p.to_owned(), f)
    });
}
