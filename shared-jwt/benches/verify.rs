//! What verifying an access token costs: per algorithm, uncached and cached; the Ed25519
//! primitive alone (aws-lc through jsonwebtoken vs ed25519-dalek); and a one-route axum
//! router end to end, with and without authentication.
//!
//! Run: `cargo bench -p shared-jwt -- --warm-up-time 1 --measurement-time 3`
#![allow(clippy::unwrap_used, clippy::expect_used)] // A bench that cannot set up should stop.

use std::hint::black_box;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use shared_jwt::{
    AccessTokenInput, Algorithm, AuthContext, AuthLayer, Claims, CookieSettings, Csrf, CurrentUser,
    KeySet, Role, Signer, SigningKey, Verifier, VerifierConfig,
};
use tower::ServiceExt;
use url::Url;
use uuid::Uuid;

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "example.com";

fn key(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::HS512 => SigningKey::from_hs512_secret(&[42u8; 64]).unwrap(),
        _ => SigningKey::generate(alg).unwrap(),
    }
}

fn token(key: &SigningKey) -> String {
    let signer = Signer::new(key.clone(), ISSUER, AUDIENCE, Duration::from_secs(3600));
    signer
        .issue(&AccessTokenInput {
            user_id: Uuid::new_v4(),
            tenant_id: Uuid::new_v4(),
            tenant_slug: "acme".into(),
            role: Role::Member,
            email: "ada@example.com".into(),
            name: "Ada Lovelace".into(),
            email_verified: true,
            session_id: Some(Uuid::new_v4()),
        })
        .unwrap()
}

fn verifier(key: &SigningKey, cache_capacity: usize) -> Verifier {
    let config = VerifierConfig {
        algorithm: key.algorithm(),
        issuer: ISSUER.into(),
        audience: AUDIENCE.into(),
        leeway: Duration::from_secs(30),
        cache_capacity,
    };
    Verifier::new(
        config,
        [key.verifying_key()].into_iter().collect::<KeySet>(),
    )
    .unwrap()
}

fn verify(c: &mut Criterion) {
    let mut group = c.benchmark_group("verify");
    for alg in [Algorithm::HS512, Algorithm::EdDSA, Algorithm::ES256] {
        let key = key(alg);
        let token = token(&key);
        let uncached = verifier(&key, 0);
        group.bench_function(format!("{alg}/uncached"), |b| {
            b.iter(|| uncached.verify(black_box(&token)).unwrap())
        });
        let cached = verifier(&key, 10_000);
        cached.verify(&token).unwrap();
        group.bench_function(format!("{alg}/cached"), |b| {
            b.iter(|| cached.verify(black_box(&token)).unwrap())
        });
    }
    group.finish();
}

/// The Ed25519 check alone, and jsonwebtoken's whole `decode`, for the README's comparison.
fn primitives(c: &mut Criterion) {
    let mut group = c.benchmark_group("primitive");
    let key = key(Algorithm::EdDSA);
    let token = token(&key);
    let (input, sig_b64) = token.rsplit_once('.').unwrap();
    let public = key.verifying_key().ed25519_public_key().unwrap();
    let sig_bytes: [u8; 64] = URL_SAFE_NO_PAD.decode(sig_b64).unwrap().try_into().unwrap();
    let signature = ed25519_dalek::Signature::from_bytes(&sig_bytes);
    let decoding = jsonwebtoken::DecodingKey::from_ed_der(public.as_bytes());
    group.bench_function("ed25519/aws-lc (jsonwebtoken::crypto::verify)", |b| {
        b.iter(|| {
            assert!(
                jsonwebtoken::crypto::verify(
                    black_box(sig_b64),
                    input.as_bytes(),
                    &decoding,
                    jsonwebtoken::Algorithm::EdDSA
                )
                .unwrap()
            )
        })
    });
    group.bench_function("ed25519/dalek verify_strict", |b| {
        b.iter(|| {
            public
                .verify_strict(black_box(input.as_bytes()), &signature)
                .unwrap()
        })
    });
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    group.bench_function("EdDSA/jsonwebtoken::decode (aws-lc)", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Claims>(black_box(&token), &decoding, &validation).unwrap()
        })
    });
    group.bench_function("sha256(token) (cache key)", |b| {
        use sha2::Digest;
        b.iter(|| sha2::Sha256::digest(black_box(token.as_bytes())))
    });
    group.finish();
}

fn router(key: &SigningKey, cache_capacity: usize) -> Router {
    let ctx = AuthContext {
        verifier: verifier(key, cache_capacity),
        cookies: CookieSettings {
            secure: true,
            domain: Some("example.com".into()),
            access_ttl: Duration::from_secs(300),
            refresh_ttl: Duration::from_secs(86_400),
        },
        auth_url: Url::parse(ISSUER).unwrap(),
        public_url: Url::parse("https://expenses.example.com").unwrap(),
        tenant_host_domain: None,
        csrf: Csrf::random(),
    };
    Router::new()
        .route(
            "/",
            get(|CurrentUser(c): CurrentUser| async move { c.name.clone() }),
        )
        .layer(AuthLayer::new(ctx))
}

fn end_to_end(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("router");
    let key = key(Algorithm::EdDSA);
    let cookie = format!("__Secure-access_token={}", token(&key));
    let request = |cookie: Option<&str>| {
        let mut req = Request::get("/").header("accept", "text/html");
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        req.body(Body::empty()).unwrap()
    };
    let call = |app: &Router, req: Request<Body>, expect: StatusCode| {
        let res = rt.block_on(app.clone().oneshot(req)).unwrap();
        assert_eq!(res.status(), expect);
    };

    // The baseline gets the very same request (cookie included), so the difference is auth.
    let plain = Router::new().route("/", get(|| async { "Ada Lovelace" }));
    group.bench_function("no auth (plain route, same request)", |b| {
        b.iter(|| call(&plain, request(Some(&cookie)), StatusCode::OK))
    });
    let cached = router(&key, 10_000);
    group.bench_function("EdDSA cookie, cached", |b| {
        b.iter(|| call(&cached, request(Some(&cookie)), StatusCode::OK))
    });
    let uncached = router(&key, 0);
    group.bench_function("EdDSA cookie, uncached", |b| {
        b.iter(|| call(&uncached, request(Some(&cookie)), StatusCode::OK))
    });
    group.bench_function("no cookie -> 303", |b| {
        b.iter(|| call(&cached, request(None), StatusCode::SEE_OTHER))
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = verify, primitives, end_to_end
}
criterion_main!(benches);
