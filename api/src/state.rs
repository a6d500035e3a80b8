//! What every handler can reach: the database, the configuration, the metrics.

use std::sync::Arc;

use ips_core::{Config, Db};

use crate::auth_cache::AuthCache;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
    /// Who recent access tokens belong to (see `auth_cache`); shared by every HTTP worker.
    pub auth_cache: Arc<AuthCache>,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Self {
        Self {
            db,
            auth_cache: Arc::new(AuthCache::new(config.auth_cache_seconds)),
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
        }
    }
}
