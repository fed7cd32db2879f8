//! Passkeys over HTTP with a software authenticator ([`SoftKey`]: real P-256 signatures):
//! registering, naming, renaming and removing one on `/account/mfa`; the passkey as the
//! second step after the password; "Sign in with a passkey" without a user name; and the
//! refusals — a replayed or expired ceremony, another origin or RP ID, another user's
//! credential or user handle, a counter going back, a missing user verification — each
//! with a clear message and nothing changed.

use std::sync::Arc;

use auth_service::accounts::{mfa, passkeys};
use auth_service::entities::tenant::MfaPolicy;
use auth_service::entities::{passkey, passkey_challenge, refresh_family};
use reqwest::StatusCode;
use reqwest::cookie::Jar;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};
use shared_jwt::Role;

use crate::api::helpers::{
    Backend, PASSWORD, TestApp, alert, csrf_from, find_cookie, location, raise_rate_limits,
};
use crate::api::json_helpers::post;
use crate::api::passkey_helpers::{Claims, SoftKey};
use test_support::db_tests;

db_tests!(
    passkeys_are_registered_named_renamed_and_removed_on_the_account_page,
    passkeys_are_a_second_step_after_the_password_counted_like_codes,
    passkeys_sign_in_without_a_user_name_and_refuse_replays_and_forgeries,
);

/// A browser whose cookie jar the test can add to (to replay a spent cookie).
struct Web {
    client: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
}

impl Web {
    fn new(app: &TestApp) -> Self {
        let jar = Arc::new(Jar::default());
        let client = test_support::http::client_builder()
            .cookie_provider(jar.clone())
            .build()
            .unwrap();
        Self {
            client,
            jar,
            base: app.address.clone(),
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    async fn login(&self, email: &str, next: &str) -> reqwest::Response {
        let csrf = csrf_from(&self.get("/login").await.text().await.unwrap());
        self.post_form(
            "/login",
            &[
                ("csrf_token", &csrf),
                ("tenant", "acme"),
                ("email", email),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await
    }

    /// `POST path` (an options endpoint) with `csrf`: status, JSON, and the state cookie.
    async fn options(&self, path: &str, csrf: &str) -> (StatusCode, Value, Option<String>) {
        let res = self.post_form(path, &[("csrf_token", csrf)]).await;
        let status = res.status();
        let cookie = find_cookie(&res, passkeys_cookie()).map(|c| c.value().to_owned());
        (status, res.json().await.unwrap(), cookie)
    }

    /// Puts a (spent) state cookie back into the jar.
    fn restore_state(&self, value: &str) {
        let url = reqwest::Url::parse(&self.base).unwrap();
        self.jar
            .add_cookie_str(&format!("{}={value}; Path=/", passkeys_cookie()), &url);
    }
}

fn passkeys_cookie() -> &'static str {
    auth_service::web::passkeys::STATE_COOKIE
}

/// Registers `key` as `name` for the signed-in `web`: the page's response.
async fn register(web: &Web, key: &mut SoftKey, name: &str, claims: &Claims) -> reqwest::Response {
    let csrf = csrf_from(&web.get("/account/mfa").await.text().await.unwrap());
    let (status, options, cookie) = web.options("/account/passkeys/options", &csrf).await;
    assert_eq!(status, 200, "{options}");
    assert!(cookie.is_some_and(|c| !c.is_empty()), "the state cookie");
    assert_eq!(options["publicKey"]["rp"]["id"], "localhost");
    assert_eq!(
        options["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    let answer = key.register(&options, claims);
    web.post_form(
        "/account/passkeys",
        &[
            ("csrf_token", &csrf),
            ("name", name),
            ("credential", &answer.to_string()),
        ],
    )
    .await
}

async fn count_passkeys(app: &TestApp) -> u64 {
    passkey::Entity::find().count(&app.state.db).await.unwrap()
}

async fn count_sessions(app: &TestApp) -> u64 {
    refresh_family::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

async fn passkeys_are_registered_named_renamed_and_removed_on_the_account_page(b: Backend) {
    let app = TestApp::spawn_with(b, raise_rate_limits).await;
    let (tenant, ada) = app.acme().await;
    let web = Web::new(&app);
    assert_eq!(web.login("ada@acme.test", "/").await.status(), 303);
    let page = web.get("/account/mfa").await.text().await.unwrap();
    assert!(page.contains("id=\"passkey-add\""), "{page}");
    assert!(page.contains("<script src=\"/static/passkeys.js\" defer></script>"));
    let js = web.get("/static/passkeys.js").await;
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert!(
        js.text()
            .await
            .unwrap()
            .contains("navigator.credentials.create")
    );

    let mut key = SoftKey::new();
    let res = register(&web, &mut key, "  Laptop  ", &Claims::default()).await;
    assert_eq!(res.status(), 200);
    assert!(find_cookie(&res, passkeys_cookie()).is_some_and(|c| c.value().is_empty()));
    let page = res.text().await.unwrap();
    assert!(page.contains("Passkey “Laptop” added."), "{page}");
    assert!(
        page.contains("<td class=\"passkey-name\">Laptop</td>"),
        "{page}"
    );
    assert!(mfa::has_second_factor(&app.state.db, ada.id).await.unwrap());
    assert!(!mfa::has_totp(&app.state.db, ada.id).await.unwrap());
    assert_eq!(app.count_events("passkey_added").await, 1);
    // The user handle is the user's id.
    assert_eq!(key.user_handle, ada.id.as_bytes().to_vec());

    // Refusals, each with its message, nothing stored.
    let bad_origin = Claims {
        origin: "http://evil.localhost:8000".to_owned(),
        ..Claims::default()
    };
    let bad_rp = Claims {
        rp_id: "evil.test".to_owned(),
        ..Claims::default()
    };
    let unverified = Claims {
        verified: false,
        ..Claims::default()
    };
    for (claims, name, says) in [
        (&bad_origin, "Phone", passkeys::NOT_ACCEPTED),
        (&bad_rp, "Phone", passkeys::NOT_ACCEPTED),
        (&unverified, "Phone", passkeys::NOT_ACCEPTED),
        (&Claims::default(), "   ", passkeys::BAD_NAME),
        (&Claims::default(), &"x".repeat(65), passkeys::BAD_NAME),
    ] {
        let res = register(&web, &mut SoftKey::new(), name, claims).await;
        assert_eq!(res.status(), 400, "{says}");
        assert!(alert(&res.text().await.unwrap()).contains(says), "{says}");
    }
    // The same authenticator credential twice.
    let mut again = SoftKey::new();
    again.credential_id = key.credential_id.clone();
    let res = register(&web, &mut again, "Again", &Claims::default()).await;
    assert_eq!(res.status(), 400);
    let body = res.text().await.unwrap();
    assert!(
        alert(&body).contains(passkeys::DUPLICATE) || alert(&body).contains(passkeys::NOT_ACCEPTED),
        "{body}"
    );
    // An answer without a ceremony, and garbage.
    let csrf = csrf_from(&web.get("/account/mfa").await.text().await.unwrap());
    let res = web
        .post_form(
            "/account/passkeys",
            &[("csrf_token", &csrf), ("name", "X"), ("credential", "{}")],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::NOT_ACCEPTED));
    let mut lone = SoftKey::new();
    let fake = json!({"publicKey": {"challenge": "AAAA", "user": {"id": "AAAA"}}});
    let res = web
        .post_form(
            "/account/passkeys",
            &[
                ("csrf_token", &csrf),
                ("name", "X"),
                (
                    "credential",
                    &lone.register(&fake, &Claims::default()).to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::EXPIRED));
    assert_eq!(count_passkeys(&app).await, 1);
    assert_eq!(app.count_events("passkey_added").await, 1);
    // Without the CSRF token, the options are refused.
    let res = web.post_form("/account/passkeys/options", &[]).await;
    assert_eq!(res.status(), 403);

    // Rename.
    let row = passkey::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let path = format!("/account/passkeys/{}", row.id);
    let res = web
        .post_form(
            &format!("{path}/rename"),
            &[("csrf_token", &csrf), ("name", "Work laptop")],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("<td class=\"passkey-name\">Work laptop</td>")
    );
    let res = web
        .post_form(
            &format!("{path}/rename"),
            &[("csrf_token", &csrf), ("name", "")],
        )
        .await;
    assert_eq!(res.status(), 400);
    let other = format!("/account/passkeys/{}/rename", uuid::Uuid::new_v4());
    let res = web
        .post_form(&other, &[("csrf_token", &csrf), ("name", "Mine")])
        .await;
    assert_eq!(res.status(), 404);

    // Under the policy the last factor stays; without it, it goes with the password.
    let change = auth_service::accounts::organization::TenantChange {
        mfa_required: Some(MfaPolicy::Everyone),
        ..Default::default()
    };
    auth_service::accounts::organization::update_settings(
        &app.state.db,
        auth_service::accounts::admin::Actor::Operator,
        tenant.id,
        change,
        &Default::default(),
    )
    .await
    .unwrap();
    let res = web
        .post_form(
            &format!("{path}/remove"),
            &[("csrf_token", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 403);
    assert!(alert(&res.text().await.unwrap()).contains(mfa::POLICY_REQUIRES));
    assert_eq!(count_passkeys(&app).await, 1);
    // The JSON sign-in asks for the second step (a passkey counts), not for a set-up.
    let create = json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": PASSWORD});
    let (status, body) = post(&app, "/api/v1/auth/jwt/create/", create).await;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "mfa_required");
    let change = auth_service::accounts::organization::TenantChange {
        mfa_required: Some(MfaPolicy::None),
        ..Default::default()
    };
    auth_service::accounts::organization::update_settings(
        &app.state.db,
        auth_service::accounts::admin::Actor::Operator,
        tenant.id,
        change,
        &Default::default(),
    )
    .await
    .unwrap();
    let res = web
        .post_form(
            &format!("{path}/remove"),
            &[("csrf_token", &csrf), ("password", "wrong")],
        )
        .await;
    assert_eq!(res.status(), 400);
    assert_eq!(count_passkeys(&app).await, 1);
    let res = web
        .post_form(
            &format!("{path}/remove"),
            &[("csrf_token", &csrf), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Passkey “Work laptop” removed.")
    );
    assert_eq!(count_passkeys(&app).await, 0);
    assert_eq!(app.count_events("passkey_removed").await, 1);
    assert!(!mfa::has_second_factor(&app.state.db, ada.id).await.unwrap());
}

/// Signs `email` in with the password in a new browser: it is at `/login/verify`.
async fn password_step(app: &TestApp, email: &str, next: &str) -> (Web, String) {
    let web = Web::new(app);
    let res = web.login(email, next).await;
    assert_eq!(res.status(), 303);
    assert!(
        location(&res).starts_with("/login/verify"),
        "{}",
        location(&res)
    );
    let page = web.get(&location(&res)).await.text().await.unwrap();
    assert!(page.contains("id=\"passkey-verify\""), "{page}");
    let csrf = csrf_from(&page);
    (web, csrf)
}

async fn verify(web: &Web, csrf: &str, answer: &Value, next: &str) -> reqwest::Response {
    web.post_form(
        "/login/verify/passkey",
        &[
            ("csrf_token", csrf),
            ("credential", &answer.to_string()),
            ("next", next),
        ],
    )
    .await
}

async fn passkeys_are_a_second_step_after_the_password_counted_like_codes(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (tenant, _) = app.acme().await;
    app.user(&tenant, "bob@acme.test", Role::Member).await;
    let mut ada_key = SoftKey::new();
    let mut bob_key = SoftKey::new();
    for (email, key) in [
        ("ada@acme.test", &mut ada_key),
        ("bob@acme.test", &mut bob_key),
    ] {
        let web = Web::new(&app);
        assert_eq!(web.login(email, "/").await.status(), 303);
        assert_eq!(
            register(&web, key, "Key", &Claims::default())
                .await
                .status(),
            200
        );
    }

    let next = "http://localhost:8001/expenses";
    let (web, csrf) = password_step(&app, "ada@acme.test", next).await;
    let (status, options, _) = web.options("/login/verify/passkey/options", &csrf).await;
    assert_eq!(status, 200, "{options}");
    let allowed = options["publicKey"]["allowCredentials"].as_array().unwrap();
    assert_eq!(allowed.len(), 1, "only ada's passkey: {options}");
    // bob's credential is not ada's second factor.
    let res = verify(
        &web,
        &csrf,
        &bob_key.assert(&options, &Claims::default()),
        next,
    )
    .await;
    assert_eq!(res.status(), 401);
    assert!(find_cookie(&res, "access_token").is_none());
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::NOT_REGISTERED));
    // The refused answer spent the ceremony: the right key now needs new options.
    let res = verify(
        &web,
        &csrf,
        &ada_key.assert(&options, &Claims::default()),
        next,
    )
    .await;
    assert_eq!(res.status(), 401);
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::EXPIRED));
    // Another RP ID.
    let (_, options, _) = web.options("/login/verify/passkey/options", &csrf).await;
    let bad_rp = Claims {
        rp_id: "evil.test".to_owned(),
        ..Claims::default()
    };
    let res = verify(&web, &csrf, &ada_key.assert(&options, &bad_rp), next).await;
    assert_eq!(res.status(), 401);
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::NOT_ACCEPTED));
    // Refusals count like wrong codes (login_failure for the account).
    assert!(app.count_events("login_failure").await >= 3);

    // The right answer: signed in, `next` kept, amr pwd hwk mfa.
    let (_, options, _) = web.options("/login/verify/passkey/options", &csrf).await;
    let res = verify(
        &web,
        &csrf,
        &ada_key.assert(&options, &Claims::default()),
        next,
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), next);
    let access = find_cookie(&res, "access_token").unwrap();
    let claims = app.state.verifier.verify(access.value()).unwrap();
    assert_eq!(claims.amr, vec!["pwd", "hwk", "mfa"]);
    assert!(find_cookie(&res, "mfa_pending").is_some_and(|c| c.value().is_empty()));
    assert_eq!(app.count_events("passkey_used").await, 1);
    let row = passkey::Entity::find()
        .filter(passkey::Column::Name.eq("Key"))
        .filter(passkey::Column::LastUsedAt.is_not_null())
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(row, 1);

    // Without a pending step (another browser) the options are refused.
    let other = Web::new(&app);
    let csrf = csrf_from(&other.get("/login").await.text().await.unwrap());
    let (status, body, _) = other.options("/login/verify/passkey/options", &csrf).await;
    assert_eq!(status, 401);
    assert_eq!(body["detail"], mfa::STEP_EXPIRED);

    // Wrong answers lock the account like wrong codes.
    let (web, csrf) = password_step(&app, "ada@acme.test", "/").await;
    let mut last = StatusCode::OK;
    for _ in 0..6 {
        let (_, options, _) = web.options("/login/verify/passkey/options", &csrf).await;
        let res = verify(&web, &csrf, &ada_key.assert(&options, &bad_rp), "/").await;
        last = res.status();
        if last == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
}

async fn login_with(web: &Web, csrf: &str, answer: &Value, next: &str) -> reqwest::Response {
    web.post_form(
        "/login/passkey",
        &[
            ("csrf_token", csrf),
            ("credential", &answer.to_string()),
            ("next", next),
        ],
    )
    .await
}

async fn passkeys_sign_in_without_a_user_name_and_refuse_replays_and_forgeries(b: Backend) {
    let app = TestApp::spawn_with(b, raise_rate_limits).await;
    let (tenant, _) = app.acme().await;
    let bob = app.user(&tenant, "bob@acme.test", Role::Member).await;
    let mut key = SoftKey::new();
    {
        let web = Web::new(&app);
        assert_eq!(web.login("ada@acme.test", "/").await.status(), 303);
        assert_eq!(
            register(&web, &mut key, "Phone", &Claims::default())
                .await
                .status(),
            200
        );
    }
    let sessions = count_sessions(&app).await;

    let web = Web::new(&app);
    let page = web.get("/login").await.text().await.unwrap();
    assert!(page.contains("Sign in with a passkey"), "{page}");
    let csrf = csrf_from(&page);
    let next = "http://localhost:8001/expenses";

    // Forgeries, each on a fresh ceremony; nothing signs in.
    let forgeries = [
        (
            Claims {
                origin: "http://localhost:9999".to_owned(),
                ..Claims::default()
            },
            passkeys::NOT_ACCEPTED,
        ),
        (
            Claims {
                rp_id: "example.org".to_owned(),
                ..Claims::default()
            },
            passkeys::NOT_ACCEPTED,
        ),
        (
            Claims {
                user_handle: Some(bob.id.as_bytes().to_vec()),
                ..Claims::default()
            },
            passkeys::NOT_REGISTERED,
        ),
        (
            Claims {
                verified: false,
                ..Claims::default()
            },
            passkeys::NOT_ACCEPTED,
        ),
    ];
    for (claims, says) in &forgeries {
        let (status, options, _) = web.options("/login/passkey/options", &csrf).await;
        assert_eq!(status, 200, "{options}");
        assert!(
            options["publicKey"]["allowCredentials"]
                .as_array()
                .is_none_or(Vec::is_empty)
        );
        assert!(
            options.get("mediation").is_none_or(Value::is_null),
            "{options}"
        );
        let res = login_with(&web, &csrf, &key.assert(&options, claims), next).await;
        assert_eq!(res.status(), 401, "{says}");
        assert!(find_cookie(&res, "access_token").is_none());
        assert!(alert(&res.text().await.unwrap()).contains(says), "{says}");
    }
    // Another user's credential id that does not exist here.
    let (_, options, _) = web.options("/login/passkey/options", &csrf).await;
    let mut stranger = SoftKey::new();
    stranger.user_handle = bob.id.as_bytes().to_vec();
    let res = login_with(
        &web,
        &csrf,
        &stranger.assert(&options, &Claims::default()),
        next,
    )
    .await;
    assert_eq!(res.status(), 401);
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::NOT_REGISTERED));
    // Another key claiming ada's credential id and user handle: the signature fails.
    let (_, options, _) = web.options("/login/passkey/options", &csrf).await;
    let mut impostor = SoftKey::new();
    impostor.credential_id = key.credential_id.clone();
    impostor.user_handle = key.user_handle.clone();
    impostor.counter = 100;
    let res = login_with(
        &web,
        &csrf,
        &impostor.assert(&options, &Claims::default()),
        next,
    )
    .await;
    assert_eq!(res.status(), 401);
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::NOT_ACCEPTED));
    // An expired ceremony.
    let (_, options, _) = web.options("/login/passkey/options", &csrf).await;
    passkey_challenge::Entity::update_many()
        .col_expr(
            passkey_challenge::Column::ExpiresAt,
            Expr::value(chrono::Utc::now() - chrono::Duration::seconds(1)),
        )
        .filter(passkey_challenge::Column::UsedAt.is_null())
        .exec(&app.state.db)
        .await
        .unwrap();
    let res = login_with(&web, &csrf, &key.assert(&options, &Claims::default()), next).await;
    assert_eq!(res.status(), 401);
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::EXPIRED));
    assert_eq!(count_sessions(&app).await, sessions);
    assert_eq!(app.count_events("passkey_used").await, 0);

    // The real thing: signed in as ada, cookies as after password + second factor.
    let (_, options, state_cookie) = web.options("/login/passkey/options", &csrf).await;
    let answer = key.assert(&options, &Claims::default());
    let res = login_with(&web, &csrf, &answer, next).await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), next);
    let access = find_cookie(&res, "access_token").expect("signed in");
    assert!(find_cookie(&res, "refresh_token").is_some());
    let claims = app.state.verifier.verify(access.value()).unwrap();
    assert_eq!(claims.amr, vec!["hwk", "mfa"]);
    assert_eq!(claims.email, "ada@acme.test");
    assert_eq!(app.count_events("passkey_used").await, 1);
    assert_eq!(count_sessions(&app).await, sessions + 1);

    // Replayed: the same answer with the spent ceremony's cookie.
    web.restore_state(&state_cookie.unwrap());
    let res = login_with(&web, &csrf, &answer, next).await;
    assert_eq!(res.status(), 401);
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::EXPIRED));
    // A counter going back (a cloned authenticator) is refused.
    let (_, options, _) = web.options("/login/passkey/options", &csrf).await;
    let cloned = Claims {
        counter: Some(1),
        ..Claims::default()
    };
    let res = login_with(&web, &csrf, &key.assert(&options, &cloned), next).await;
    assert_eq!(res.status(), 401);
    assert!(alert(&res.text().await.unwrap()).contains(passkeys::NOT_ACCEPTED));
    assert_eq!(count_sessions(&app).await, sessions + 1);
    // `next` follows the sign-in rules: elsewhere goes to "/".
    let (_, options, _) = web.options("/login/passkey/options", &csrf).await;
    let res = login_with(
        &web,
        &csrf,
        &key.assert(&options, &Claims::default()),
        "https://evil.example/",
    )
    .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "/");
}
