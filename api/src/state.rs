//! What every handler can reach: the database, the configuration, the metrics.

use std::sync::Arc;

use ips_core::{Config, Db};

use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Self {
        Self {
            db,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::new()),
        }
    }
}
