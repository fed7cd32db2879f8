//! Revocation always wins over a refresh token being rotated at the same moment: a thief
//! rotates a stolen token in a tight loop (each success continues with its successor)
//! while the owner signs out everywhere, changes the password, or an admin deactivates
//! the account. Once the revocation has returned, no token the thief ever held — nor
//! any successor of them — refreshes, and no row of the user is left unrevoked.
//!
//! The migration that adds the family rows revokes, whole, every family of which any
//! token was revoked (so a successor that an earlier race left live dies with it).
//!
//! The race is tightest when the use cases are called directly (no HTTP in between);
//! a fresh sign-in per round is started without argon2 (`Sessions::start`), as the
//! password check is not what races.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use auth_service::AppState;
use auth_service::accounts::admin::{self, Actor, UserChange};
use auth_service::accounts::sessions::Refreshed;
use auth_service::accounts::{profile, signout};
use auth_service::entities::{refresh_token, tenant, user};
use auth_service::infra::audit::EventContext;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use test_support::db_tests;
use tokio::sync::watch;

use crate::api::helpers::{Backend, TestApp};

db_tests!(
    worker_threads = 4;
    sign_out_everywhere_wins_over_a_refresh_loop,
    a_password_change_wins_over_a_refresh_loop,
    a_deactivation_wins_over_a_refresh_loop,
    the_migration_revokes_whole_families_a_race_left_half_revoked,
);

/// What ends the thief's sign-in.
#[derive(Clone, Copy, Debug)]
enum Revocation {
    /// `POST /logout/all` (`signout::sign_out_everywhere`).
    Everywhere,
    /// `users/set_password/` from another sign-in, which is kept.
    PasswordChange,
    /// An admin deactivates the user (then reactivates: nothing may come back).
    Deactivation,
}

async fn sign_out_everywhere_wins_over_a_refresh_loop(b: Backend) {
    race(b, Revocation::Everywhere, 200).await;
}

async fn a_password_change_wins_over_a_refresh_loop(b: Backend) {
    race(b, Revocation::PasswordChange, 50).await;
}

async fn a_deactivation_wins_over_a_refresh_loop(b: Backend) {
    race(b, Revocation::Deactivation, 50).await;
}

fn ctx() -> EventContext {
    EventContext::default()
}

/// Runs `rounds` rounds; fails with how many of them left the thief a live token.
async fn race(b: Backend, how: Revocation, rounds: usize) {
    let app = TestApp::spawn(b).await;
    let (tenant, user) = app.acme().await;
    let mut lost = Vec::new();
    for round in 0..rounds {
        if let Some(why) = one_round(&app.state, &tenant, &user, how, round).await {
            lost.push(format!("round {round}: {why}"));
        }
    }
    assert!(
        lost.is_empty(),
        "{how:?}: {} of {rounds} rounds left the thief a live token:\n{}",
        lost.len(),
        lost.join("\n")
    );
}

/// One round: sign in, let the thief loop, revoke; `Some(reason)` when the thief won.
async fn one_round(
    state: &AppState,
    tenant: &tenant::Model,
    user: &user::Model,
    how: Revocation,
    round: usize,
) -> Option<String> {
    let stolen = state
        .sessions
        .start(&state.db, user.clone(), tenant.clone(), &ctx())
        .await
        .unwrap();
    // The owner's own sign-in, which a password change keeps.
    let own = state
        .sessions
        .start(&state.db, user.clone(), tenant.clone(), &ctx())
        .await
        .unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let (rotated, mut rotations) = watch::channel(0_usize);
    let thief = tokio::spawn(thief_loop(
        state.clone(),
        stolen.refresh_token.clone(),
        Arc::clone(&stop),
        rotated,
    ));
    // Strike after 0–4 rotations, so the revocation meets the loop at varying points
    // (or as soon as the thief gave up).
    let wait_for = round % 5;
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        rotations.wait_for(|n| *n >= wait_for),
    )
    .await;
    revoke(state, tenant, user, own.family_id, how).await;
    stop.store(true, Ordering::SeqCst);
    let held = thief.await.unwrap();

    // After the revocation returned: nothing the thief held refreshes (within the grace
    // a rotated token would yield its successor, so this covers successors too).
    for token in held.iter().rev() {
        if let Refreshed::Ok(_) = state
            .sessions
            .refresh(&state.db, token, &ctx())
            .await
            .unwrap()
        {
            return Some(format!(
                "a token refreshed after the revocation ({} rotations)",
                held.len() - 1
            ));
        }
    }
    let live = refresh_token::Entity::find()
        .filter(refresh_token::Column::FamilyId.eq(stolen.family_id))
        .filter(refresh_token::Column::RevokedAt.is_null())
        .count(&state.db)
        .await
        .unwrap();
    if live > 0 {
        return Some(format!("{live} unrevoked rows in the stolen family"));
    }
    if state
        .sessions
        .family_is_active(&state.db, stolen.family_id)
        .await
        .unwrap()
    {
        return Some("the stolen family is still active".to_owned());
    }
    let own_alive = state
        .sessions
        .family_is_active(&state.db, own.family_id)
        .await
        .unwrap();
    let own_should_live = matches!(how, Revocation::PasswordChange);
    assert_eq!(
        own_alive, own_should_live,
        "{how:?}: the owner's own sign-in"
    );
    if own_should_live {
        signout::revoke_session(state, user, own.family_id, &ctx())
            .await
            .unwrap();
    }
    None
}

/// Refreshes in a tight loop, continuing with each successor, until told to stop or
/// refused; returns every token it held, the stolen one first.
async fn thief_loop(
    state: AppState,
    stolen: String,
    stop: Arc<AtomicBool>,
    rotated: watch::Sender<usize>,
) -> Vec<String> {
    let mut held = vec![stolen];
    while !stop.load(Ordering::SeqCst) {
        let current = held.last().expect("starts with one").clone();
        match state
            .sessions
            .refresh(&state.db, &current, &ctx())
            .await
            .unwrap()
        {
            Refreshed::Ok(s) => {
                held.push(s.refresh_token);
                rotated.send_modify(|n| *n += 1);
            }
            Refreshed::Invalid | Refreshed::Reused { .. } | Refreshed::SecondFactorRequired => {
                break;
            }
        }
    }
    held
}

async fn revoke(
    state: &AppState,
    tenant: &tenant::Model,
    user: &user::Model,
    own_family: uuid::Uuid,
    how: Revocation,
) {
    match how {
        Revocation::Everywhere => signout::sign_out_everywhere(state, user, &ctx())
            .await
            .unwrap(),
        Revocation::PasswordChange => {
            // The same hash again: what races is the revocation, not argon2.
            let hash = user.password_hash.clone();
            profile::set_password_hash(
                &state.db,
                user.clone(),
                hash,
                Some(own_family),
                &ctx(),
                "race test",
            )
            .await
            .unwrap();
        }
        Revocation::Deactivation => {
            let set = |active| UserChange {
                role: None,
                is_active: Some(active),
            };
            admin::update_user(
                &state.db,
                Actor::Operator,
                tenant.id,
                user.id,
                set(false),
                &ctx(),
            )
            .await
            .unwrap();
            // Reactivating must not bring any token back.
            admin::update_user(
                &state.db,
                Actor::Operator,
                tenant.id,
                user.id,
                set(true),
                &ctx(),
            )
            .await
            .unwrap();
        }
    }
}

async fn the_migration_revokes_whole_families_a_race_left_half_revoked(b: Backend) {
    use auth_migration::{Migrator, MigratorTrait};
    use auth_service::entities::refresh_family;
    use chrono::Utc;
    use sea_orm::ConnectionTrait;
    use sea_orm::sea_query::Query;

    let test_db = test_support::TestDb::new(b, "auth_test").await;
    let db = sea_orm::Database::connect(&test_db.url).await.unwrap();
    Migrator::up(&db, Some(1)).await.unwrap();
    // The tenant row in the schema of that time (the entity describes today's columns).
    struct T {
        id: uuid::Uuid,
    }
    let t = T {
        id: uuid::Uuid::new_v4(),
    };
    let tenants = Query::insert()
        .into_table(sea_orm::sea_query::Alias::new("tenants"))
        .columns(
            [
                "id",
                "name",
                "slug",
                "is_active",
                "plan",
                "max_users",
                "signup_policy",
                "created_at",
            ]
            .map(sea_orm::sea_query::Alias::new),
        )
        .values_panic([
            t.id.into(),
            "Acme".into(),
            "acme".into(),
            true.into(),
            "free".into(),
            10.into(),
            "open".into(),
            Utc::now().into(),
        ])
        .to_owned();
    db.execute(&tenants).await.unwrap();
    // The user row in the schema of that time (the entity describes today's columns).
    let user_id = uuid::Uuid::new_v4();
    let users = Query::insert()
        .into_table(sea_orm::sea_query::Alias::new("users"))
        .columns(
            [
                "id",
                "tenant_id",
                "email",
                "email_normalized",
                "password_hash",
                "first_name",
                "last_name",
                "role",
                "is_active",
                "created_at",
            ]
            .map(sea_orm::sea_query::Alias::new),
        )
        .values_panic([
            user_id.into(),
            t.id.into(),
            "ada@acme.test".into(),
            "ada@acme.test".into(),
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
            "Ada".into(),
            "Lovelace".into(),
            "member".into(),
            true.into(),
            Utc::now().into(),
        ])
        .to_owned();
    db.execute(&users).await.unwrap();
    struct U {
        id: uuid::Uuid,
    }
    let u = U { id: user_id };
    // Half revoked (what the race left behind), and untouched.
    let (raced, live) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let (now, end) = (Utc::now(), Utc::now() + chrono::Duration::hours(1));
    use refresh_token::Column as C;
    let mut insert = Query::insert()
        .into_table(refresh_token::Entity)
        .columns([
            C::Id,
            C::FamilyId,
            C::UserId,
            C::TenantId,
            C::TokenHash,
            C::CreatedAt,
            C::ExpiresAt,
            C::FamilyCreatedAt,
            C::FamilyExpiresAt,
            C::RevokedAt,
        ])
        .to_owned();
    for (family, revoked) in [(raced, true), (raced, false), (live, false)] {
        let id = uuid::Uuid::new_v4();
        let hash = format!("{:064x}", id.as_u128());
        let times = [now.into(), end.into(), now.into(), end.into()];
        let ids = [
            id.into(),
            family.into(),
            u.id.into(),
            t.id.into(),
            hash.into(),
        ];
        insert.values_panic(
            ids.into_iter()
                .chain(times)
                .chain([revoked.then_some(now).into()]),
        );
    }
    db.execute(&insert).await.unwrap();
    Migrator::up(&db, None).await.unwrap();

    let families = refresh_family::Entity::find().all(&db).await.unwrap();
    assert_eq!(families.len(), 2);
    for f in &families {
        assert_eq!(f.user_id, u.id);
        assert_eq!(f.revoked_at.is_some(), f.id == raced, "{f:?}");
    }
    let unrevoked = |family| {
        refresh_token::Entity::find()
            .filter(refresh_token::Column::FamilyId.eq(family))
            .filter(refresh_token::Column::RevokedAt.is_null())
            .count(&db)
    };
    assert_eq!(unrevoked(raced).await.unwrap(), 0);
    assert_eq!(unrevoked(live).await.unwrap(), 1);
    db.close().await.unwrap();
}
