//! Building and running the application: database (created and migrated), keys,
//! secrets, state, listener. `BIND` port 0 picks a free port (tests).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use auth_migration::{Migrator, MigratorTrait as _};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretSlice};
use shared_jwt::{CookieSettings, Signer, Verifier, VerifierConfig};
use tokio::net::TcpListener;

use crate::accounts::sessions::Sessions;
use crate::accounts::throttle::Throttle;
use crate::config::Settings;
use crate::keys::KeyStore;
use crate::mail::Mailer;
use crate::password::Hasher;
use crate::request::rate_limit::RateLimits;
use crate::state::AppState;
use crate::web::csrf::CsrfGuard;
use crate::web::redirect::RedirectPolicy;

/// A built, bound, not yet running application.
pub struct Application {
    listener: TcpListener,
    address: SocketAddr,
    state: AppState,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// Connects to `DATABASE_URL` (service-kit's pool: the SQLite file's directory created
/// first, WAL, busy timeout, foreign keys).
///
/// # Errors
/// The directory cannot be created or the database cannot be reached.
pub async fn connect_database(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    service_kit::db::connect(
        settings.database_url.expose_secret(),
        settings.db_max_connections,
    )
    .await
    .context("DATABASE_URL: cannot connect to the database")
}

/// Applies pending migrations (`auth-service migrate`, and every start).
///
/// # Errors
/// The database cannot be reached or a migration fails.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = connect_database(settings).await?;
    Migrator::up(&db, None)
        .await
        .context("running migrations")?;
    Ok(())
}

/// `SESSION_SECRET`, else a secret derived from the signing key's material (the same
/// on every instance sharing the key; it changes when the key is rotated, which only
/// makes open forms ask to be sent again).
#[must_use]
pub fn session_secret(settings: &Settings, keys: &KeyStore) -> SecretSlice<u8> {
    match &settings.session_secret {
        Some(s) => SecretSlice::from(s.expose_secret().as_bytes().to_vec()),
        None => SecretSlice::from(keys.derive_secret("session").to_vec()),
    }
}

impl Application {
    /// Connects and migrates the database, loads or generates the keys, builds the
    /// state and binds `BIND`.
    ///
    /// # Errors
    /// Any of those steps failing, with context naming what.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        service_kit::metrics::handle();
        let db = connect_database(&settings).await?;
        Migrator::up(&db, None)
            .await
            .context("running migrations")?;
        let keys = KeyStore::load(&settings)?;
        let secret = session_secret(&settings, &keys);
        let algorithm = settings.jwt_algorithm;
        let signer = Signer::new(
            keys.signing_key().clone(),
            settings.jwt_issuer.clone(),
            settings.jwt_audience.clone(),
            settings.access_token_ttl,
        );
        let mut verifier_config = VerifierConfig::new(
            algorithm,
            settings.jwt_issuer.clone(),
            settings.jwt_audience.clone(),
        );
        verifier_config.leeway = Duration::from_secs(5);
        let verifier = Verifier::new(verifier_config, keys.key_set())
            .map_err(|e| anyhow::anyhow!("verifier: {e}"))?;
        let cookies = CookieSettings {
            secure: settings.cookie_secure,
            domain: settings.cookie_domain.clone(),
            access_ttl: settings.access_token_ttl,
            refresh_ttl: settings.refresh_token_ttl,
        };
        let hasher =
            Hasher::new(settings.max_concurrent_hashes, settings.hash_queue_timeout).await?;
        let sessions = Sessions::new(
            settings.refresh_token_ttl,
            settings.refresh_reuse_grace,
            secret.expose_secret(),
        );
        let csrf = CsrfGuard::new(
            secret.expose_secret(),
            settings.cookie_secure,
            settings.public_origin(),
        );
        let redirects = RedirectPolicy::from_settings(&settings);
        let throttle = Throttle::new(settings.throttle.clone());
        let rate_limits = RateLimits::new(&settings.rate_limits);
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("BIND {}", settings.bind))?;
        let address = listener.local_addr()?;
        let state = AppState {
            db,
            settings: Arc::new(settings),
            signer,
            keys: Arc::new(keys),
            verifier,
            cookies,
            hasher,
            sessions,
            csrf,
            redirects,
            throttle,
            rate_limits,
            mailer: Mailer::new(),
        };
        Ok(Self {
            listener,
            address,
            state,
        })
    }

    /// The bound port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// The bound address.
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The state (database, signer, …), e.g. for tests to seed data.
    #[must_use]
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes in-flight requests.
    ///
    /// # Errors
    /// The server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // The mail worker lives as long as the server: it delivers what requests queued.
        let pruner = tokio::spawn(crate::accounts::prune::run_hourly(
            self.state.db.clone(),
            self.state.settings.clone(),
        ));
        let worker = tokio::spawn(crate::mail::worker::run(
            self.state.db.clone(),
            self.state.settings.mail.clone(),
            self.state.mailer.notifier(),
        ));
        if let crate::mail::Transport::Outbox(dir) = &self.state.settings.mail.transport {
            tracing::info!(outbox = %dir.display(), "no SMTP_URL: mail goes to the development outbox");
        }
        if let Some(bind) = self.state.settings.metrics_bind {
            service_kit::metrics::serve_separately(bind, self.state.db.clone()).await?;
        }
        let router = crate::app::build_router(self.state);
        tracing::info!(address = %self.address, "auth-service listening");
        let served =
            service_kit::shutdown::serve(self.listener, router, service_kit::shutdown::signal())
                .await;
        worker.abort();
        pruner.abort();
        served
    }
}
