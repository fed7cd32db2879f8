//! `keys list|rotate|revoke|export-public|jwks|generate` as the real binary, on the keys in
//! the database: two-phase rotation, revocation (pending and signing keys), public keys as
//! PEM that OpenSSL reads and as JWK, key files in both directions with Debian's `openssl`,
//! the import of `JWT_PRIVATE_KEY_FILE` by `migrate`, and the key-encryption key's errors.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use shared_jwt::{Algorithm, SigningKey, VerifyingKey};
use test_support::{Backend, db_tests};

use crate::cli::CliEnv;

db_tests!(
    rotate_list_revoke_and_export_through_the_cli,
    openssl_reads_the_key_files_and_its_keys_are_imported,
);

fn kids(jwks: &Value) -> Vec<String> {
    let mut k: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    k.sort();
    k
}

fn states(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["kid"].as_str().unwrap().to_owned(),
                k["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// `openssl ARGS`, asserting success; returns stdout.
fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("Debian's openssl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn rotate_list_revoke_and_export_through_the_cli(b: Backend) {
    let mut env = CliEnv::new(b).await;
    // Rotated keys stay pending for the whole test.
    env.set("JWKS_MAX_AGE", "1h");
    let list = env.json(&["keys", "list"], "");
    let first = states(&list);
    assert_eq!(first.len(), 1, "{list}");
    assert_eq!(first[0].1, "signing");
    assert_eq!(list[0]["origin"], "generated");
    let old = first[0].0.clone();

    // Two-phase: the new key is published now and signs in an hour and a minute.
    let rotated = env.json(&["keys", "rotate"], "");
    let new = rotated["kid"].as_str().unwrap().to_owned();
    assert_eq!(rotated["previous_kid"], old.as_str());
    let signs_from: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(rotated["signs_from"].clone()).unwrap();
    assert!(signs_from > chrono::Utc::now() + chrono::Duration::minutes(60));
    let until: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(rotated["previous_expires_at"].clone()).unwrap();
    assert!(
        until >= signs_from + chrono::Duration::minutes(5),
        "old tokens outlive it"
    );
    assert_eq!(
        states(&env.json(&["keys", "list"], "")),
        [
            (old.clone(), "signing".into()),
            (new.clone(), "pending".into())
        ]
    );
    let text = env.ok(&["keys", "list"], "");
    assert!(
        text.contains("signing") && text.contains("pending"),
        "{text}"
    );
    let jwks: Value = serde_json::from_str(&env.ok(&["keys", "jwks"], "")).unwrap();
    assert_eq!(kids(&jwks), sorted(vec![old.clone(), new.clone()]));

    // export-public: every published key as SPKI PEM (OpenSSL reads it) and JWK.
    let exported = env.json(&["keys", "export-public"], "");
    let exported = exported.as_array().unwrap();
    assert_eq!(exported.len(), 2);
    for key in exported {
        let pem = key["pem"].as_str().unwrap();
        let path = env
            .dir()
            .join(format!("{}.pub.pem", key["kid"].as_str().unwrap()));
        std::fs::write(&path, pem).unwrap();
        let text = openssl(&[
            "pkey",
            "-pubin",
            "-in",
            path.to_str().unwrap(),
            "-noout",
            "-text",
        ]);
        assert!(text.contains("ED25519"), "{text}");
        let from_pem = VerifyingKey::from_public_pem(pem, Algorithm::EdDSA).unwrap();
        assert_eq!(from_pem.kid(), key["kid"].as_str().unwrap());
        assert_eq!(key["jwk"]["kid"], key["kid"]);
        assert!(key["jwk"].get("d").is_none(), "no private member");
    }
    let text = env.ok(&["keys", "export-public"], "");
    assert_eq!(
        text.matches("-----BEGIN PUBLIC KEY-----").count(),
        2,
        "{text}"
    );
    assert!(text.contains("\"kty\":\"OKP\""), "{text}");

    // Revoking the pending key: out of the JWKS, the old key keeps signing.
    let revoked = env.json(&["keys", "revoke", &new], "");
    assert_eq!(revoked["outcome"], "revoked");
    assert_eq!(
        states(&env.json(&["keys", "list"], "")),
        [
            (old.clone(), "signing".into()),
            (new.clone(), "revoked".into())
        ]
    );
    let jwks: Value = serde_json::from_str(&env.ok(&["keys", "jwks"], "")).unwrap();
    assert_eq!(kids(&jwks), std::slice::from_ref(&old));
    let err = env.refused(&["keys", "revoke", &new], "");
    assert!(err.contains("already revoked"), "{err}");
    let err = env.refused(&["keys", "revoke", "no-such-kid"], "");
    assert!(err.contains("no signing key with kid no-such-kid"), "{err}");
    // Kids are base64url: one may start with `-` and is still a kid, not an option.
    let err = env.refused(&["keys", "revoke", "-starts-with-a-dash"], "");
    assert!(
        err.contains("no signing key with kid -starts-with-a-dash"),
        "{err}"
    );

    // Revoking the signing key with nothing pending: a new key signs at once.
    let revoked = env.json(&["keys", "revoke", &old], "");
    assert_eq!(revoked["outcome"], "replaced");
    let replacement = revoked["signing_kid"].as_str().unwrap().to_owned();
    let list = env.json(&["keys", "list"], "");
    assert_eq!(
        states(&list),
        [
            (old.clone(), "revoked".into()),
            (new.clone(), "revoked".into()),
            (replacement.clone(), "signing".into())
        ]
    );
    let jwks: Value = serde_json::from_str(&env.ok(&["keys", "jwks"], "")).unwrap();
    assert_eq!(kids(&jwks), std::slice::from_ref(&replacement));

    // Revoking the signing key while a key is pending: the pending key takes over now.
    let pending = env.json(&["keys", "rotate"], "")["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoked = env.json(&["keys", "revoke", &replacement], "");
    assert_eq!(revoked["outcome"], "promoted");
    assert_eq!(revoked["signing_kid"], pending.as_str());
    let list = env.json(&["keys", "list"], "");
    assert_eq!(states(&list)[3], (pending.clone(), "signing".into()));
}

/// Writes a key with `openssl genpkey` and returns its path.
fn genpkey(dir: &Path, name: &str, args: &[&str]) -> String {
    let path = dir.join(name).display().to_string();
    let mut all = vec!["genpkey"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["-out", &path]);
    openssl(&all);
    path
}

async fn openssl_reads_the_key_files_and_its_keys_are_imported(b: Backend) {
    for (alg, openssl_args, openssl_name) in [
        (Algorithm::EdDSA, &["-algorithm", "ed25519"][..], "ED25519"),
        (
            Algorithm::ES256,
            &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"][..],
            "prime256v1",
        ),
    ] {
        let mut env = CliEnv::new(b).await;
        env.set("JWT_ALGORITHM", alg.as_str());
        // Files the CLI writes are PKCS#8 v1 that OpenSSL 3 reads.
        let path = env.dir().join("cli-written.pem").display().to_string();
        let generated = env.json(&["keys", "generate", "--out", &path], "");
        let pem = std::fs::read_to_string(&path).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
        let text = openssl(&["pkey", "-in", &path, "-noout", "-text"]);
        assert!(text.contains(openssl_name), "{text}");
        // The public key OpenSSL derives is the one the kid names.
        let public = openssl(&["pkey", "-in", &path, "-pubout"]);
        assert_eq!(
            VerifyingKey::from_public_pem(&public, alg).unwrap().kid(),
            generated["kid"].as_str().unwrap()
        );
        let err = env.refused(&["keys", "generate", "--out", &path], "");
        assert!(err.contains("already exists"), "{err}");

        // A key made by `openssl genpkey` becomes the signing key: imported by `migrate`,
        // once (idempotent by kid), and signing at once as the first key.
        let theirs = genpkey(env.dir(), "openssl.pem", openssl_args);
        let kid = SigningKey::from_pkcs8_pem(&std::fs::read_to_string(&theirs).unwrap(), alg)
            .unwrap()
            .kid()
            .to_owned();
        env.set("JWT_PRIVATE_KEY_FILE", &theirs);
        env.ok(&["migrate"], "");
        env.ok(&["migrate"], "");
        let list = env.json(&["keys", "list"], "");
        assert_eq!(
            states(&list),
            [(kid.clone(), "signing".to_owned())],
            "{list}"
        );
        assert_eq!(list[0]["origin"], "file");
        assert_eq!(list[0]["algorithm"], alg.as_str());

        // A second file later: imported two-phase (pending), the first keeps signing.
        let second = genpkey(env.dir(), "second.pem", openssl_args);
        env.set("JWT_PRIVATE_KEY_FILE", &second);
        env.ok(&["migrate"], "");
        let list = env.json(&["keys", "list"], "");
        let s = states(&list);
        assert_eq!(s.len(), 2, "{list}");
        assert_eq!(s[0], (kid.clone(), "signing".to_owned()));
        assert_eq!(s[1].1, "pending");

        // A configured file that does not exist stops the command with its name.
        env.set("JWT_PRIVATE_KEY_FILE", "/nonexistent/key.pem");
        let out = env.run(&["migrate"], "");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("JWT_PRIVATE_KEY_FILE /nonexistent/key.pem"),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_key_encryption_key_is_required_on_postgres_checked_and_never_printed() {
    let mut env = CliEnv::new(Backend::Sqlite).await;
    // PostgreSQL without KEY_ENCRYPTION_KEY: one line before any connection is tried.
    env.set("DATABASE_URL", "postgres://nobody@127.0.0.1:9/auth");
    let err = env.refused(&["migrate"], "");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "auth-service: invalid setting KEY_ENCRYPTION_KEY: required with PostgreSQL"
        ),
        "{err}"
    );
    // Malformed: named, the value not echoed.
    env.set("KEY_ENCRYPTION_KEY", "c2hvcnQtYnV0LXNlY3JldA==");
    let err = env.refused(&["migrate"], "");
    assert!(
        err.contains("invalid setting KEY_ENCRYPTION_KEY: expected 32 bytes"),
        "{err}"
    );
    assert!(!err.contains("c2hvcnQtYnV0LXNlY3JldA"), "{err}");

    // SQLite without it: generated once under DATA_DIR, mode 0600.
    let mut env = CliEnv::new(Backend::Sqlite).await;
    let kid = env.json(&["keys", "list"], "")[0]["kid"].clone();
    let file = env.dir().join("key-encryption-key");
    assert!(file.exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    assert_eq!(
        env.json(&["keys", "list"], "")[0]["kid"],
        kid,
        "the same key is read back"
    );
    // Another key-encryption key cannot read the stored keys: the command fails, saying so.
    env.set("KEY_ENCRYPTION_KEY", test_support::TEST_KEY_ENCRYPTION_KEY);
    env.set("BIND", "127.0.0.1:0");
    let out = env.run(&["serve"], "");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot be decrypted"), "{err}");
    assert!(
        !err.contains(test_support::TEST_KEY_ENCRYPTION_KEY),
        "{err}"
    );
}

#[tokio::test]
async fn hs512_has_no_keys_to_manage() {
    let mut env = CliEnv::new(Backend::Sqlite).await;
    env.set("JWT_ALGORITHM", "HS512");
    env.set("JWT_SECRET", &"s".repeat(64));
    for args in [
        &["keys", "generate"][..],
        &["keys", "rotate"],
        &["keys", "list"],
        &["keys", "revoke", "x"],
        &["keys", "export-public"],
    ] {
        let err = env.refused(args, "");
        assert!(err.contains("JWT_SECRET"), "{err}");
    }
    let jwks: Value = serde_json::from_str(&env.ok(&["keys", "jwks"], "")).unwrap();
    assert_eq!(jwks["keys"], serde_json::json!([]));
}
