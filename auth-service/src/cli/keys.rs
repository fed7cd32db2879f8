//! `auth-service keys list|rotate|revoke|export-public|jwks|generate`: the signing keys in
//! the database (`infra::keys::store`), shared by every replica.
//!
//! - `rotate` is two-phase: the new key is published at once and signs after
//!   `JWKS_MAX_AGE` + `KEY_ACTIVATION_MARGIN` (1 minute by default), so every verifier has
//!   fetched it before it meets a token of it; the old key retires then and stays published
//!   until its last token expired (`ACCESS_TOKEN_TTL` + 60 s leeway + `KEY_RELOAD_INTERVAL`).
//!   Running replicas pick the change up within `KEY_RELOAD_INTERVAL`: no restart.
//! - `revoke KID` (compromise): out of the JWKS and refused by auth-service at once, by
//!   verifiers within `JWKS_MAX_AGE`. Revoking the signing key hands signing at once to the
//!   newest pending key, or to a new key created for it.
//! - `generate` writes a new PKCS#8 v1 PEM file (what `openssl genpkey` writes) for
//!   `JWT_PRIVATE_KEY_FILE`; `migrate` or the next start imports it.

use chrono::{DateTime, SecondsFormat, Utc};
use clap::Subcommand;
use serde_json::{Value, json};
use shared_jwt::{Algorithm, SigningKey, VerifyingKey};

use super::{CliError, Out, database, input};
use crate::config::Settings;
use crate::infra::keys::kek::Kek;
use crate::infra::keys::store::{self, KeyState, RevokeError, Revoked};
use crate::infra::keys::write_private_file;

/// Key commands.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Show every key with its state (pending, signing, retired, expired, revoked).
    List,
    /// Two-phase rotation: publish a new key now; it signs after JWKS_MAX_AGE + 1 minute.
    Rotate,
    /// Revoke a key (compromise): out of the JWKS and refused at once.
    Revoke {
        /// The key's id (see `keys list`); base64url, so it may start with `-`.
        #[arg(allow_hyphen_values = true)]
        kid: String,
    },
    /// Print the published public keys as PEM and as JWK.
    ExportPublic,
    /// Print the JWKS (the published public keys) as JSON.
    Jwks,
    /// Write a new private key file (PKCS#8 v1 PEM) for JWT_PRIVATE_KEY_FILE.
    Generate {
        /// Where to write it (default: JWT_PRIVATE_KEY_FILE); an existing file is kept.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

fn require_asymmetric(settings: &Settings) -> Result<Algorithm, CliError> {
    let alg = settings.jwt_algorithm;
    if alg == Algorithm::HS512 {
        return Err(input(
            "JWT_ALGORITHM=HS512 signs with JWT_SECRET: no key is stored or published; rotate by changing JWT_SECRET on every service at once",
        ));
    }
    Ok(alg)
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn published_keys(lives: &[store::KeyLife]) -> Result<Vec<VerifyingKey>, CliError> {
    lives
        .iter()
        .filter(|l| l.state.is_published())
        .map(|l| {
            let jwk: Value = serde_json::from_str(&l.row.public_jwk)
                .map_err(|e| CliError::Failed(anyhow::anyhow!("key {}: {e}", l.row.kid)))?;
            VerifyingKey::from_jwk(&jwk)
                .map_err(|e| CliError::Failed(anyhow::anyhow!("key {}: {e}", l.row.kid)))
        })
        .collect()
}

/// Runs a keys command.
///
/// # Errors
/// Bad input (HS512, unknown kid, existing file) or a database, key or I/O failure.
pub async fn run(command: KeysCommand, settings: &Settings, out: Out) -> Result<(), CliError> {
    if matches!(command, KeysCommand::Jwks) && settings.jwt_algorithm == Algorithm::HS512 {
        // Nothing is published for HS512; the JWKS is JSON either way.
        println!("{}", shared_jwt::KeySet::new().to_jwks());
        return Ok(());
    }
    let alg = require_asymmetric(settings)?;
    if let KeysCommand::Generate { out: path } = command {
        return generate(settings, alg, path, out);
    }
    let db = database(settings).await?;
    // What a start does: the key file imported, a signing key present.
    let kek = Kek::from_settings(settings)?;
    store::import_file(&db, &kek, settings).await?;
    store::ensure_signing_key(&db, &kek, settings).await?;
    let keep = store::keep_after_retirement(settings);
    match command {
        KeysCommand::List => {
            let rows = store::of_algorithm(&db, alg).await?;
            let lives = store::lives(&rows, Utc::now(), keep);
            let mut text = format!(
                "{:<44} {:<6} {:<8} {:<21} {:<21} UNTIL",
                "KID", "ALG", "STATE", "PUBLISHED", "SIGNS FROM"
            );
            let mut json_rows = Vec::new();
            for l in &lives {
                let until = match l.state {
                    KeyState::Revoked => l.row.revoked_at.map(|t| format!("revoked {}", time(t))),
                    KeyState::Signing => l.retired_at.map(|t| format!("retires {}", time(t))),
                    _ => l.expires_at.map(|t| format!("published until {}", time(t))),
                };
                text.push_str(&format!(
                    "\n{:<44} {:<6} {:<8} {:<21} {:<21} {}",
                    l.row.kid,
                    l.row.algorithm,
                    l.state.as_str(),
                    time(l.row.published_at),
                    time(l.row.signs_from),
                    until.unwrap_or_else(|| "-".to_owned()),
                ));
                json_rows.push(json!({
                    "kid": l.row.kid,
                    "algorithm": l.row.algorithm,
                    "state": l.state,
                    "origin": l.row.origin,
                    "published_at": l.row.published_at,
                    "signs_from": l.row.signs_from,
                    "retired_at": l.retired_at,
                    "expires_at": l.expires_at,
                    "revoked_at": l.row.revoked_at,
                }));
            }
            out.emit(&text, &Value::Array(json_rows));
        }
        KeysCommand::Rotate => {
            let before = store::lives(&store::of_algorithm(&db, alg).await?, Utc::now(), keep);
            let model = store::rotate(&db, &kek, settings, "rotation").await?;
            let previous = before
                .iter()
                .find(|l| l.state == KeyState::Signing)
                .map(|l| l.row.kid.clone());
            let old_until = model.signs_from
                + chrono::Duration::from_std(keep).unwrap_or(chrono::Duration::MAX);
            out.emit(
                &format!(
                    "New key {} published now; it signs from {}. The key signing until then{} stays published until {}. Running replicas follow within KEY_RELOAD_INTERVAL; no restart.",
                    model.kid,
                    time(model.signs_from),
                    previous.as_deref().map(|k| format!(" ({k})")).unwrap_or_default(),
                    time(old_until),
                ),
                &json!({
                    "kid": model.kid,
                    "published_at": model.published_at,
                    "signs_from": model.signs_from,
                    "previous_kid": previous,
                    "previous_expires_at": old_until,
                }),
            );
        }
        KeysCommand::Revoke { kid } => {
            let outcome = store::revoke(&db, &kek, settings, &kid)
                .await
                .map_err(|e| match e {
                    RevokeError::Failed(e) => CliError::Failed(e),
                    other => input(other.to_string()),
                })?;
            let text = match &outcome {
                Revoked::Revoked { kid } => format!(
                    "Revoked {kid}: out of the JWKS and refused by auth-service now, by verifiers within JWKS_MAX_AGE."
                ),
                Revoked::Promoted { kid, signing_kid } => format!(
                    "Revoked the signing key {kid}: out of the JWKS and refused now. The pending key {signing_kid} signs from now on."
                ),
                Revoked::Replaced { kid, signing_kid } => format!(
                    "Revoked the signing key {kid}: out of the JWKS and refused now. A new key {signing_kid} signs from now on (every signed-in user gets a token of it at the next refresh)."
                ),
            };
            let value =
                serde_json::to_value(&outcome).map_err(|e| CliError::Failed(anyhow::anyhow!(e)))?;
            out.emit(&text, &value);
        }
        KeysCommand::ExportPublic => {
            let rows = store::of_algorithm(&db, alg).await?;
            let keys = published_keys(&store::lives(&rows, Utc::now(), keep))?;
            let mut text = String::new();
            let mut values = Vec::new();
            for key in &keys {
                let pem = key.to_public_pem().unwrap_or_default();
                let jwk = key.to_jwk().unwrap_or(Value::Null);
                text.push_str(&format!("# kid {}\n{pem}{jwk}\n\n", key.kid()));
                values.push(json!({"kid": key.kid(), "pem": pem, "jwk": jwk}));
            }
            out.emit(text.trim_end(), &Value::Array(values));
        }
        KeysCommand::Jwks => {
            let rows = store::of_algorithm(&db, alg).await?;
            let keys = published_keys(&store::lives(&rows, Utc::now(), keep))?;
            let set: shared_jwt::KeySet = keys.into_iter().collect();
            // The JWKS is JSON either way.
            println!("{}", set.to_jwks());
        }
        KeysCommand::Generate { .. } => {}
    }
    Ok(())
}

fn generate(
    settings: &Settings,
    alg: Algorithm,
    path: Option<std::path::PathBuf>,
    out: Out,
) -> Result<(), CliError> {
    let path = path.unwrap_or_else(|| settings.jwt_private_key_file.clone());
    if path.exists() {
        return Err(input(format!(
            "{} already exists; keys in use are rotated with `auth-service keys rotate`",
            path.display()
        )));
    }
    let key = SigningKey::generate(alg)
        .map_err(|e| CliError::Failed(anyhow::anyhow!("generating a key: {e}")))?;
    let pem = key
        .to_pkcs8_pem()
        .map_err(|e| CliError::Failed(anyhow::anyhow!("encoding the key: {e}")))?;
    write_private_file(&path, pem.as_bytes())
        .map_err(|e| CliError::Failed(anyhow::anyhow!("writing {}: {e}", path.display())))?;
    out.emit(
        &format!(
            "Generated {alg} key {} at {} (PKCS#8 PEM). `auth-service migrate` or the next start imports it when it is JWT_PRIVATE_KEY_FILE.",
            key.kid(),
            path.display()
        ),
        &json!({"kid": key.kid(), "algorithm": alg.to_string(), "path": path}),
    );
    Ok(())
}
