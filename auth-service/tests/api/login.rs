//! Sign-in: `next`, the contract's cookies (development and secure), enumeration,
//! inactive accounts and tenant scoping.

use auth_service::accounts::signin::FAILED;
use auth_service::tenants::SignupPolicy;
use shared_jwt::{Role, Verifier, VerifierConfig};

use crate::api::helpers::{
    Backend, PASSWORD, TestApp, alert, csrf_from, find_cookie, location, plain_client, raw_cookie,
};
use test_support::db_tests;

db_tests!(
    sign_in_honours_next_and_sets_the_contract_cookies_in_development,
    sign_in_sets_prefixed_domain_cookies_in_the_secure_configuration,
    unknown_organization_unknown_email_and_wrong_password_look_the_same,
    a_deactivated_user_or_tenant_cannot_sign_in,
    a_user_of_tenant_a_cannot_sign_in_with_tenant_b,
    the_login_form_is_accessible_and_prefills_the_organization,
    sign_in_rehashes_a_hash_made_with_old_parameters,
    the_audit_log_records_who_and_where_but_never_a_secret,
);

async fn sign_in_honours_next_and_sets_the_contract_cookies_in_development(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (tenant, user) = app.acme().await;
    let res = app
        .login(
            "acme",
            "Ada@Acme.test ",
            PASSWORD,
            "http://localhost:8001/expenses?x=1",
        )
        .await;
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "http://localhost:8001/expenses?x=1");

    let access = raw_cookie(&res, "access_token").expect("access cookie");
    let refresh = raw_cookie(&res, "refresh_token").expect("refresh cookie");
    for (raw, max_age) in [(&access, "300"), (&refresh, "604800")] {
        let attrs: Vec<&str> = raw.split("; ").skip(1).collect();
        let mut attrs_sorted = attrs.clone();
        attrs_sorted.sort_unstable();
        let expected_max_age = format!("Max-Age={max_age}");
        let mut expected = vec![
            "HttpOnly",
            "Path=/",
            "SameSite=Lax",
            expected_max_age.as_str(),
        ];
        expected.sort_unstable();
        assert_eq!(attrs_sorted, expected, "{raw}");
    }

    // The access token carries the contract's claims and the session id.
    let token = find_cookie(&res, "access_token")
        .unwrap()
        .value()
        .to_owned();
    let claims = app.state.verifier.verify(&token).unwrap();
    assert_eq!(claims.sub, user.id);
    assert_eq!(claims.user_id, user.id);
    assert_eq!(claims.tenant_id, tenant.id);
    assert_eq!(claims.tenant_slug, "acme");
    assert_eq!(claims.user_role, Role::Member);
    assert_eq!(claims.token_type, "access");
    assert_eq!(claims.iss, "http://localhost:8000");
    assert_eq!(claims.aud, "localhost");
    assert!(claims.sid.is_some());
    assert_eq!(app.count_events("login_success").await, 1);
}

async fn sign_in_sets_prefixed_domain_cookies_in_the_secure_configuration(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.public_url = "https://auth.example.test".parse().unwrap();
        s.cookie_domain = Some("example.test".into());
        s.cookie_secure = true;
        s.jwt_issuer = "https://auth.example.test".into();
        s.jwt_audience = "example.test".into();
    })
    .await;
    app.acme().await;
    // Secure cookies are not replayed over plain HTTP by a cookie store: carry them by hand.
    let client = plain_client();
    let form = client.get(app.url("/login")).send().await.unwrap();
    let csrf_cookie = raw_cookie(&form, "__Host-auth_csrf").expect("pre-session cookie");
    assert!(
        csrf_cookie.contains("Secure")
            && csrf_cookie.contains("HttpOnly")
            && !csrf_cookie.contains("Domain")
    );
    let pre = find_cookie(&form, "__Host-auth_csrf").unwrap();
    let token = csrf_from(&form.text().await.unwrap());
    let res = client
        .post(app.url("/login"))
        .header("cookie", format!("{}={}", pre.name(), pre.value()))
        .header("origin", "https://auth.example.test")
        .form(&[
            ("csrf_token", token.as_str()),
            ("tenant", "acme"),
            ("email", "ada@acme.test"),
            ("password", PASSWORD),
            ("next", "https://acme.expenses.example.test/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(location(&res), "https://acme.expenses.example.test/");
    let access = raw_cookie(&res, "__Secure-access_token").expect("secure access cookie");
    let refresh = raw_cookie(&res, "__Host-refresh_token").expect("host refresh cookie");
    let mut a: Vec<&str> = access.split("; ").skip(1).collect();
    a.sort_unstable();
    assert_eq!(
        a,
        vec![
            "Domain=example.test",
            "HttpOnly",
            "Max-Age=300",
            "Path=/",
            "SameSite=Lax",
            "Secure"
        ]
    );
    let mut r: Vec<&str> = refresh.split("; ").skip(1).collect();
    r.sort_unstable();
    assert_eq!(
        r,
        vec![
            "HttpOnly",
            "Max-Age=604800",
            "Path=/",
            "SameSite=Lax",
            "Secure"
        ]
    );

    // A sibling service verifies it from the published JWKS alone.
    let jwks = plain_client()
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let keys = shared_jwt::KeySet::from_jwks(&jwks).unwrap();
    let verifier = Verifier::new(
        VerifierConfig::new(
            shared_jwt::Algorithm::EdDSA,
            "https://auth.example.test",
            "example.test",
        ),
        keys,
    )
    .unwrap();
    let token = find_cookie(&res, "__Secure-access_token")
        .unwrap()
        .value()
        .to_owned();
    assert_eq!(verifier.verify(&token).unwrap().tenant_slug, "acme");
}

/// Replaces the typed organization and email so bodies can be compared.
fn normalize(body: &str, tenant: &str, email: &str) -> String {
    body.replace(&format!("value=\"{tenant}\""), "value=\"T\"")
        .replace(&format!("value=\"{email}\""), "value=\"E\"")
}

async fn unknown_organization_unknown_email_and_wrong_password_look_the_same(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let mut seen = Vec::new();
    for (tenant, email, password) in [
        ("nosuchorg", "ada@acme.test", PASSWORD),
        ("acme", "nobody@acme.test", PASSWORD),
        ("acme", "ada@acme.test", "wrong password here"),
    ] {
        let res = app.login(tenant, email, password, "/").await;
        let status = res.status();
        assert!(find_cookie(&res, "access_token").is_none());
        let body = res.text().await.unwrap();
        assert!(alert(&body).contains(FAILED));
        seen.push((status, normalize(&body, tenant, email)));
    }
    assert_eq!(seen[0].0, 401);
    assert!(seen.iter().all(|s| s == &seen[0]), "responses differ");
    assert_eq!(app.count_events("login_failure").await, 3);
}

async fn a_deactivated_user_or_tenant_cannot_sign_in(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (tenant, user) = app.acme().await;
    auth_service::users::set_active(&app.state.db, user.id, false)
        .await
        .unwrap();
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 401);
    assert!(res.text().await.unwrap().contains(FAILED));
    auth_service::users::set_active(&app.state.db, user.id, true)
        .await
        .unwrap();
    auth_service::tenants::set_active(&app.state.db, tenant.id, false)
        .await
        .unwrap();
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 401);
    auth_service::tenants::set_active(&app.state.db, tenant.id, true)
        .await
        .unwrap();
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
}

async fn a_user_of_tenant_a_cannot_sign_in_with_tenant_b(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let globex = app.tenant("globex", SignupPolicy::Open, 10).await;
    app.user(&globex, "someone@globex.test", Role::Admin).await;
    let res = app.login("globex", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 401);
    assert!(find_cookie(&res, "access_token").is_none());
}

async fn the_login_form_is_accessible_and_prefills_the_organization(b: Backend) {
    let app = TestApp::spawn_with(b, |s| s.cookie_domain = Some("example.test".into())).await;
    let body = app.get("/login?tenant=acme").await.text().await.unwrap();
    for needle in [
        "<label for=\"tenant\">",
        "<label for=\"email\">",
        "<label for=\"password\">",
        "value=\"acme\"",
    ] {
        assert!(body.contains(needle), "{needle}");
    }
    let body = app
        .get("/login?next=https%3A%2F%2Fglobex.example.test%2Fx")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("id=\"tenant\" name=\"tenant\" type=\"text\" value=\"globex\""),
        "{body}"
    );
    assert!(body.contains("name=\"next\" value=\"https://globex.example.test/x\""));
}

async fn sign_in_rehashes_a_hash_made_with_old_parameters(b: Backend) {
    use argon2::password_hash::PasswordHasher as _;
    use sea_orm::{ActiveModelTrait, IntoActiveModel, Set};
    let app = TestApp::spawn(b).await;
    let (_, user) = app.acme().await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(8192, 1, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes())
    .unwrap()
    .to_string();
    let mut m = user.clone().into_active_model();
    m.password_hash = Set(weak);
    m.update(&app.state.db).await.unwrap();
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
    let stored = auth_service::users::find_by_email(&app.state.db, user.tenant_id, "ada@acme.test")
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.contains("m=19456,t=2,p=1"));
    assert!(stored.last_login_at.is_some());
}

async fn the_audit_log_records_who_and_where_but_never_a_secret(b: Backend) {
    use auth_service::entities::auth_event;
    use sea_orm::EntityTrait;
    let app = TestApp::spawn(b).await;
    app.acme().await;
    app.login("acme", "ada@acme.test", "hunter2-wrong-guess", "/")
        .await;
    let ok = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let refresh = find_cookie(&ok, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    let access = find_cookie(&ok, "access_token").unwrap().value().to_owned();
    let events = auth_event::Entity::find().all(&app.state.db).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"login_failure") && kinds.contains(&"login_success"),
        "{kinds:?}"
    );
    for e in &events {
        assert_eq!(e.ip.as_deref(), Some("127.0.0.1"));
        let all = format!("{e:?}");
        for secret in [
            "hunter2-wrong-guess",
            PASSWORD,
            refresh.as_str(),
            access.as_str(),
        ] {
            assert!(!all.contains(secret), "{all}");
        }
    }
    let failure = events
        .iter()
        .find(|e| e.kind.as_str() == "login_failure")
        .unwrap();
    assert_eq!(failure.detail.as_deref(), Some("wrong password"));
    assert!(failure.user_id.is_some() && failure.tenant_id.is_some());
}
