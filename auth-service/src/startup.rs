//! Building and running the application: database (created and migrated), keys,
//! secrets, state, listener. `BIND` port 0 picks a free port (tests).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use auth_migration::{Migrator, MigratorTrait as _};
use sea_orm::DatabaseConnection;
use secrecy::{ExposeSecret, SecretSlice};
use shared_jwt::CookieSettings;
use tokio::net::TcpListener;

use crate::accounts::passkeys::RelyingParty;
use crate::accounts::sessions::Sessions;
use crate::accounts::throttle::Throttle;
use crate::config::Settings;
use crate::infra::writes::Writes;
use crate::keys::{CurrentSigner, KeyRing};
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

/// Applies pending migrations (`auth-service migrate`, and every start), then imports the
/// key at `JWT_PRIVATE_KEY_FILE` into the database when that file exists.
///
/// # Errors
/// The database cannot be reached, a migration fails, or the key file cannot be imported.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let db = connect_database(settings).await?;
    Migrator::up(&db, None)
        .await
        .context("running migrations")?;
    if settings.jwt_algorithm != shared_jwt::Algorithm::HS512 {
        let kek = crate::keys::kek::Kek::from_settings(settings)?;
        crate::keys::store::import_file(&db, &kek, settings).await?;
    }
    Ok(())
}

/// `SESSION_SECRET`, else a secret derived from the key-encryption key (or, for HS512,
/// from `JWT_SECRET`): the same on every instance and unchanged by key rotations.
#[must_use]
pub fn session_secret(settings: &Settings, keys: &KeyRing) -> SecretSlice<u8> {
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
        let keys = KeyRing::open(&db, &settings).await?;
        let secret = session_secret(&settings, &keys);
        let verifier = keys.verifier().clone();
        let cookies = CookieSettings {
            secure: settings.cookie_secure,
            domain: settings.cookie_domain.clone(),
            access_ttl: settings.access_token_ttl,
            refresh_ttl: settings.refresh_token_ttl,
        };
        let hasher = Hasher::with_nice(
            settings.max_concurrent_hashes,
            settings.hash_queue_timeout,
            settings.hash_thread_nice,
        )
        .await?;
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
        let passkeys = RelyingParty::new(
            &settings.public_url,
            settings.cookie_domain.as_deref(),
            "Sign-in",
        );
        let state = AppState {
            passkeys,
            writes: Writes::for_database(&db),
            db,
            settings: Arc::new(settings),
            signer: CurrentSigner(keys.clone()),
            keys,
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
        // Signing keys: reread every KEY_RELOAD_INTERVAL, rotated every KEY_ROTATION_INTERVAL.
        let key_task = tokio::spawn(self.state.keys.clone().run());
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
        key_task.abort();
        pruner.abort();
        served
    }
}
