//! The one query a sign-in looks its account up with (tenant, user and second factor in a
//! join) against the separate queries it replaced, and what each failed sign-in audits.
//! The throttle's reservation in two statements: all three buckets or none. The
//! statements of a successful sign-in, counted.

use auth_service::accounts::mfa;
use auth_service::accounts::throttle::{Admission, AttemptKeys};
use auth_service::entities::{auth_event, passkey, throttle_slot, user_totp};
use auth_service::tenants::{self, SignupPolicy};
use auth_service::users::{self, SignInLookup};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use shared_jwt::Role;
use uuid::Uuid;

use crate::api::helpers::{Backend, PASSWORD, TestApp};
use test_support::db_tests;

db_tests!(
    the_sign_in_lookup_finds_what_the_separate_queries_find,
    each_failed_sign_in_is_audited_with_its_reason,
    a_reservation_takes_every_bucket_or_none,
    a_successful_sign_in_runs_eight_statements_and_one_transaction,
);

/// What the lookup found, as (tenant slug, user email, second factor).
fn found(l: &SignInLookup) -> (Option<&str>, Option<&str>, bool) {
    (
        l.tenant.as_ref().map(|t| t.slug.as_str()),
        l.user.as_ref().map(|u| u.email.as_str()),
        l.has_second_factor,
    )
}

async fn the_sign_in_lookup_finds_what_the_separate_queries_find(b: Backend) {
    let app = TestApp::spawn(b).await;
    let db = &app.state.db;
    let (acme, ada) = app.acme().await;
    let grace = app.user(&acme, "Grace@Acme.test", Role::Admin).await;
    let globex = app.tenant("globex", SignupPolicy::Open, 10).await;
    app.user(&globex, "bob@globex.test", Role::Member).await;

    let look = |slug: &'static str, email: &'static str| async move {
        users::find_for_sign_in(db, slug, email).await.unwrap()
    };
    // The slug arrives trimmed and lowercase; the email is compared trimmed, any case.
    let cases = [
        (
            "acme",
            "ada@acme.test",
            (Some("acme"), Some("ada@acme.test")),
        ),
        (
            "acme",
            " ADA@acme.TEST ",
            (Some("acme"), Some("ada@acme.test")),
        ),
        (
            "acme",
            "grace@acme.test",
            (Some("acme"), Some("Grace@Acme.test")),
        ),
        ("acme", "nobody@acme.test", (Some("acme"), None)),
        ("nosuchorg", "ada@acme.test", (None, None)),
        // Tenant scoping: another tenant's member is unknown here.
        ("globex", "ada@acme.test", (Some("globex"), None)),
        ("acme", "bob@globex.test", (Some("acme"), None)),
    ];
    for (slug, email, (t, u)) in cases {
        let l = look(slug, email).await;
        assert_eq!(found(&l), (t, u, false), "{slug} {email}");
        // The same as the queries it replaced.
        let tenant = tenants::find_by_slug(db, slug).await.unwrap();
        assert_eq!(l.tenant, tenant);
        let user = match &tenant {
            Some(t) => users::find_by_email(db, t.id, email).await.unwrap(),
            None => None,
        };
        assert_eq!(l.user, user);
    }

    // Inactive accounts and tenants are found as they are (the caller refuses them).
    users::set_active(db, ada.id, false).await.unwrap();
    tenants::set_active(db, acme.id, false).await.unwrap();
    let l = look("acme", "ada@acme.test").await;
    assert!(!l.tenant.unwrap().is_active && !l.user.unwrap().is_active);
    tenants::set_active(db, acme.id, true).await.unwrap();

    // An authenticator app counts once confirmed, and only for its own user.
    let totp = user_totp::ActiveModel {
        user_id: Set(grace.id),
        secret: Set(vec![1, 2, 3]),
        enabled_at: Set(None),
        last_step: Set(None),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
    .unwrap();
    assert!(!look("acme", "grace@acme.test").await.has_second_factor);
    let mut confirmed: user_totp::ActiveModel = totp.into();
    confirmed.enabled_at = Set(Some(Utc::now()));
    confirmed.update(db).await.unwrap();
    assert!(look("acme", "grace@acme.test").await.has_second_factor);
    assert!(!look("acme", "ada@acme.test").await.has_second_factor);

    // A passkey counts too.
    let bob = users::find_by_email(db, globex.id, "bob@globex.test")
        .await
        .unwrap()
        .unwrap();
    assert!(!look("globex", "bob@globex.test").await.has_second_factor);
    passkey::ActiveModel {
        id: Set(Uuid::new_v4()),
        user_id: Set(bob.id),
        tenant_id: Set(globex.id),
        credential_id: Set("cred-1".into()),
        passkey: Set("{}".into()),
        name: Set("key".into()),
        created_at: Set(Utc::now()),
        last_used_at: Set(None),
    }
    .insert(db)
    .await
    .unwrap();
    assert!(look("globex", "bob@globex.test").await.has_second_factor);
    for (user_id, slug, email) in [
        (grace.id, "acme", "grace@acme.test"),
        (ada.id, "acme", "ada@acme.test"),
        (bob.id, "globex", "bob@globex.test"),
    ] {
        assert_eq!(
            look(slug, email).await.has_second_factor,
            mfa::has_second_factor(db, user_id).await.unwrap(),
            "{email}"
        );
    }
}

async fn each_failed_sign_in_is_audited_with_its_reason(b: Backend) {
    let app = TestApp::spawn(b).await;
    let db = &app.state.db;
    let (acme, ada) = app.acme().await;
    let (some_t, some_u) = (Some(acme.id), Some(ada.id));
    let cases = [
        (
            " NoSuchOrg ",
            "ada@acme.test",
            PASSWORD,
            "unknown organization",
            (None, None),
        ),
        (
            "acme",
            "nobody@acme.test",
            PASSWORD,
            "unknown email",
            (some_t, None),
        ),
        (
            "acme",
            " Ada@ACME.test",
            "wrong password!",
            "wrong password",
            (some_t, some_u),
        ),
    ];
    for (tenant, email, password, reason, ids) in cases {
        let res = app.login(tenant, email, password, "/").await;
        assert_eq!(res.status(), 401, "{reason}");
        let last = last_event(&app).await;
        assert_eq!(last.kind.as_str(), "login_failure");
        assert_eq!(last.detail.as_deref(), Some(reason));
        assert_eq!((last.tenant_id, last.user_id), ids, "{reason}");
    }
    // The right password of an inactive user, then of a user of an inactive tenant.
    users::set_active(db, ada.id, false).await.unwrap();
    assert_eq!(
        app.login("acme", "ada@acme.test", PASSWORD, "/")
            .await
            .status(),
        401
    );
    users::set_active(db, ada.id, true).await.unwrap();
    tenants::set_active(db, acme.id, false).await.unwrap();
    assert_eq!(
        app.login("acme", "ada@acme.test", PASSWORD, "/")
            .await
            .status(),
        401
    );
    let inactive = auth_event::Entity::find()
        .filter(auth_event::Column::Detail.eq("inactive account"))
        .filter(auth_event::Column::UserId.eq(ada.id))
        .count(db)
        .await
        .unwrap();
    assert_eq!(inactive, 2);
    // Typed in any case with spaces, the right password signs in.
    tenants::set_active(db, acme.id, true).await.unwrap();
    let res = app.login(" ACME ", " ADA@acme.test ", PASSWORD, "/").await;
    assert_eq!(res.status(), 303);
    assert_eq!(last_event(&app).await.kind.as_str(), "login_success");
}

async fn last_event(app: &TestApp) -> auth_event::Model {
    auth_event::Entity::find()
        .order_by_desc(auth_event::Column::CreatedAt)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
}

async fn a_reservation_takes_every_bucket_or_none(b: Backend) {
    let app = TestApp::spawn(b).await;
    let db = &app.state.db;
    let throttle = &app.state.throttle;
    let slots = || async {
        throttle_slot::Entity::find()
            .order_by_asc(throttle_slot::Column::Bucket)
            .order_by_asc(throttle_slot::Column::Slot)
            .all(db)
            .await
            .unwrap()
    };
    let ip = "192.0.2.7".parse().unwrap();
    let keys = AttemptKeys::new("acme", "ada@acme.test", ip);
    // Five checks fill the account's bucket for this address: each holds a slot in all
    // three buckets.
    for n in 1..=5 {
        let Admission::Granted(r) = throttle.reserve(db, &keys).await.unwrap() else {
            panic!("check {n} refused");
        };
        assert_eq!(
            throttle.settle_failure(db, r).await.unwrap().is_some(),
            n == 5
        );
        assert_eq!(slots().await.len(), 3 * n);
    }
    // The sixth is refused and writes nothing, not even in the buckets with room.
    let before = slots().await;
    let Admission::Refused(t) = throttle.reserve(db, &keys).await.unwrap() else {
        panic!("a sixth check admitted");
    };
    assert!(t.retry_after_secs() > 14 * 60 && t.retry_after_secs() <= 15 * 60);
    assert_eq!(slots().await, before);
    // Another account from the same address takes one slot in each of its buckets; a
    // cancelled check gives all three back.
    let other = AttemptKeys::new("acme", "grace@acme.test", ip);
    let Admission::Granted(r) = throttle.reserve(db, &other).await.unwrap() else {
        panic!("another account refused");
    };
    assert_eq!(slots().await.len(), 18);
    throttle.cancel(db, r).await.unwrap();
    assert_eq!(slots().await, before);
    // A success empties the account's bucket for the address and gives back its own slots.
    let fresh = AttemptKeys::new("acme", "ada@acme.test", "198.51.100.9".parse().unwrap());
    let Admission::Granted(r) = throttle.reserve(db, &fresh).await.unwrap() else {
        panic!("another address refused");
    };
    assert_eq!(slots().await.len(), 18);
    throttle.settle_success(db, r).await.unwrap();
    assert_eq!(slots().await, before);
}

/// The first word of every statement `sign_in` runs through sea-orm (`BEGIN` and `COMMIT`
/// are not among them: sqlx runs those), in order.
async fn statements_of_a_sign_in(app: &TestApp, password: &str) -> (String, Vec<String>) {
    use auth_service::accounts::signin::{self, Credentials, SignIn};
    use auth_service::infra::audit::EventContext;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut state = app.state.clone();
    let log = Arc::clone(&seen);
    state.db.set_metric_callback(move |info| {
        let word = info.statement.sql.split_whitespace().next().unwrap_or("");
        log.lock().unwrap().push(word.to_owned());
    });
    let creds = Credentials {
        tenant_slug: "acme",
        email: "ada@acme.test",
        password,
    };
    let ctx = EventContext::default();
    let ip = "192.0.2.1".parse().unwrap();
    let outcome = match signin::sign_in(&state, creds, ip, &ctx).await.unwrap() {
        SignIn::Ok(_) => "ok",
        SignIn::Failed => "failed",
        other => panic!("{other:?}"),
    };
    let seen = seen.lock().unwrap().clone();
    (outcome.to_owned(), seen)
}

async fn a_successful_sign_in_runs_eight_statements_and_one_transaction(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let (outcome, seen) = statements_of_a_sign_in(&app, PASSWORD).await;
    assert_eq!(outcome, "ok");
    // The reservation (no transaction): read the three buckets, claim a slot in each.
    // The tenant, the user and the second factor. Then one transaction: the last sign-in,
    // the throttle settled, the session (family and token), the audit row.
    let expected = [
        "SELECT", "INSERT", "SELECT", "UPDATE", "DELETE", "INSERT", "INSERT", "INSERT",
    ];
    assert_eq!(seen, expected);
    // A wrong password: the reservation, the lookup, then one transaction: the audit row
    // and the wait of the two account buckets.
    let (outcome, seen) = statements_of_a_sign_in(&app, "wrong password!").await;
    assert_eq!(outcome, "failed");
    assert_eq!(seen, ["SELECT", "INSERT", "SELECT", "INSERT", "SELECT"]);
}
