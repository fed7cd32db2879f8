//! Password-guessing limits under concurrency: 40 parallel wrong passwords for one
//! account from one address check at most 5 (one instance, again once the slots are
//! re-used a window later, and two instances sharing one database); the owner from another address (or another IPv6 /64) signs in right
//! after such a burst; the account's cap across many addresses delays its owner by at
//! most one window; a busy hasher gives the reserved slots back; a full hashing pool refuses
//! before any slot is reserved.

use std::time::Duration;

use auth_service::entities::throttle_slot;
use auth_service::{Application, Settings};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

use crate::api::helpers::{Backend, PASSWORD, TestApp, plain_client, raise_rate_limits};
use crate::api::throttle::{age_slots, login_from, retry_after};
use test_support::db_tests;

db_tests!(
    worker_threads = 4;
    forty_parallel_guesses_check_at_most_five_passwords,
    two_instances_on_one_database_check_at_most_five_passwords,
    the_owner_signs_in_from_another_address_right_after_a_burst,
    the_account_cap_across_addresses_delays_the_owner_one_window_at_most,
    a_busy_hasher_gives_the_reserved_slots_back,
    a_full_hashing_pool_refuses_before_the_throttle,
);

const CREATE: &str = "/api/v1/auth/jwt/create/";
const WINDOW_SECS: u64 = 15 * 60;

/// Trusts 127.0.0.1's `X-Forwarded-For`, so tests can speak from any address.
fn behind_proxy(s: &mut Settings) {
    raise_rate_limits(s);
    s.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
}

/// `jwt/create/` for ada@acme from `from`: (status, `Retry-After`).
async fn create(base: &str, from: &str, password: &str) -> (u16, Option<u64>) {
    let res = plain_client()
        .post(format!("{base}{CREATE}"))
        .header("x-forwarded-for", from)
        .json(&json!({"tenant_slug": "acme", "email": "ada@acme.test", "password": password}))
        .send()
        .await
        .unwrap();
    let retry = res.headers().get("retry-after").map(|_| retry_after(&res));
    (res.status().as_u16(), retry)
}

/// `n` wrong passwords at once from `from`, spread over the instances at `bases`.
async fn burst(bases: &[String], from: &str, n: usize) -> Vec<(u16, Option<u64>)> {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let base = bases[i % bases.len()].clone();
            let from = from.to_owned();
            tokio::spawn(async move { create(&base, &from, "not the password").await })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    results
}

/// Every answer is a checked 401 or a 429 with `1 ≤ Retry-After ≤ 15 min`; the number
/// of 401s.
fn checked(results: &[(u16, Option<u64>)]) -> usize {
    for r in results {
        match r {
            (401, _) => {}
            (429, Some(s)) => assert!((1..=WINDOW_SECS).contains(s), "{results:?}"),
            _ => panic!("unexpected answer {r:?} in {results:?}"),
        }
    }
    results.iter().filter(|(s, _)| *s == 401).count()
}

async fn forty_parallel_guesses_check_at_most_five_passwords(b: Backend) {
    let app = TestApp::spawn_with(b, behind_proxy).await;
    app.acme().await;
    let results = burst(std::slice::from_ref(&app.address), "198.51.100.1", 40).await;
    let checks = checked(&results);
    // Each password check is audited as a failure: at most five happened.
    assert_eq!(app.count_events("login_failure").await, checks as u64);
    assert_eq!(checks, 5, "{results:?}");
    assert_eq!(app.count_events("login_throttled").await, 35);
    // A window later the same five slots are re-used (the conditional UPDATE, not the
    // INSERT of a missing slot): again five checks at most.
    age_slots(&app, 15 * 60 * 1000).await;
    let results = burst(std::slice::from_ref(&app.address), "198.51.100.1", 40).await;
    assert_eq!(checked(&results), 5, "{results:?}");
    assert_eq!(app.count_events("login_failure").await, 10);
}

async fn two_instances_on_one_database_check_at_most_five_passwords(b: Backend) {
    let app = TestApp::spawn_with(b, behind_proxy).await;
    app.acme().await;
    // A second replica: same settings, same database and keys, its own port.
    let mut settings = (*app.state.settings).clone();
    settings.bind = "127.0.0.1:0".parse().unwrap();
    let second = Application::build(settings).await.unwrap();
    let second_address = format!("http://127.0.0.1:{}", second.port());
    tokio::spawn(second.run_until_stopped());
    let bases = [app.address.clone(), second_address.clone()];
    let results = burst(&bases, "198.51.100.1", 40).await;
    let checks = checked(&results);
    assert_eq!(app.count_events("login_failure").await, checks as u64);
    assert_eq!(checks, 5, "{results:?}");
    // Both replicas refuse the locked address and admit another one.
    for base in &bases {
        assert_eq!(create(base, "198.51.100.1", PASSWORD).await.0, 429);
    }
    assert_eq!(
        create(&second_address, "203.0.113.5", PASSWORD).await.0,
        200
    );
}

async fn the_owner_signs_in_from_another_address_right_after_a_burst(b: Backend) {
    let app = TestApp::spawn_with(b, behind_proxy).await;
    app.acme().await;
    let bases = [app.address.clone()];
    assert_eq!(checked(&burst(&bases, "198.51.100.1", 40).await), 5);
    assert_eq!(create(&app.address, "198.51.100.1", PASSWORD).await.0, 429);
    assert_eq!(create(&app.address, "203.0.113.5", PASSWORD).await.0, 200);
    // The HTML form, from yet another address, too.
    let res = login_from(&app, "192.0.2.44", "ada@acme.test", PASSWORD).await;
    assert_eq!(res.status(), 303);
    // IPv6 counts per /64: another address of the attacker's /64 is refused, another
    // /64 is not; IPv4-mapped IPv6 is the IPv4 address.
    assert_eq!(checked(&burst(&bases, "2001:db8:1:2::1", 10).await), 5);
    assert_eq!(
        create(&app.address, "2001:db8:1:2::beef", PASSWORD).await.0,
        429
    );
    assert_eq!(
        create(&app.address, "2001:db8:1:3::1", PASSWORD).await.0,
        200
    );
    assert_eq!(
        create(&app.address, "::ffff:198.51.100.1", PASSWORD)
            .await
            .0,
        429
    );
}

async fn the_account_cap_across_addresses_delays_the_owner_one_window_at_most(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        raise_rate_limits(s);
        behind_proxy(s);
        s.throttle.account_address_max = 2;
        s.throttle.account_max = 8;
    })
    .await;
    app.acme().await;
    let bases = [app.address.clone()];
    // Four addresses, two guesses each: the account's cap of 8 is reached.
    for i in 1..=4 {
        assert_eq!(
            checked(&burst(&bases, &format!("198.51.100.{i}"), 6).await),
            2
        );
    }
    assert_eq!(app.count_events("login_failure").await, 8);
    // A fifth address is refused, the owner too, for at most one window.
    let (status, retry) = create(&app.address, "198.51.100.5", "not the password").await;
    assert_eq!(status, 429);
    let (status, owner_retry) = create(&app.address, "203.0.113.5", PASSWORD).await;
    assert_eq!(status, 429);
    let (retry, owner_retry) = (retry.unwrap(), owner_retry.unwrap());
    assert!((1..=WINDOW_SECS).contains(&retry), "{retry}");
    // Refusals claim nothing: asking again does not push the end further out.
    assert!(owner_retry <= retry, "{owner_retry} > {retry}");
    assert_eq!(app.count_events("login_failure").await, 8);
    // One window after the last guess the owner gets in.
    age_slots(&app, 15 * 60 * 1000).await;
    assert_eq!(create(&app.address, "203.0.113.5", PASSWORD).await.0, 200);
}

async fn a_busy_hasher_gives_the_reserved_slots_back(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        raise_rate_limits(s);
        s.max_concurrent_hashes = 1;
        s.hash_queue_timeout = Duration::from_millis(1);
    })
    .await;
    app.acme().await;
    let results = burst(std::slice::from_ref(&app.address), "127.0.0.1", 5).await;
    let busy = results.iter().filter(|(s, _)| *s == 503).count();
    assert!(busy > 0, "{results:?}");
    assert!(
        results.iter().all(|(s, _)| *s == 503 || *s == 401),
        "{results:?}"
    );
    // Only the checked passwords hold a slot of the account's bucket for this address.
    let used = throttle_slot::Entity::find()
        .filter(throttle_slot::Column::UsedAtMs.gt(0))
        .filter(throttle_slot::Column::Account.is_not_null())
        .count(&app.state.db)
        .await
        .unwrap();
    let failures = app.count_events("login_failure").await;
    assert_eq!(failures, (5 - busy) as u64);
    // Two buckets (account + address, account + every address) per checked password.
    assert_eq!(used, 2 * failures);
}

async fn a_full_hashing_pool_refuses_before_the_throttle(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        raise_rate_limits(s);
        s.max_concurrent_hashes = 1;
    })
    .await;
    app.acme().await;
    // Every place of the pool (running and waiting) taken, as by a storm of checks.
    let mut places = Vec::new();
    while let Ok(place) = app.state.hasher.try_place() {
        places.push(place);
        assert!(places.len() <= 1000, "the pool is bounded");
    }
    assert_eq!(places.len(), 1 + auth_service::password::QUEUE_PER_WORKER);
    for _ in 0..3 {
        let (status, retry) = create(&app.address, "127.0.0.1", "not the password").await;
        assert_eq!(status, 503);
        assert!(retry.is_some_and(|r| r >= 1), "Retry-After");
    }
    // Refused before the throttle: no slot was reserved, not even one given back, nothing
    // audited; the owner is not locked out by refusals.
    let rows = throttle_slot::Entity::find()
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(rows, 0);
    assert_eq!(app.count_events("login_failure").await, 0);
    assert_eq!(app.count_events("login_throttled").await, 0);
    // Places back: a wrong password is checked and counted (three buckets), the right one
    // signs in.
    drop(places);
    let (status, _) = create(&app.address, "127.0.0.1", "not the password").await;
    assert_eq!(status, 401);
    let used = throttle_slot::Entity::find()
        .filter(throttle_slot::Column::UsedAtMs.gt(0))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(used, 3);
    assert_eq!(create(&app.address, "127.0.0.1", PASSWORD).await.0, 200);
}
