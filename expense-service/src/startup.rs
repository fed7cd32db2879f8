//! Building and running the server: keys, database, migrations, listener, graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use secrecy::ExposeSecret;
use shared_jwt::AuthContext;
use tokio::net::TcpListener;

use crate::app::{AppState, router};
use crate::config::Settings;
use crate::db::{self, Db};
use crate::service::ListCache;

/// A built, bound, not yet running server.
pub struct Application {
    port: u16,
    listener: TcpListener,
    state: AppState,
    request_timeout: Duration,
    metrics_bind: Option<std::net::SocketAddr>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Runs the migrations as the owner (`MIGRATION_DATABASE_URL`) and grants the app role.
///
/// # Errors
/// One line: the database cannot be reached or a migration failed.
pub async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let owner = db::connect(settings.migration_database_url.expose_secret(), 2)
        .await
        .context("cannot connect to the database to migrate (MIGRATION_DATABASE_URL)")?;
    db::migrate(&owner, settings.app_db_role.as_deref())
        .await
        .context(
            "migration failed (migrations need the tables' owner: set MIGRATION_DATABASE_URL, \
             or RUN_MIGRATIONS=false and run `expense-service migrate` as the owner)",
        )?;
    owner
        .close()
        .await
        .context("closing the migration connection")?;
    Ok(())
}

impl Application {
    /// Loads the verifying keys (fetching the JWKS if configured), migrates unless told not to,
    /// connects and binds `BIND` (port 0 picks a free one).
    ///
    /// # Errors
    /// One line saying what failed: keys, database, migrations, or the listen address.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // The recorder first: the start-up JWKS fetch is counted too.
        service_kit::metrics::handle();
        // Keys first: without them no request could ever be served.
        let auth = AuthContext::from_settings(settings.auth.clone())
            .await
            .map_err(|e| anyhow::anyhow!("cannot load JWT verifying keys: {e}"))?;
        if settings.run_migrations {
            migrate(&settings).await?;
        }
        let conn = db::connect(
            settings.database_url.expose_secret(),
            settings.db_max_connections,
        )
        .await
        .context("cannot connect to the database (DATABASE_URL)")?;
        warn_if_rls_bypassed(&conn).await;
        let listener = TcpListener::bind(settings.bind)
            .await
            .with_context(|| format!("cannot listen on {} (BIND)", settings.bind))?;
        let port = listener
            .local_addr()
            .context("reading the bound address")?
            .port();
        Ok(Application {
            port,
            listener,
            state: AppState {
                db: Db::new(conn),
                lists: Arc::new(ListCache::new(settings.list_cache_entries)),
                auth: Arc::new(auth),
            },
            request_timeout: settings.request_timeout,
            metrics_bind: settings.metrics_bind,
        })
    }

    /// The bound port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGINT or SIGTERM, then finishes in-flight requests and closes the pool.
    ///
    /// # Errors
    /// I/O errors of the server.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(service_kit::shutdown::signal()).await
    }

    /// Serves until `signal` completes (tests and embedders), then shuts down gracefully.
    ///
    /// # Errors
    /// I/O errors of the server.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let db = self.state.db.clone();
        if let Some(bind) = self.metrics_bind {
            service_kit::metrics::serve_separately(bind, db.pool().clone())
                .await
                .with_context(|| format!("cannot listen on {bind} (METRICS_BIND)"))?;
        }
        let app = router(
            self.state,
            self.request_timeout,
            self.metrics_bind.is_none(),
        );
        tracing::info!(port = self.port, "expense-service listening");
        service_kit::shutdown::serve(self.listener, app, signal).await?;
        if let Err(e) = db.close().await {
            tracing::warn!(error = %e, "closing the database pool");
        }
        Ok(())
    }
}

/// On PostgreSQL, warns when the app's role would bypass row-level security (superuser or
/// `BYPASSRLS`): the second isolation layer would silently be off.
async fn warn_if_rls_bypassed(conn: &sea_orm::DatabaseConnection) {
    if conn.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let stmt = Statement::from_string(
        DbBackend::Postgres,
        "SELECT (rolsuper OR rolbypassrls) AS bypass FROM pg_roles WHERE rolname = current_user",
    );
    if let Ok(Some(row)) = conn.query_one_raw(stmt).await
        && row.try_get::<bool>("", "bypass").unwrap_or(false)
    {
        tracing::warn!(
            "DATABASE_URL connects as a superuser or BYPASSRLS role: PostgreSQL row-level security \
             does not apply; connect as a dedicated non-owner role (see README)"
        );
    }
}
