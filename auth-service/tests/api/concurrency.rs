//! Check-then-act under concurrency: `max_users` holds when many sign up at once,
//! parallel refreshes of one token all get the same successor, and a full hashing
//! queue answers 503 with `Retry-After` rather than queueing without end.

use std::time::Duration;

use auth_service::tenants::SignupPolicy;
use shared_jwt::Role;

use crate::api::helpers::{Backend, PASSWORD, TestApp, find_cookie, plain_client};
use test_support::db_tests;

db_tests!(
    worker_threads = 4;
    max_users_holds_when_many_join_at_once,
    parallel_refreshes_of_one_token_get_the_same_successor,
    a_full_hashing_queue_answers_503_with_retry_after,
);

async fn max_users_holds_when_many_join_at_once(b: Backend) {
    let app = TestApp::spawn(b).await;
    let t = app.tenant("acme", SignupPolicy::Open, 3).await;
    app.user(&t, "owner@acme.test", Role::Owner).await;
    let token = app.csrf_token("/register").await;
    let mut handles = Vec::new();
    for i in 0..6 {
        let client = app.client.clone();
        let url = app.url("/register");
        let token = token.clone();
        handles.push(tokio::spawn(async move {
            let email = format!("joiner{i}@acme.test");
            client
                .post(url)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("first_name", "J"),
                    ("last_name", "Oiner"),
                    ("email", &email),
                    ("password", PASSWORD),
                    ("password_confirm", PASSWORD),
                    ("organization", "acme"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut statuses = Vec::new();
    for h in handles {
        statuses.push(h.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        vec![303, 303, 422, 422, 422, 422],
        "two seats were left"
    );
    assert_eq!(app.count_users().await, 3);
}

async fn parallel_refreshes_of_one_token_get_the_same_successor(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.acme().await;
    let res = app.login("acme", "ada@acme.test", PASSWORD, "/").await;
    let token = find_cookie(&res, "refresh_token")
        .unwrap()
        .value()
        .to_owned();
    let mut handles = Vec::new();
    for _ in 0..5 {
        let url = app.url("/refresh");
        let cookie = format!("refresh_token={token}");
        handles.push(tokio::spawn(async move {
            let res = plain_client()
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 303);
            find_cookie(&res, "refresh_token").map(|c| c.value().to_owned())
        }));
    }
    let mut successors = Vec::new();
    for h in handles {
        successors.push(h.await.unwrap().expect("every tab got a token"));
    }
    assert!(
        successors
            .iter()
            .all(|s| s == &successors[0] && s != &token),
        "{successors:?}"
    );
    assert_eq!(app.count_events("refresh_reuse").await, 0);
}

async fn a_full_hashing_queue_answers_503_with_retry_after(b: Backend) {
    let app = TestApp::spawn_with(b, |s| {
        s.max_concurrent_hashes = 1;
        s.hash_queue_timeout = Duration::from_millis(1);
    })
    .await;
    app.acme().await;
    let token = app.csrf_token("/login").await;
    let mut handles = Vec::new();
    for _ in 0..8 {
        let client = app.client.clone();
        let url = app.url("/login");
        let token = token.clone();
        handles.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .form(&[
                    ("csrf_token", token.as_str()),
                    ("tenant", "acme"),
                    ("email", "ada@acme.test"),
                    ("password", PASSWORD),
                ])
                .send()
                .await
                .unwrap();
            (
                res.status().as_u16(),
                res.headers().get("retry-after").is_some(),
            )
        }));
    }
    let mut results = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }
    // More than 5 checks at once for one account and address: the rest are refused by
    // the password-guessing limit before hashing (429, also with Retry-After).
    assert!(
        results
            .iter()
            .all(|(s, retry)| *s == 303 || ((*s == 503 || *s == 429) && *retry)),
        "{results:?}"
    );
    assert!(results.iter().any(|(s, _)| *s == 503), "{results:?}");
    assert!(results.iter().any(|(s, _)| *s == 303), "{results:?}");
}
