//! JWKS fetching against a real HTTP server on 127.0.0.1:0 whose document changes: start-up
//! fetch, refetch on an unknown `kid`, the refetch rate limit, key removal, and the background
//! refresh driven by the answer's `Cache-Control: max-age`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::*;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use shared_jwt::{Algorithm, JwksOptions, KeySet, Role, SigningKey, Verifier, VerifyError};
use url::Url;

#[derive(Clone, Default)]
struct Jwks {
    document: Arc<Mutex<(StatusCode, String)>>,
    fetches: Arc<AtomicUsize>,
    /// The `Cache-Control` answered, if any.
    cache_control: Arc<Mutex<Option<String>>>,
}

impl Jwks {
    fn publish(&self, keys: &[&SigningKey]) {
        let set: KeySet = keys.iter().map(|k| k.verifying_key()).collect();
        *self.document.lock().unwrap() = (StatusCode::OK, set.to_jwks().to_string());
    }

    fn fail(&self) {
        *self.document.lock().unwrap() = (StatusCode::INTERNAL_SERVER_ERROR, "oops".into());
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn serve_jwks(State(jwks): State<Jwks>) -> impl IntoResponse {
    jwks.fetches.fetch_add(1, Ordering::SeqCst);
    let (status, body) = jwks.document.lock().unwrap().clone();
    let cache_control = jwks.cache_control.lock().unwrap().clone();
    let mut res = (status, [("content-type", "application/json")], body).into_response();
    if let Some(value) = cache_control {
        res.headers_mut()
            .insert("cache-control", value.parse().unwrap());
    }
    res
}

async fn start(jwks: &Jwks) -> Url {
    let app = Router::new()
        .route("/.well-known/jwks.json", get(serve_jwks))
        .with_state(jwks.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Url::parse(&format!("http://{addr}/.well-known/jwks.json")).unwrap()
}

fn options(interval: Duration) -> JwksOptions {
    JwksOptions {
        http_timeout: Duration::from_secs(5),
        min_refresh_interval: interval,
        ..JwksOptions::default()
    }
}

fn token(key: &SigningKey) -> String {
    signer(key).issue(&input(Role::Member)).unwrap()
}

#[tokio::test]
async fn unknown_kid_triggers_one_refetch_that_finds_the_new_key() {
    let (a, b) = (key(Algorithm::EdDSA), key(Algorithm::EdDSA));
    let jwks = Jwks::default();
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    let v = Verifier::from_jwks_url_with(config(Algorithm::EdDSA), url, options(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(jwks.fetches(), 1, "fetched at start-up");
    assert!(v.verify_or_refresh(&token(&a)).await.is_ok());
    assert_eq!(jwks.fetches(), 1, "a known kid never fetches");

    jwks.publish(&[&a, &b]);
    let b_token = token(&b);
    assert_eq!(
        v.verify(&b_token).unwrap_err(),
        VerifyError::UnknownKid,
        "verify() does no I/O"
    );
    assert!(v.verify_or_refresh(&b_token).await.is_ok());
    assert_eq!(jwks.fetches(), 2);
    assert!(v.verify_or_refresh(&b_token).await.is_ok());
    assert_eq!(jwks.fetches(), 2, "now known: no more fetches");
}

#[tokio::test]
async fn refetches_are_rate_limited_whatever_the_traffic() {
    let (a, b) = (key(Algorithm::EdDSA), key(Algorithm::EdDSA));
    let jwks = Jwks::default();
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    let v = Verifier::from_jwks_url_with(
        config(Algorithm::EdDSA),
        url,
        options(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    jwks.publish(&[&a, &b]);
    let b_token = token(&b);
    // Within 30 s of the start-up fetch: no refetch, however many requests.
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let (v, t) = (v.clone(), b_token.clone());
        tasks.push(tokio::spawn(async move { v.verify_or_refresh(&t).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), VerifyError::UnknownKid);
    }
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn the_rate_limit_window_reopens_and_concurrent_callers_share_one_fetch() {
    let (a, b, c) = (
        key(Algorithm::EdDSA),
        key(Algorithm::EdDSA),
        key(Algorithm::EdDSA),
    );
    let jwks = Jwks::default();
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    // Long enough that a slow CI machine cannot let it lapse between the asserts below.
    let interval = Duration::from_secs(2);
    let v = Verifier::from_jwks_url_with(config(Algorithm::EdDSA), url, options(interval))
        .await
        .unwrap();
    jwks.publish(&[&a, &b]);
    tokio::time::sleep(interval + Duration::from_millis(200)).await;
    let b_token = token(&b);
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (v, t) = (v.clone(), b_token.clone());
        tasks.push(tokio::spawn(async move { v.verify_or_refresh(&t).await }));
    }
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(jwks.fetches(), 2, "twenty callers, one fetch");
    // A kid nobody publishes, right after a fetch: refused without fetching.
    assert_eq!(
        v.verify_or_refresh(&token(&c)).await.unwrap_err(),
        VerifyError::UnknownKid
    );
    assert_eq!(jwks.fetches(), 2);
}

#[tokio::test]
async fn a_refetch_that_drops_a_key_also_drops_its_cached_tokens() {
    let (a, b) = (key(Algorithm::EdDSA), key(Algorithm::EdDSA));
    let jwks = Jwks::default();
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    let v = Verifier::from_jwks_url_with(config_cached(), url, options(Duration::ZERO))
        .await
        .unwrap();
    let a_token = token(&a);
    assert!(v.verify_or_refresh(&a_token).await.is_ok());
    assert_eq!(v.cached_tokens(), 1);
    // Rotation done by auth-service: only b is published now.
    jwks.publish(&[&b]);
    assert!(v.verify_or_refresh(&token(&b)).await.is_ok());
    assert_eq!(
        v.verify_or_refresh(&a_token).await.unwrap_err(),
        VerifyError::UnknownKid
    );
}

fn config_cached() -> shared_jwt::VerifierConfig {
    shared_jwt::VerifierConfig {
        cache_capacity: 100,
        ..config(Algorithm::EdDSA)
    }
}

#[tokio::test]
async fn failed_refetches_keep_the_old_keys_and_count_against_the_limit() {
    let (a, b) = (key(Algorithm::EdDSA), key(Algorithm::EdDSA));
    let jwks = Jwks::default();
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    let v = Verifier::from_jwks_url_with(
        config(Algorithm::EdDSA),
        url,
        options(Duration::from_secs(30)),
    )
    .await
    .unwrap();
    jwks.fail();
    assert_eq!(
        v.verify_or_refresh(&token(&b)).await.unwrap_err(),
        VerifyError::UnknownKid
    );
    assert!(
        v.verify_or_refresh(&token(&a)).await.is_ok(),
        "old keys kept"
    );
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn start_up_fails_when_the_jwks_is_unusable() {
    let jwks = Jwks::default();
    jwks.fail();
    let url = start(&jwks).await;
    let err = Verifier::from_jwks_url(config(Algorithm::EdDSA), url.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("status 500"), "{err}");
    // Keys of another algorithm only.
    jwks.publish(&[&key(Algorithm::ES256)]);
    assert!(
        Verifier::from_jwks_url(config(Algorithm::EdDSA), url)
            .await
            .is_err()
    );
    // Nothing listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = Url::parse(&format!(
        "http://{}/jwks.json",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    drop(listener);
    assert!(
        Verifier::from_jwks_url(config(Algorithm::EdDSA), dead)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn settings_from_the_environment_drive_a_protected_router_end_to_end() {
    use axum::body::Body;
    use axum::http::Request;
    use shared_jwt::{AuthContext, AuthLayer, AuthSettings, CurrentUser};
    use tower::ServiceExt;

    let a = key(Algorithm::EdDSA);
    let jwks = Jwks::default();
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    let auth_url = format!("http://{}", url.authority());
    let vars = [
        ("AUTH_URL", auth_url.clone()),
        ("PUBLIC_URL", "http://localhost:8001".to_owned()),
    ];
    let settings = AuthSettings::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    let ctx = AuthContext::from_settings(settings).await.unwrap();
    let app = Router::new()
        .route(
            "/",
            get(|CurrentUser(c): CurrentUser| async move { c.email.clone() }),
        )
        .layer(AuthLayer::new(ctx));
    // auth-service would sign with iss = its AUTH_URL and aud = "localhost" (no COOKIE_DOMAIN).
    let token = shared_jwt::Signer::new(
        a.clone(),
        auth_url.clone(),
        "localhost",
        Duration::from_secs(60),
    )
    .issue(&input(Role::Member))
    .unwrap();
    let req = Request::get("/")
        .header("cookie", format!("access_token={token}"))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let req = Request::get("/?a=b").body(Body::empty()).unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        res.headers()["location"],
        format!("{auth_url}/login?next=http%3A%2F%2Flocalhost%3A8001%2F%3Fa%3Db").as_str()
    );
}

#[tokio::test]
async fn a_jwks_server_that_hangs_or_floods_is_cut_off() {
    // Accepts connections and never answers: the fetch must give up after the timeout.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let url = Url::parse(&format!("http://{addr}/jwks.json")).unwrap();
    let quick = JwksOptions {
        http_timeout: Duration::from_millis(300),
        ..JwksOptions::default()
    };
    let err = Verifier::from_jwks_url_with(config(Algorithm::EdDSA), url, quick)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("JWKS fetch"), "{err}");

    // Answers with far more than any JWKS needs.
    let jwks = Jwks::default();
    *jwks.document.lock().unwrap() = (
        StatusCode::OK,
        format!("{{\"keys\": [], \"x\": \"{}\"}}", "a".repeat(400 * 1024)),
    );
    let url = start(&jwks).await;
    let err = Verifier::from_jwks_url(config(Algorithm::EdDSA), url)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("too large"), "{err}");
}

/// Polls `check` every 50 ms until it holds; panics after a generous deadline.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_background_refresh_follows_max_age_and_drops_removed_keys_with_their_tokens() {
    let (a, b) = (key(Algorithm::EdDSA), key(Algorithm::EdDSA));
    let jwks = Jwks::default();
    *jwks.cache_control.lock().unwrap() = Some("public, max-age=1".into());
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    let quick = JwksOptions {
        refresh_floor: Duration::from_millis(200),
        // No unknown-kid refetch can explain what follows.
        min_refresh_interval: Duration::from_secs(3600),
        ..JwksOptions::default()
    };
    let v = Verifier::from_jwks_url_with(config_cached(), url, quick)
        .await
        .unwrap();
    let a_token = token(&a);
    assert!(v.verify(&a_token).is_ok());
    assert_eq!(v.cached_tokens(), 1);

    // A key published later is picked up without any token asking for it (verify() does
    // no I/O): the background refresh found it.
    jwks.publish(&[&a, &b]);
    let b_token = token(&b);
    eventually("the new key is fetched in the background", || {
        v.verify(&b_token).is_ok()
    })
    .await;
    assert!(v.verify(&a_token).is_ok(), "adding a key keeps the old one");

    // The old key leaves the JWKS: dropped, and its cached token with it.
    jwks.publish(&[&b]);
    eventually("the removed key is dropped", || {
        v.verify(&a_token) == Err(VerifyError::UnknownKid)
    })
    .await;
    assert!(v.verify(&b_token).is_ok());
    assert!(v.jwks_fetches() >= 3, "start-up plus background fetches");
    assert!(jwks.fetches() >= 3);
}

#[tokio::test]
async fn the_background_refresh_stops_with_the_last_clone_of_the_verifier() {
    let a = key(Algorithm::EdDSA);
    let jwks = Jwks::default();
    *jwks.cache_control.lock().unwrap() = Some("max-age=0".into());
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    let quick = JwksOptions {
        refresh_floor: Duration::from_millis(100),
        ..JwksOptions::default()
    };
    let v = Verifier::from_jwks_url_with(config(Algorithm::EdDSA), url, quick)
        .await
        .unwrap();
    eventually("a background fetch happens", || jwks.fetches() >= 2).await;
    drop(v);
    // At most one fetch was in flight when the verifier went away; after that, none (alive,
    // the task would fetch about ten times a second).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let settled = jwks.fetches();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        jwks.fetches(),
        settled,
        "no fetches after the verifier is dropped"
    );
}

/// A token whose header names `kid` (the signature is never reached: the kid is unknown).
fn token_with_kid(kid: &str) -> String {
    format!(
        "{}.{}",
        signing_input(&header("EdDSA", kid), &claims_json()),
        b64([0u8; 64])
    )
}

#[tokio::test]
async fn a_thousand_random_kids_cost_a_handful_of_fetches() {
    let a = key(Algorithm::EdDSA);
    let jwks = Jwks::default();
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    let interval = Duration::from_millis(500);
    let v = Verifier::from_jwks_url_with(config(Algorithm::EdDSA), url, options(interval))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    // Half at once, half spread over time (the window reopens a few times).
    let mut tasks = Vec::new();
    for _ in 0..500 {
        let v = v.clone();
        let t = token_with_kid(&uuid::Uuid::new_v4().to_string());
        tasks.push(tokio::spawn(async move { v.verify_or_refresh(&t).await }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err(), VerifyError::UnknownKid);
    }
    for i in 0..500 {
        let t = token_with_kid(&uuid::Uuid::new_v4().to_string());
        assert_eq!(
            v.verify_or_refresh(&t).await.unwrap_err(),
            VerifyError::UnknownKid
        );
        if i % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // At most one fetch per interval (plus the start-up fetch and the window open at the
    // start), however many requests: bounded by the time the test took, not by 1,000.
    let windows = (started.elapsed().as_secs_f64() / interval.as_secs_f64()).ceil() as usize;
    let fetches = jwks.fetches();
    assert!(
        fetches <= 2 + windows,
        "{fetches} fetches in {windows} windows"
    );
    assert!(fetches < 100, "nowhere near one per kid: {fetches}");
    assert!(v.verify(&token(&a)).is_ok(), "the real key still verifies");
}

#[tokio::test]
async fn with_the_default_options_a_burst_of_random_kids_costs_no_extra_fetch() {
    let a = key(Algorithm::EdDSA);
    let jwks = Jwks::default();
    jwks.publish(&[&a]);
    let url = start(&jwks).await;
    let v = Verifier::from_jwks_url(config(Algorithm::EdDSA), url)
        .await
        .unwrap();
    for _ in 0..1000 {
        let t = token_with_kid(&uuid::Uuid::new_v4().to_string());
        assert!(v.verify_or_refresh(&t).await.is_err());
    }
    // The start-up fetch, and at most one refetch if the 5 s window reopened meanwhile.
    assert!(jwks.fetches() <= 2, "{}", jwks.fetches());
}
