//! Invitations and members through the pages, with a real SMTP server: the owner invites
//! from `/members`, the mail's link is followed in a second browser, accepted, and the
//! new user is signed in; the rules (role above the inviter, existing member, last owner,
//! an admin and owners), revocation, re-invitation, bad tokens, a full tenant.

use auth_service::accounts::links::{self, NewLink};
use auth_service::entities::link_token::{self, LinkKind};
use auth_service::entities::user;
use auth_service::tenants::SignupPolicy;
use reqwest::StatusCode;
use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, PaginatorTrait, Set};
use shared_jwt::Role;

use super::helpers::*;
use test_support::db_tests;

db_tests!(
    members_owner_invites_and_the_invitee_accepts_in_another_browser,
    members_invitation_rules_and_revocation,
    members_role_changes_deactivation_and_the_last_owner,
    members_accepting_when_full_or_taken_creates_nothing,
    members_bad_invitation_tokens_answer_400,
    members_pages_need_a_signed_in_admin_and_csrf,
    members_accepting_is_rate_limited_per_address,
);

/// The path of an absolute link (on `PUBLIC_URL`), to follow on the test server.
pub fn path_of(link: &str) -> String {
    let rest = link.split_once("://").map_or(link, |(_, r)| r);
    rest.find('/')
        .map_or("/".to_owned(), |i| rest[i..].to_owned())
}

/// A second browser profile on the same app (its own cookies).
pub struct Browser {
    client: reqwest::Client,
    base: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Self {
        Self {
            client: browser(),
            base: app.address.clone(),
        }
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    pub async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn csrf_token(&self, path: &str) -> String {
        csrf_from(&self.get(path).await.text().await.unwrap())
    }

    pub async fn login(&self, tenant: &str, email: &str) -> reqwest::Response {
        let token = self.csrf_token("/login").await;
        self.post_form(
            "/login",
            &[
                ("csrf_token", &token),
                ("tenant", tenant),
                ("email", email),
                ("password", PASSWORD),
                ("next", "/"),
            ],
        )
        .await
    }
}

/// An `invite_only` tenant `acme` (limit 10) with owner `olga@acme.test`, signed in.
async fn acme_with_owner(app: &TestApp) -> auth_service::entities::tenant::Model {
    let t = app.tenant("acme", SignupPolicy::InviteOnly, 10).await;
    app.user(&t, "olga@acme.test", Role::Owner).await;
    let res = app.login("acme", "olga@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    t
}

async fn invite(app: &TestApp, email: &str, role: &str) -> reqwest::Response {
    let token = app.csrf_token("/members").await;
    app.post_form(
        "/members/invite",
        &[("csrf_token", &token), ("email", email), ("role", role)],
    )
    .await
}

/// Accepts in `client` (a browser of its own); returns the POST's response.
async fn accept(
    client: &reqwest::Client,
    app: &TestApp,
    path: &str,
    password: &str,
    confirm: &str,
) -> reqwest::Response {
    let page = client.get(app.url(path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let token = csrf_from(&page.text().await.unwrap());
    client
        .post(app.url(path))
        .form(&[
            ("csrf_token", token.as_str()),
            ("first_name", "Ian"),
            ("last_name", "Vitee"),
            ("password", password),
            ("password_confirm", confirm),
        ])
        .send()
        .await
        .unwrap()
}

async fn count_links(app: &TestApp) -> u64 {
    link_token::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap()
}

async fn members_owner_invites_and_the_invitee_accepts_in_another_browser(b: Backend) {
    let app = TestApp::spawn_with_mail(b, |_| {}).await;
    let t = acme_with_owner(&app).await;
    let page = app.get("/members").await;
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(body.contains("olga@acme.test"), "{body}");
    assert!(body.contains("No pending invitations."));

    let res = invite(&app, "Ian@Acme.test", "admin").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/members?done=invited");
    let body = app.get("/members?done=invited").await.text().await.unwrap();
    assert!(body.contains("Invitation sent."), "{body}");
    assert!(body.contains("Ian@Acme.test"), "{body}");
    assert!(
        body.contains("Grace Hopper"),
        "the inviter is named: {body}"
    );

    let mail = app.mail().wait_for("Ian@Acme.test").await;
    assert!(mail.subject.contains("Org acme"), "{}", mail.subject);
    let link = mail.link("/invite/accept?token=");
    assert!(
        link.starts_with("http://localhost:8000/invite/accept?token="),
        "{link}"
    );
    let path = path_of(&link);

    // A second browser profile: no session of the owner.
    let other = browser();
    let page = other.get(app.url(&path)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let body = page.text().await.unwrap();
    assert!(
        body.contains("Org acme") && body.contains("Ian@Acme.test"),
        "{body}"
    );
    // Mismatched confirmation: the form again, nothing created.
    let res = accept(&other, &app, &path, PASSWORD, "something else entirely").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("The passwords do not match.")
    );
    assert_eq!(app.count_users().await, 1);

    let res = accept(&other, &app, &path, PASSWORD, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    assert!(find_cookie(&res, app.state.cookies.access_name()).is_some());
    let home = other.get(app.url("/")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    let body = home.text().await.unwrap();
    assert!(
        body.contains("Ian Vitee") && body.contains("admin"),
        "{body}"
    );
    // An admin sees the members link, not the settings link.
    assert!(body.contains("href=\"/members\""), "{body}");
    assert!(!body.contains("href=\"/organization\""), "{body}");

    let created = auth_service::users::find_by_email(&app.state.db, t.id, "ian@acme.test")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(created.claim_role(), Role::Admin);
    assert!(created.email_verified);
    assert!(!created.awaits_verification());
    // Single use.
    let again = other.get(app.url(&path)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("ask the person who invited you")
    );
    let body = app.get("/members").await.text().await.unwrap();
    assert!(body.contains("No pending invitations."), "{body}");
    assert_eq!(app.count_events("invitation_sent").await, 1);
    assert_eq!(app.count_events("invitation_accepted").await, 1);
    // The owner's account page links to both pages.
    let body = app.get("/").await.text().await.unwrap();
    assert!(body.contains("href=\"/members\"") && body.contains("href=\"/organization\""));
}

async fn members_invitation_rules_and_revocation(b: Backend) {
    let app = TestApp::spawn_with_mail(b, |_| {}).await;
    let t = app.tenant("acme", SignupPolicy::InviteOnly, 10).await;
    app.user(&t, "olga@acme.test", Role::Owner).await;
    app.user(&t, "adam@acme.test", Role::Admin).await;
    app.user(&t, "mia@acme.test", Role::Member).await;
    let res = app.login("acme", "adam@acme.test", PASSWORD, "/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // An admin may not invite an owner: 403, nothing issued.
    let res = invite(&app, "boss@acme.test", "owner").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(alert(&res.text().await.unwrap()).contains("Only an owner can make owners."));
    // An existing member (any case): a clear message, nothing issued.
    let res = invite(&app, "MIA@acme.test", "member").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("already has an account in this organization"),
        "{body}"
    );
    assert!(body.contains("value=\"MIA@acme.test\""), "typed value kept");
    // Malformed and overlong addresses, unknown roles.
    for (email, role) in [
        ("not-an-address", "member"),
        (&format!("{}@acme.test", "x".repeat(300)) as &str, "member"),
        ("ok@acme.test", "emperor"),
    ] {
        let res = invite(&app, email, role).await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{email} {role}"
        );
    }
    assert_eq!(count_links(&app).await, 0);

    // Re-inviting replaces the link: the first one dies.
    assert_eq!(
        invite(&app, "ian@acme.test", "member").await.status(),
        StatusCode::SEE_OTHER
    );
    let first = path_of(
        &app.mail()
            .wait_for("ian@acme.test")
            .await
            .link("/invite/accept?token="),
    );
    assert_eq!(
        invite(&app, "ian@acme.test", "admin").await.status(),
        StatusCode::SEE_OTHER
    );
    let second = path_of(
        &app.mail()
            .wait_for_nth("ian@acme.test", 2)
            .await
            .link("/invite/accept?token="),
    );
    assert_ne!(first, second);
    assert_eq!(app.get(&first).await.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        plain_client()
            .get(app.url(&second))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(count_links(&app).await, 1);

    // Revoke: the link stops working.
    let row = link_token::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let token = app.csrf_token("/members").await;
    let res = app
        .post_form(
            &format!("/members/invitations/{}/revoke", row.id),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/members?done=revoked");
    assert_eq!(
        plain_client()
            .get(app.url(&second))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.count_events("invitation_revoked").await, 1);
    // Again (gone), another tenant's invitation, a non-id: 404.
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
        row.id.to_string(),
        foreign.id.to_string(),
        "nope".to_owned(),
    ] {
        let res = app
            .post_form(
                &format!("/members/invitations/{id}/revoke"),
                &[("csrf_token", &token)],
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{id}");
    }
    // An owner's invitation can be revoked only by an owner.
    let owner = t.clone();
    let olga = auth_service::users::find_by_email(&app.state.db, owner.id, "olga@acme.test")
        .await
        .unwrap()
        .unwrap();
    let (boss, _) = links::issue(
        &app.state.db,
        NewLink {
            kind: LinkKind::Invitation,
            tenant_id: t.id,
            user_id: None,
            email: "boss@acme.test".into(),
            role: Some(Role::Owner.into()),
            created_by: Some(olga.id),
        },
    )
    .await
    .unwrap();
    let res = app
        .post_form(
            &format!("/members/invitations/{}/revoke", boss.id),
            &[("csrf_token", &token)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        link_token::Entity::find_by_id(boss.id)
            .one(&app.state.db)
            .await
            .unwrap()
            .is_some()
    );
}

async fn members_role_changes_deactivation_and_the_last_owner(b: Backend) {
    let app = TestApp::spawn(b).await;
    let t = acme_with_owner(&app).await;
    let olga = auth_service::users::find_by_email(&app.state.db, t.id, "olga@acme.test")
        .await
        .unwrap()
        .unwrap();
    let mia = app.user(&t, "mia@acme.test", Role::Member).await;
    // Mia has a session of her own.
    let mia_browser = Browser::new(&app);
    let res = mia_browser.login("acme", "mia@acme.test").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        mia_browser.get("/members").await.status(),
        StatusCode::FORBIDDEN
    );

    let token = app.csrf_token("/members").await;
    let post = |path: String, role: Option<&'static str>| {
        let token = token.clone();
        let app = &app;
        async move {
            let mut form = vec![("csrf_token", token)];
            if let Some(r) = role {
                form.push(("role", r.to_owned()));
            }
            let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post_form(&path, &form).await
        }
    };
    // The only owner cannot demote or deactivate themselves.
    let res = post(format!("/members/users/{}/role", olga.id), Some("admin")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(alert(&res.text().await.unwrap()).contains("at least one active owner"));
    let res = post(format!("/members/users/{}/deactivate", olga.id), None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Promote Mia to admin.
    let res = post(format!("/members/users/{}/role", mia.id), Some("admin")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/members?done=role");
    assert_eq!(app.count_events("role_changed").await, 1);
    // Mia, now admin, may not touch the owner nor grant owner.
    let mia_token = mia_browser.csrf_token("/members").await;
    for (path, role) in [
        (format!("/members/users/{}/role", olga.id), Some("member")),
        (format!("/members/users/{}/deactivate", olga.id), None),
        (format!("/members/users/{}/role", mia.id), Some("owner")),
    ] {
        let mut form = vec![("csrf_token", mia_token.as_str())];
        if let Some(r) = role {
            form.push(("role", r));
        }
        let res = mia_browser.post_form(&path, &form).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Deactivate Mia: her sessions end.
    let res = post(format!("/members/users/{}/deactivate", mia.id), None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count_events("user_deactivated").await, 1);
    let res = mia_browser.get("/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "signed out");
    let body = app.get("/members").await.text().await.unwrap();
    assert!(body.contains("Reactivate mia@acme.test"), "{body}");
    let res = post(format!("/members/users/{}/reactivate", mia.id), None).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count_events("user_reactivated").await, 1);
    let mia = user::Entity::find_by_id(mia.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(mia.is_active);
    assert_eq!(mia.claim_role(), Role::Admin);
    // Another tenant's user, an unknown role: 404, 400.
    let other = app.tenant("globex", SignupPolicy::Open, 10).await;
    let eve = app.user(&other, "eve@globex.test", Role::Member).await;
    let res = post(format!("/members/users/{}/deactivate", eve.id), None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = post(format!("/members/users/{}/role", mia.id), Some("emperor")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

async fn members_accepting_when_full_or_taken_creates_nothing(b: Backend) {
    let app = TestApp::spawn_with_mail(b, |_| {}).await;
    let t = acme_with_owner(&app).await;
    app.user(&t, "mia@acme.test", Role::Member).await;
    // Two invitations while there is room for none: the limit is 2.
    let mut model = t.clone().into_active_model();
    model.max_users = Set(2);
    model.update(&app.state.db).await.unwrap();
    assert_eq!(
        invite(&app, "ian@acme.test", "member").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        invite(&app, "jo@acme.test", "viewer").await.status(),
        StatusCode::SEE_OTHER
    );
    let ian = path_of(
        &app.mail()
            .wait_for("ian@acme.test")
            .await
            .link("/invite/accept?token="),
    );
    let jo = path_of(
        &app.mail()
            .wait_for("jo@acme.test")
            .await
            .link("/invite/accept?token="),
    );

    let other = browser();
    let res = accept(&other, &app, &ian, PASSWORD, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(alert(&res.text().await.unwrap()).contains("reached its user limit"));
    assert_eq!(app.count_users().await, 2);
    assert_eq!(app.count_events("invitation_accepted").await, 0);

    // The owner raises the limit on the settings page; the same link now works.
    let token = app.csrf_token("/organization").await;
    let res = app
        .post_form(
            "/organization",
            &[
                ("csrf_token", &token),
                ("name", "Acme Inc."),
                ("signup_policy", "invite_only"),
                ("max_users", "5"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = accept(&other, &app, &ian, PASSWORD, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count_users().await, 3);

    // Jo's address got an account meanwhile: a clear message, nothing created.
    app.user(&t, "jo@acme.test", Role::Member).await;
    let res = accept(&browser(), &app, &jo, PASSWORD, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(alert(&res.text().await.unwrap()).contains("already exists"));
    assert_eq!(app.count_users().await, 4);
    // Weak password and blank names: field errors.
    let res = accept(&browser(), &app, &jo, "short", "short").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

async fn members_bad_invitation_tokens_answer_400(b: Backend) {
    let app = TestApp::spawn(b).await;
    let (t, ada) = app.acme().await;
    let issue = |kind, user_id| {
        links::issue(
            &app.state.db,
            NewLink {
                kind,
                tenant_id: t.id,
                user_id,
                email: "ian@acme.test".into(),
                role: Some(Role::Member.into()),
                created_by: None,
            },
        )
    };
    let (_, reset) = issue(LinkKind::PasswordReset, Some(ada.id)).await.unwrap();
    let (expired, expired_token) = issue(LinkKind::Invitation, None).await.unwrap();
    let mut m = expired.into_active_model();
    m.expires_at = Set(chrono::Utc::now() - chrono::Duration::seconds(1));
    m.update(&app.state.db).await.unwrap();
    let long = "a".repeat(5000);
    for token in [
        "",
        "nonsense",
        reset.as_str(),
        expired_token.as_str(),
        long.as_str(),
    ] {
        let res = app.get(&format!("/invite/accept?token={token}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{token}");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("ask the person who invited you")
        );
        let csrf = app.csrf_token("/login").await;
        let res = app
            .post_form(
                &format!("/invite/accept?token={token}"),
                &[
                    ("csrf_token", csrf.as_str()),
                    ("first_name", "Ian"),
                    ("last_name", "Vitee"),
                    ("password", PASSWORD),
                    ("password_confirm", PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{token}");
    }
    assert_eq!(app.count_users().await, 1);
    // No token at all.
    assert_eq!(
        app.get("/invite/accept").await.status(),
        StatusCode::BAD_REQUEST
    );
}

async fn members_pages_need_a_signed_in_admin_and_csrf(b: Backend) {
    let app = TestApp::spawn(b).await;
    for path in ["/members", "/organization"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(location(&res), format!("/login?next=%2F{}", &path[1..]));
    }
    let t = acme_with_owner(&app).await;
    // No CSRF token, a wrong one: 403, nothing issued.
    let res = app
        .post_form(
            "/members/invite",
            &[("email", "x@acme.test"), ("role", "member")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .post_form(
            "/members/invite",
            &[
                ("csrf_token", "forged"),
                ("email", "x@acme.test"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = app
        .post_form(
            "/organization",
            &[
                ("name", "Evil"),
                ("signup_policy", "open"),
                ("max_users", "9"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(count_links(&app).await, 0);

    // Settings: bad values re-render with messages; good ones are saved and audited.
    let token = app.csrf_token("/organization").await;
    let save = |name: String, policy: &'static str, max: &'static str| {
        let token = token.clone();
        let app = &app;
        async move {
            app.post_form(
                "/organization",
                &[
                    ("csrf_token", token.as_str()),
                    ("name", name.as_str()),
                    ("signup_policy", policy),
                    ("max_users", max),
                ],
            )
            .await
        }
    };
    app.user(&t, "mia@acme.test", Role::Admin).await;
    for (name, policy, max, says) in [
        ("Acme".to_owned(), "open", "1", "already has 2 users"),
        (
            "Acme".to_owned(),
            "sometimes",
            "5",
            "expected open, invite_only",
        ),
        (
            "Acme".to_owned(),
            "domains:",
            "5",
            "expected open, invite_only",
        ),
        ("Acme".to_owned(), "open", "lots", "whole number"),
        ("x".repeat(201), "open", "5", "at most 200"),
        (String::new(), "open", "5", "may not be blank"),
    ] {
        let res = save(name, policy, max).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{says}");
        assert!(res.text().await.unwrap().contains(says), "{says}");
    }
    assert_eq!(app.count_events("tenant_updated").await, 0);
    let res = save("Acme Inc.".to_owned(), "domains:acme.test, acme.org", "7").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/organization?done=saved");
    let body = app
        .get("/organization?done=saved")
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("Settings saved."), "{body}");
    assert!(body.contains("domains:acme.test,acme.org"), "{body}");
    let t = auth_service::tenants::find_by_slug(&app.state.db, "acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.name, "Acme Inc.");
    assert_eq!(t.max_users, 7);
    assert_eq!(
        t.signup_policy,
        SignupPolicy::Domains(vec!["acme.test".into(), "acme.org".into()])
    );
    assert_eq!(app.count_events("tenant_updated").await, 1);

    // An admin manages members but not the settings.
    let admin = Browser::new(&app);
    admin.login("acme", "mia@acme.test").await;
    assert_eq!(admin.get("/members").await.status(), StatusCode::OK);
    assert_eq!(
        admin.get("/organization").await.status(),
        StatusCode::FORBIDDEN
    );
    let token = admin.csrf_token("/members").await;
    let res = admin
        .post_form(
            "/organization",
            &[
                ("csrf_token", token.as_str()),
                ("name", "Mine"),
                ("signup_policy", "open"),
                ("max_users", "9"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

async fn members_accepting_is_rate_limited_per_address(b: Backend) {
    use auth_service::config::{Limit, Rate};
    let app = TestApp::spawn_with(b, |s| {
        s.rate_limits.set(
            Limit::Invitation,
            Rate::new(2, std::time::Duration::from_secs(3600)),
        );
    })
    .await;
    let csrf = app.csrf_token("/login").await;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("first_name", "Ian"),
        ("last_name", "Vitee"),
        ("password", PASSWORD),
        ("password_confirm", PASSWORD),
    ];
    for _ in 0..2 {
        let res = app.post_form("/invite/accept?token=guess", &form).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    let res = app.post_form("/invite/accept?token=guess", &form).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    // The JSON endpoint shares the bucket.
    let res = plain_client()
        .post(app.url("/api/v1/auth/invitations/accept/"))
        .json(&serde_json::json!({"token": "guess", "first_name": "I", "last_name": "V", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
}
