//! The second factor: an authenticator app set up on the account page (the test computes
//! codes from the key the page shows, like an app would), `/login/verify`, recovery
//! codes, the throttle on codes, the JSON `jwt/create/mfa/` step and the `amr` claim.

use auth_service::accounts::mfa;
use serde_json::json;

use crate::api::helpers::{
    Backend, PASSWORD, TestApp, browser, csrf_from, find_cookie, location, raise_rate_limits,
};
use crate::api::json_helpers::post;
use test_support::db_tests;

db_tests!(
    mfa_is_enabled_only_after_a_correct_code_and_then_guards_the_sign_in,
    mfa_recovery_codes_work_once_and_a_new_set_replaces_the_old,
    mfa_wrong_codes_count_like_wrong_passwords_and_the_step_is_bound_to_the_browser,
    mfa_json_sign_in_needs_the_mfa_token_and_a_code,
    mfa_removing_the_factor_needs_the_password,
);

fn now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap()
}

fn code_at(secret: &str, time: u64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).unwrap();
    totp_rs::Builder::new()
        .with_secret(bytes.as_ref().to_vec())
        .build_noncompliant()
        .generate(time)
        .to_string()
}

fn between<'a>(body: &'a str, start: &str, end: &str) -> &'a str {
    let i = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} in {body}"))
        + start.len();
    &body[i..i + body[i..].find(end).unwrap()]
}

fn recovery_codes(body: &str) -> Vec<String> {
    let list = between(body, "<ul id=\"recovery-codes\">", "</ul>");
    list.split("<code>")
        .skip(1)
        .map(|s| s.split("</code>").next().unwrap().to_owned())
        .collect()
}

/// Signs in `app.client` as ada and sets up an authenticator app: (key, recovery codes).
async fn enable(app: &TestApp) -> (String, Vec<String>, String) {
    if app.get("/account/mfa").await.status() != 200 {
        assert_eq!(
            app.login("acme", "ada@acme.test", PASSWORD, "/")
                .await
                .status(),
            303
        );
    }
    let page = app.get("/account/mfa").await.text().await.unwrap();
    assert!(
        page.contains("Set up an authenticator app") || page.contains("totp-secret"),
        "{page}"
    );
    let token = csrf_from(&page);
    let res = app
        .post_form("/account/mfa/setup", &[("csrf_token", &token)])
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(page.contains("<svg"), "an inline SVG QR code");
    let secret = between(&page, "<code id=\"totp-secret\">", "</code>").to_owned();
    let first = code_at(&secret, now());
    let res = app
        .post_form(
            "/account/mfa/confirm",
            &[("csrf_token", &token), ("code", &first)],
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let codes = recovery_codes(&page);
    assert_eq!(codes.len(), 10);
    (secret, codes, first)
}

/// A new browser that typed the right password: it is at `/login/verify`.
async fn password_step(app: &TestApp, next: &str) -> (reqwest::Client, String) {
    let client = browser();
    let page = client.get(app.url("/login")).send().await.unwrap();
    let token = csrf_from(&page.text().await.unwrap());
    let res = client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("tenant", "acme"),
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login/verify"),
        "{}",
        location(&res)
    );
    assert!(
        find_cookie(&res, "access_token").is_none(),
        "no cookies before the code"
    );
    assert!(find_cookie(&res, "refresh_token").is_none());
    let page = client.get(app.url(&location(&res))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let token = csrf_from(&page.text().await.unwrap());
    (client, token)
}

async fn submit_code(
    app: &TestApp,
    client: &reqwest::Client,
    csrf: &str,
    code: &str,
    next: &str,
) -> reqwest::Response {
    client
        .post(app.url("/login/verify"))
        .form(&[("csrf_token", csrf), ("code", code), ("next", next)])
        .send()
        .await
        .unwrap()
}

async fn mfa_is_enabled_only_after_a_correct_code_and_then_guards_the_sign_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, user) = app.acme().await;
    // A wrong first code leaves the factor off.
    assert_eq!(
        app.login("acme", "ada@acme.test", PASSWORD, "/")
            .await
            .status(),
        303
    );
    let page = app.get("/account/mfa").await.text().await.unwrap();
    let token = csrf_from(&page);
    app.post_form("/account/mfa/setup", &[("csrf_token", &token)])
        .await;
    let res = app
        .post_form(
            "/account/mfa/confirm",
            &[("csrf_token", &token), ("code", "000000x")],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains(mfa::WRONG_CODE));
    assert!(
        !mfa::has_second_factor(&app.state.db, user.id)
            .await
            .unwrap()
    );
    // The secret is not stored in clear.
    let row = mfa::totp_row(&app.state.db, user.id)
        .await
        .unwrap()
        .unwrap();
    assert!(row.secret.len() > 20 + 16);

    let (secret, _, first) = enable(&app).await;
    assert!(
        mfa::has_second_factor(&app.state.db, user.id)
            .await
            .unwrap()
    );

    let last_login = || async {
        auth_service::users::find_by_email(&app.state.db, user.tenant_id, "ada@acme.test")
            .await
            .unwrap()
            .unwrap()
            .last_login_at
    };
    let before = last_login().await;
    let next = "http://localhost:8001/expenses";
    let (client, csrf) = password_step(&app, next).await;
    assert_eq!(
        last_login().await,
        before,
        "the password alone is not a sign-in"
    );
    // The code that confirmed the set-up was spent: no replay inside its window.
    let res = submit_code(&app, &client, &csrf, &first, next).await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains(mfa::WRONG_CODE));
    // The next step's code (within ±1 step) completes the sign-in and `next` survives.
    let code = code_at(&secret, now() + 30);
    let res = submit_code(&app, &client, &csrf, &code, next).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), next);
    let access = find_cookie(&res, "access_token").unwrap();
    assert!(find_cookie(&res, "refresh_token").is_some());
    let claims = app.state.verifier.verify(access.value()).unwrap();
    assert_eq!(claims.amr, vec!["pwd", "otp", "mfa"]);
    let after = last_login().await;
    assert!(
        after.is_some() && after > before,
        "the second step records the sign-in time"
    );
    // The pending step is spent, and so is the code.
    let res = submit_code(&app, &client, &csrf, &code, next).await;
    assert_eq!(res.status(), 401);
    let (client2, csrf2) = password_step(&app, "/").await;
    let res = submit_code(&app, &client2, &csrf2, &code, "/").await;
    assert_eq!(res.status(), 401);
    // A refreshed token keeps the sign-in's amr.
    let refreshed = client.get(app.url("/refresh")).send().await.unwrap();
    if let Some(c) = find_cookie(&refreshed, "access_token") {
        let claims = app.state.verifier.verify(c.value()).unwrap();
        assert_eq!(claims.amr, vec!["pwd", "otp", "mfa"]);
    }
    // A password-only sign-in (another user) says so.
    let (tenant, _) = (
        app.tenant("other", auth_service::tenants::SignupPolicy::Open, 5)
            .await,
        (),
    );
    app.user(&tenant, "bob@other.test", shared_jwt::Role::Member)
        .await;
    let create = json!({"tenant_slug": "other", "email": "bob@other.test", "password": PASSWORD});
    let (status, body) = post(&app, "/api/v1/auth/jwt/create/", create).await;
    assert_eq!(status, 200, "{body}");
    let claims = app
        .state
        .verifier
        .verify(body["access"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.amr, vec!["pwd"]);
}

async fn mfa_recovery_codes_work_once_and_a_new_set_replaces_the_old(b: Backend) {
    let app = TestApp::spawn_with(b, raise_rate_limits).await;
    let (_, user) = app.acme().await;
    let (_, codes, _) = enable(&app).await;
    let (client, csrf) = password_step(&app, "/").await;
    let res = submit_code(&app, &client, &csrf, &codes[0].to_uppercase(), "/").await;
    assert_eq!(res.status(), 303, "a recovery code, typed in capitals");
    assert_eq!(app.count_events("recovery_code_used").await, 1);
    assert_eq!(
        mfa::recovery_codes_left(&app.state.db, user.id)
            .await
            .unwrap(),
        9
    );
    // Used once.
    let (client, csrf) = password_step(&app, "/").await;
    let res = submit_code(&app, &client, &csrf, &codes[0], "/").await;
    assert_eq!(res.status(), 401);
    // A new set: the old codes die.
    let page = app.get("/account/mfa").await.text().await.unwrap();
    assert!(page.contains("<span id=\"codes-left\">9</span>"), "{page}");
    let token = csrf_from(&page);
    let res = app
        .post_form("/account/mfa/recovery-codes", &[("csrf_token", &token)])
        .await;
    assert_eq!(res.status(), 200);
    let fresh = recovery_codes(&res.text().await.unwrap());
    assert_eq!(fresh.len(), 10);
    let res = submit_code(&app, &client, &csrf, &codes[1], "/").await;
    assert_eq!(res.status(), 401);
    let res = submit_code(&app, &client, &csrf, &fresh[1], "/").await;
    assert_eq!(res.status(), 303);
}

async fn mfa_wrong_codes_count_like_wrong_passwords_and_the_step_is_bound_to_the_browser(
    b: Backend,
) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let (secret, _, _) = enable(&app).await;
    let (client, csrf) = password_step(&app, "/").await;
    // Another browser (no pending cookie) cannot use the step.
    let other = browser();
    let page = other.get(app.url("/login")).send().await.unwrap();
    let other_csrf = csrf_from(&page.text().await.unwrap());
    let res = submit_code(
        &app,
        &other,
        &other_csrf,
        &code_at(&secret, now() + 30),
        "/",
    )
    .await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains(mfa::STEP_EXPIRED));
    // Malformed and wrong codes are failures, counted before the check: the account
    // locks for this address after as many as wrong passwords.
    let before = app.count_events("login_failure").await;
    for code in ["12345", "abcdef", "000000", "999999", "123456"] {
        let res = submit_code(&app, &client, &csrf, code, "/").await;
        assert_eq!(res.status(), 401, "{code}");
    }
    assert!(app.count_events("login_failure").await >= before + 4);
    let res = submit_code(&app, &client, &csrf, &code_at(&secret, now() + 30), "/").await;
    assert_eq!(res.status(), 429);
    assert!(res.headers().get("retry-after").is_some());
    assert!(find_cookie(&res, "access_token").is_none());
}

async fn mfa_json_sign_in_needs_the_mfa_token_and_a_code(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let (secret, codes, _) = enable(&app).await;
    let create = json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD});
    let (status, body) = post(&app, "/api/v1/auth/jwt/create/", create.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "mfa_required");
    assert!(body["detail"].is_string());
    assert!(body.get("access").is_none());
    let token = body["mfa_token"].as_str().unwrap().to_owned();
    let mfa_path = "/api/v1/auth/jwt/create/mfa/";
    let (status, body) = post(&app, mfa_path, json!({"mfa_token": token})).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = post(
        &app,
        mfa_path,
        json!({"mfa_token": token, "code": "000000"}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "mfa_code_invalid");
    let code = code_at(&secret, now() + 30);
    let (status, body) = post(&app, mfa_path, json!({"mfa_token": token, "code": code})).await;
    assert_eq!(status, 200, "{body}");
    let claims = app
        .state
        .verifier
        .verify(body["access"].as_str().unwrap())
        .unwrap();
    assert_eq!(claims.amr, vec!["pwd", "otp", "mfa"]);
    assert!(body["refresh"].is_string());
    // Single use, and a made-up token is refused the same way.
    let (status, body) = post(
        &app,
        mfa_path,
        json!({"mfa_token": token, "code": codes[0]}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "mfa_token_invalid");
    let (status, _) = post(
        &app,
        mfa_path,
        json!({"mfa_token": "nope", "code": codes[0]}),
    )
    .await;
    assert_eq!(status, 401);
    // A fresh token with a recovery code works.
    let (_, body) = post(&app, "/api/v1/auth/jwt/create/", create).await;
    let token = body["mfa_token"].as_str().unwrap();
    let (status, _) = post(
        &app,
        mfa_path,
        json!({"mfa_token": token, "code": codes[0]}),
    )
    .await;
    assert_eq!(status, 200);
}

async fn mfa_removing_the_factor_needs_the_password(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (_, user) = app.acme().await;
    enable(&app).await;
    let res = app.get("/account/mfa").await;
    let status = res.status();
    let page = res.text().await.unwrap();
    assert_eq!(status, 200, "{page}");
    let token = csrf_from(&page);
    let res = app
        .post_form(
            "/account/mfa/disable",
            &[("csrf_token", &token), ("password", "wrong")],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(
        mfa::has_second_factor(&app.state.db, user.id)
            .await
            .unwrap()
    );
    let res = app
        .post_form(
            "/account/mfa/disable",
            &[("csrf_token", &token), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        !mfa::has_second_factor(&app.state.db, user.id)
            .await
            .unwrap()
    );
    assert_eq!(
        mfa::recovery_codes_left(&app.state.db, user.id)
            .await
            .unwrap(),
        0
    );
    assert_eq!(app.count_events("mfa_disabled").await, 1);
    // The password alone signs in again.
    let create = json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD});
    let (status, body) = post(&app, "/api/v1/auth/jwt/create/", create).await;
    assert_eq!(status, 200, "{body}");
}

db_tests!(mfa_tenant_policy_requires_a_factor_before_any_token);

async fn mfa_tenant_policy_requires_a_factor_before_any_token(b: Backend) {
    use auth_service::accounts::admin::Actor;
    use auth_service::accounts::organization::{self, TenantChange};
    use auth_service::entities::tenant::MfaPolicy;
    let app = TestApp::spawn(b).await;
    let (tenant, user) = app.acme().await;
    let change = TenantChange {
        mfa_required: Some(MfaPolicy::Everyone),
        ..TenantChange::default()
    };
    let ctx = auth_service::infra::audit::EventContext::default();
    organization::update_settings(&app.state.db, Actor::Operator, tenant.id, change, &ctx)
        .await
        .unwrap();
    // JSON: no token until a factor exists.
    let create = json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD});
    let (status, body) = post(&app, "/api/v1/auth/jwt/create/", create.clone()).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "mfa_setup_required");
    assert!(body.get("access").is_none());
    // The browser is taken to the set-up right after the password, without cookies.
    let next = "http://localhost:8001/expenses";
    let res = app.login("acme", "ada@acme.test", PASSWORD, next).await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login/setup"),
        "{}",
        location(&res)
    );
    assert!(find_cookie(&res, "access_token").is_none());
    let page = app.get(&location(&res)).await.text().await.unwrap();
    let secret = between(&page, "<code id=\"totp-secret\">", "</code>").to_owned();
    let csrf = csrf_from(&page);
    let res = app
        .post_form(
            "/login/setup",
            &[("csrf_token", &csrf), ("code", "000000"), ("next", next)],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(find_cookie(&res, "access_token").is_none());
    let res = app
        .post_form(
            "/login/setup",
            &[
                ("csrf_token", &csrf),
                ("code", &code_at(&secret, now())),
                ("next", next),
            ],
        )
        .await;
    assert_eq!(res.status(), 200);
    let access = find_cookie(&res, "access_token").expect("signed in once set up");
    let claims = app.state.verifier.verify(access.value()).unwrap();
    assert_eq!(claims.amr, vec!["pwd", "otp", "mfa"]);
    let page = res.text().await.unwrap();
    assert_eq!(recovery_codes(&page).len(), 10);
    // The set-up step belongs to the browser holding the pending sign-in (and is spent now).
    let stranger = reqwest::Client::new();
    let res = stranger
        .get(app.url("/login/setup?next=/"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains(mfa::STEP_EXPIRED));
    let res = app.get("/login/setup").await;
    assert_eq!(
        res.status(),
        401,
        "the pending step was spent by the set-up"
    );
    assert!(page.contains(next));
    assert!(
        mfa::has_second_factor(&app.state.db, user.id)
            .await
            .unwrap()
    );
    // Now the JSON sign-in asks for a code, and the factor cannot be removed.
    let (_, body) = post(&app, "/api/v1/auth/jwt/create/", create).await;
    assert_eq!(body["code"], "mfa_required");
    let page = app.get("/account/mfa").await.text().await.unwrap();
    let csrf = csrf_from(&page);
    let res = app
        .post_form(
            "/account/mfa/disable",
            &[("csrf_token", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(
        mfa::has_second_factor(&app.state.db, user.id)
            .await
            .unwrap()
    );
}
