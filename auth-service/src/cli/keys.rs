//! `auth-service keys generate|rotate|list|jwks`, on the auth helper's
//! [`KeyStore`] and its files (the PKCS#8 key at
//! `JWT_PRIVATE_KEY_FILE`, retired public keys in `jwt-previous-keys.json` beside it).
//!
//! Rotation: the new key signs from the next start of the service; the old public key
//! stays in the JWKS for `--keep-for` (default: `ACCESS_TOKEN_TTL` + 60 s verifier
//! leeway + 1 h for the instances to restart), so every token it signed verifies until
//! that token has expired. Running instances publish the new JWKS and sign with the new
//! key once restarted; restart them within the hour (or pass a longer `--keep-for`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use serde_json::{Value, json};
use shared_jwt::{Algorithm, SigningKey};

use super::{CliError, Out, input};
use crate::config::Settings;
use crate::infra::keys::{self, KeyStore};

/// How long verifiers may lag behind (shared-jwt clamps leeway to 60 s).
const VERIFIER_LEEWAY: Duration = Duration::from_secs(60);
/// Time for the running instances to be restarted after a rotation.
const RESTART_MARGIN: Duration = Duration::from_secs(3600);

/// Key commands.
#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Create the signing key at JWT_PRIVATE_KEY_FILE (refuses to overwrite one).
    Generate,
    /// Retire the current key (still published for --keep-for) and create a new one.
    Rotate {
        /// How long the old key stays in the JWKS, e.g. `2h`; at least ACCESS_TOKEN_TTL + 60s.
        #[arg(long, value_parser = keep_for)]
        keep_for: Option<Duration>,
    },
    /// Show the current key and the retired ones with their expiry.
    List,
    /// Print the JWKS (the public keys) as JSON.
    Jwks,
}

fn require_asymmetric(settings: &Settings) -> Result<Algorithm, CliError> {
    let alg = settings.jwt_algorithm;
    if alg == Algorithm::HS512 {
        return Err(input(
            "JWT_ALGORITHM=HS512 signs with JWT_SECRET: there is no key file to manage and nothing is published; rotate by changing JWT_SECRET",
        ));
    }
    Ok(alg)
}

fn require_key_file(settings: &Settings) -> Result<(), CliError> {
    if settings.jwt_private_key_file.exists() {
        Ok(())
    } else {
        Err(input(format!(
            "no signing key at {}; create it with `auth-service keys generate`",
            settings.jwt_private_key_file.display()
        )))
    }
}

/// A retired key as recorded in the previous-keys file.
#[derive(Debug, Clone)]
pub struct Retired {
    /// Its kid.
    pub kid: String,
    /// When it leaves the JWKS.
    pub expires_at: DateTime<Utc>,
}

/// The retired keys recorded next to the key file, expired ones included.
///
/// # Errors
/// An unreadable or malformed file.
pub fn retired_keys(settings: &Settings) -> Result<Vec<Retired>, CliError> {
    let path = keys::previous_keys_path(settings);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(CliError::Failed(anyhow::anyhow!(
                "reading {}: {e}",
                path.display()
            )));
        }
    };
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| CliError::Failed(anyhow::anyhow!("parsing {}: {e}", path.display())))?;
    Ok(doc["keys"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            Some(Retired {
                kid: e["jwk"]["kid"].as_str()?.to_owned(),
                expires_at: e["expires_at"].as_str()?.parse().ok()?,
            })
        })
        .collect())
}

/// Runs a keys command (no database needed).
///
/// # Errors
/// Bad input (HS512, missing or existing key file, too short `--keep-for`) or an I/O failure.
pub fn run(command: KeysCommand, settings: &Settings, out: Out) -> Result<(), CliError> {
    match command {
        KeysCommand::Generate => {
            let alg = require_asymmetric(settings)?;
            let path = &settings.jwt_private_key_file;
            if path.exists() {
                return Err(input(format!(
                    "{} already exists; use `auth-service keys rotate` to replace it",
                    path.display()
                )));
            }
            let key = SigningKey::generate(alg)
                .map_err(|e| CliError::Failed(anyhow::anyhow!("generating a key: {e}")))?;
            let pem = key
                .to_pkcs8_pem()
                .map_err(|e| CliError::Failed(anyhow::anyhow!("encoding the key: {e}")))?;
            keys::write_private_file(path, pem.as_bytes()).map_err(|e| {
                CliError::Failed(anyhow::anyhow!("writing {}: {e}", path.display()))
            })?;
            out.emit(
                &format!("Generated {alg} key {} at {}", key.kid(), path.display()),
                &json!({"kid": key.kid(), "algorithm": alg.to_string(), "path": path}),
            );
        }
        KeysCommand::Rotate { keep_for } => {
            require_asymmetric(settings)?;
            require_key_file(settings)?;
            let minimum = settings.access_token_ttl + VERIFIER_LEEWAY;
            let keep_for = keep_for.unwrap_or(minimum + RESTART_MARGIN);
            if keep_for < minimum {
                return Err(input(format!(
                    "--keep-for must be at least ACCESS_TOKEN_TTL + 60s ({}), or tokens signed by the old key would stop verifying before they expire",
                    humantime::format_duration(minimum)
                )));
            }
            let old = KeyStore::load(settings)?;
            let old_kid = old.signing_key().kid().to_owned();
            let new = KeyStore::rotate(settings, keep_for)?;
            let until =
                Utc::now() + chrono::Duration::from_std(keep_for).unwrap_or(chrono::Duration::MAX);
            out.emit(
                &format!(
                    "New signing key {}. The old key {old_kid} stays published until {} ({}). Restart the service to sign with the new key.",
                    new.signing_key().kid(),
                    until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    humantime::format_duration(keep_for)
                ),
                &json!({
                    "kid": new.signing_key().kid(),
                    "previous_kid": old_kid,
                    "previous_expires_at": until,
                }),
            );
        }
        KeysCommand::List => {
            let alg = require_asymmetric(settings)?;
            require_key_file(settings)?;
            let store = KeyStore::load(settings)?;
            let now = Utc::now();
            let retired = retired_keys(settings)?;
            let mut text = format!("{:<48} {:<6} STATUS", "KID", "ALG");
            text.push_str(&format!(
                "\n{:<48} {:<6} current (signs)",
                store.signing_key().kid(),
                alg
            ));
            let mut rows = vec![json!({
                "kid": store.signing_key().kid(),
                "algorithm": alg.to_string(),
                "status": "current",
                "expires_at": null,
            })];
            for r in &retired {
                let status = if r.expires_at > now {
                    "previous"
                } else {
                    "expired"
                };
                text.push_str(&format!(
                    "\n{:<48} {:<6} {status} (published until {})",
                    r.kid,
                    alg,
                    r.expires_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                ));
                rows.push(json!({
                    "kid": r.kid,
                    "algorithm": alg.to_string(),
                    "status": status,
                    "expires_at": r.expires_at,
                }));
            }
            out.emit(&text, &Value::Array(rows));
        }
        KeysCommand::Jwks => {
            if settings.jwt_algorithm != Algorithm::HS512 {
                require_key_file(settings)?;
            }
            let store = KeyStore::load(settings)?;
            // The JWKS is JSON either way.
            println!("{}", store.jwks());
        }
    }
    Ok(())
}

/// `--keep-for` in the settings' one duration grammar (`90m`, `1h 30m`, `2d`).
fn keep_for(value: &str) -> Result<Duration, String> {
    shared_jwt::config::parse_duration(value)
        .ok_or_else(|| format!("expected {}", shared_jwt::config::DURATION_GRAMMAR))
}
