//! The database: one connection type over PostgreSQL and SQLite, a pool, and the migrations.
//!
//! The backend is chosen from the URL scheme here, not by diesel's `MultiConnection::establish`,
//! which tries each backend in turn and, because SQLite accepts any string as a file name, would
//! hide the real error of a mistyped PostgreSQL URL.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::r2d2::{self, ManageConnection, R2D2Connection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::store::StoreError;

/// A connection to either backend; queries written once against it run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs the same diesel expression on the concrete connection of either backend, for what the
/// combined connection cannot express (multi-row inserts, `ON CONFLICT`, `FOR UPDATE SKIP LOCKED`).
#[macro_export]
macro_rules! per_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Postgresql($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// Any constant will do; it only has to be the same in every process that migrates.
const MIGRATION_LOCK_KEY: i64 = 0x0001_b5c0_4da9;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Where to connect, parsed from `DATABASE_URL`.
#[derive(Clone)]
pub struct Target {
    pub backend: Backend,
    /// The PostgreSQL URL as given, or the SQLite file path (`:memory:` allowed).
    location: String,
}

impl std::fmt::Debug for Target {
    // The PostgreSQL URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.backend {
            Backend::Postgres => write!(f, "postgres (URL hidden)"),
            Backend::Sqlite => write!(f, "sqlite file {}", self.location),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL must start with postgres://, postgresql:// or sqlite:// (got a URL starting with {0:?})")]
    UnknownScheme(String),
    #[error("DATABASE_URL names no SQLite file")]
    EmptySqlitePath,
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("cannot migrate the database: {0}")]
    Migrate(String),
}

impl Target {
    pub fn parse(url: &str) -> Result<Self, ConnectError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self {
                backend: Backend::Postgres,
                location: with_network_defaults(url),
            });
        }
        if let Some(rest) = url.strip_prefix("sqlite:") {
            // sqlite://relative.db, sqlite:///absolute.db, sqlite::memory:
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(ConnectError::EmptySqlitePath);
            }
            return Ok(Self {
                backend: Backend::Sqlite,
                location: path.to_owned(),
            });
        }
        let scheme: String = url.chars().take_while(|c| *c != ':').take(20).collect();
        Err(ConnectError::UnknownScheme(scheme))
    }

    fn establish(&self) -> Result<DbConnection, diesel::ConnectionError> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.location)?;
                // Every timestamp column holds UTC; make the session agree so `now()` does too.
                conn.batch_execute("SET TIME ZONE 'UTC'")
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Postgresql(conn))
            }
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.location)?;
                conn.batch_execute(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// libpq's settings for a network that fails silently, each applied unless the URL sets it.
///
/// Without them a connection whose packets are dropped with no FIN or RST (a firewall or NAT
/// that forgot the flow, a cable pulled between switches, a host that froze) hangs as long as the
/// kernel retransmits, about 15 minutes, and a connection attempt as long as the server's
/// address swallows the SYNs; meanwhile a request holds its pooled connection and gets no
/// answer. With them a lost connection fails within about 11 seconds, its statement errs, the
/// request is answered 503 and the pool drops the connection:
/// - `connect_timeout`: the longest a new connection may take, startup and authentication
///   included (seconds; libpq's own clock, so it holds even while a proxy accepts the TCP
///   handshake and then stays silent);
/// - `tcp_user_timeout`: sent bytes unacknowledged this long end the connection (milliseconds);
///   it also bounds keepalive probes that go unanswered;
/// - `keepalives*`: a connection waiting for an answer sends probes after 5 silent seconds, every
///   2 seconds, so a lost peer is found even when nothing is being sent (a statement in progress
///   or an idle pooled connection); a busy server's kernel answers them, so a long statement is
///   never cut by them.
const NETWORK_DEFAULTS: [(&str, &str); 6] = [
    ("connect_timeout", "5"),
    ("tcp_user_timeout", "10000"),
    ("keepalives", "1"),
    ("keepalives_idle", "5"),
    ("keepalives_interval", "2"),
    ("keepalives_count", "3"),
];

/// The PostgreSQL URL with each of [`NETWORK_DEFAULTS`] it does not set added to its query.
fn with_network_defaults(url: &str) -> String {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let given: Vec<&str> = query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(key, _)| key))
        .collect();
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(str::to_owned)
        .collect();
    for (key, value) in NETWORK_DEFAULTS {
        if !given.contains(&key) {
            pairs.push(format!("{key}={value}"));
        }
    }
    format!("{base}?{}", pairs.join("&"))
}

/// The r2d2 manager: connects to the backend the URL names and reports its real error.
pub struct Manager {
    target: Target,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConnection, Self::Error> {
        self.target
            .establish()
            .map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConnection = r2d2::PooledConnection<Manager>;

/// The shared handle on the database: a pool, and which backend it is.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    backend: Backend,
    /// SQLite takes one writer at a time and makes the others poll with growing sleeps
    /// (`busy_timeout`: 1, 2, 5 ... 100 ms), which under load turns a short queue into long
    /// tails. This process's write transactions queue on this lock instead and start the moment
    /// the previous one ends. Unused on PostgreSQL, whose writers take row locks.
    sqlite_writer: Arc<Mutex<()>>,
    /// In-process turns for [`Db::write_in_turn`], by the hash of a key.
    turns: Arc<[Arc<Mutex<()>>]>,
}

/// How many in-process turns keys are spread over (a collision only serialises two keys).
const TURN_STRIPES: usize = 64;

/// How long a request waits for a pooled connection before it is told the database is unavailable.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(3);

/// A pooled connection unused for this long is closed (the pool looks every 30 seconds).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

impl Db {
    /// Connects (one connection at once, so a bad URL or a database that is down fails here, clearly).
    pub fn connect(url: &str, pool_size: u32) -> Result<Self, ConnectError> {
        let target = Target::parse(url)?;
        let backend = target.backend;
        // `:memory:` gives every connection its own empty database; a pool of one keeps them the same.
        let pool_size = if target.location.contains(":memory:") {
            1
        } else {
            pool_size.max(1)
        };
        // Connect once by hand first: r2d2's build would retry for its whole timeout and then
        // report only "timed out", hiding why.
        let first = target
            .establish()
            .map_err(|e| ConnectError::Connect(one_line(&e.to_string())))?;
        drop(first);
        // No `SELECT 1` on every checkout: that was one more round trip per request (two, with
        // authentication's own checkout). A connection the server closed fails its next statement
        // with `Unavailable` (503, `Retry-After`), which also marks it broken, so the pool drops
        // it; connections left idle are closed after `IDLE_TIMEOUT`, so a restart during a quiet
        // spell is not met by a pool of dead connections. Readiness still pings.
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(CHECKOUT_TIMEOUT)
            .test_on_check_out(false)
            .idle_timeout(Some(IDLE_TIMEOUT))
            .build_unchecked(Manager { target });
        Ok(Self {
            pool,
            backend,
            sqlite_writer: Arc::new(Mutex::new(())),
            turns: (0..TURN_STRIPES)
                .map(|_| Arc::new(Mutex::new(())))
                .collect(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn get(&self) -> Result<PooledConnection, StoreError> {
        self.pool
            .get()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// Applies pending migrations. On PostgreSQL this holds an advisory lock, so several
    /// processes starting at once migrate one at a time.
    pub fn migrate(&self) -> Result<Vec<String>, ConnectError> {
        let mut conn = self
            .get()
            .map_err(|e| ConnectError::Connect(e.to_string()))?;
        let applied = match &mut *conn {
            DbConnection::Postgresql(pg) => {
                pg.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))
                    .map_err(|e| ConnectError::Migrate(e.to_string()))?;
                let result = pg
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>())
                    .map_err(|e| ConnectError::Migrate(e.to_string()));
                let unlock =
                    pg.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"));
                let applied = result?;
                unlock.map_err(|e| ConnectError::Migrate(e.to_string()))?;
                applied
            }
            DbConnection::Sqlite(lite) => lite
                .run_pending_migrations(SQLITE_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect())
                .map_err(|e| ConnectError::Migrate(e.to_string()))?,
        };
        Ok(applied)
    }

    /// Runs `f` on a pooled connection on tokio's blocking pool (diesel is synchronous and must
    /// stay off the async executors), carrying the caller's tracing span.
    pub async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        self.on_blocking_pool(Vec::new(), f).await
    }

    /// Runs `f` on the blocking pool with a pooled connection, after taking `queues` in order.
    async fn on_blocking_pool<T, F>(
        &self,
        queues: Vec<Arc<Mutex<()>>>,
        f: F,
    ) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            // The queues come before the connection, so a waiting writer never holds one idle.
            let _turns: Vec<_> = queues
                .iter()
                .map(|q| q.lock().unwrap_or_else(PoisonError::into_inner))
                .collect();
            let mut conn = db.get()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| StoreError::Internal(anyhow::anyhow!("database task failed: {e}")))?
    }

    /// Like [`Db::run`], inside one write transaction.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let queue = (self.backend == Backend::Sqlite).then(|| self.sqlite_writer.clone());
        self.on_blocking_pool(queue.into_iter().collect(), move |conn| {
            write_transaction(conn, f)
        })
        .await
    }

    /// Like [`Db::write`], for work whose every change is one statement that is all or none by
    /// itself, such as a PostgreSQL statement that writes a change with its history and audit rows
    /// through data-modifying `WITH` clauses, and whose reads before it need no snapshot shared
    /// with the write. PostgreSQL then runs it without `BEGIN` and `COMMIT`, two round trips
    /// fewer; a statement is its own transaction. SQLite, where such work takes several
    /// statements, runs it in a write transaction as [`Db::write`] does.
    pub async fn write_atomic<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        match self.backend {
            Backend::Postgres => self.run(f).await,
            Backend::Sqlite => self.write(f).await,
        }
    }

    /// Like [`Db::write`], for transactions that serialise on `keys` in the database (such as an
    /// advisory lock per key): this process's transactions on the same keys queue here first,
    /// in memory, so a burst of them waits without holding the pool's connections idle (which
    /// would starve every other request). SQLite's writers already queue on one lock.
    pub async fn write_in_turn<T, F>(&self, keys: &[&str], f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        if self.backend == Backend::Sqlite {
            return self.write(f).await;
        }
        // Taken in stripe order, so two transactions never wait on each other crosswise.
        let mut stripes: Vec<usize> = keys.iter().map(|k| stripe_of(k)).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let queues = stripes.iter().map(|&i| self.turns[i].clone()).collect();
        self.on_blocking_pool(queues, move |conn| write_transaction(conn, f))
            .await
    }

    /// `SELECT 1` on a fresh checkout: what readiness means.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.run(|conn| conn.ping().map_err(StoreError::from)).await
    }
}

/// A write transaction. On SQLite it begins `IMMEDIATE`, taking the write lock at once: a
/// deferred transaction that reads and then writes can fail with "database is locked" instead
/// of waiting its turn under `busy_timeout`.
pub fn write_transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
{
    in_transaction(conn, "BEGIN IMMEDIATE", "BEGIN", f)
}

/// A read-only transaction that sees one snapshot of the database from its first read to its
/// end, so what it reads in several queries is consistent: `REPEATABLE READ` on PostgreSQL, and
/// a deferred transaction on SQLite (in WAL mode a reader keeps the snapshot of its first read
/// and never blocks writers).
pub fn read_transaction<T, F>(conn: &mut DbConnection, f: F) -> Result<T, StoreError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
{
    in_transaction(
        conn,
        "BEGIN DEFERRED",
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        f,
    )
}

fn in_transaction<T, F>(
    conn: &mut DbConnection,
    sqlite_begin: &str,
    postgres_begin: &str,
    f: F,
) -> Result<T, StoreError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, StoreError>,
{
    match conn {
        DbConnection::Sqlite(lite) => {
            AnsiTransactionManager::begin_transaction_sql(lite, sqlite_begin)?
        }
        DbConnection::Postgresql(pg) => {
            AnsiTransactionManager::begin_transaction_sql(pg, postgres_begin)?
        }
    }
    match f(conn) {
        Ok(value) => {
            <DbConnection as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            // The original error matters more than a failed rollback (which breaks the connection,
            // so the pool discards it).
            if let Err(rollback) =
                <DbConnection as Connection>::TransactionManager::rollback_transaction(conn)
            {
                tracing::warn!(error = %rollback, "rollback failed");
            }
            Err(err)
        }
    }
}

/// The stripe of a key: FNV-1a, enough to spread keys that are hashes already.
fn stripe_of(key: &str) -> usize {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(hash % TURN_STRIPES as u64).unwrap_or(0)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_pick_their_backend() {
        assert_eq!(
            Target::parse("postgres://u@h/db").map(|t| t.backend).ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Target::parse("postgresql://h/db").map(|t| t.backend).ok(),
            Some(Backend::Postgres)
        );
        let lite = Target::parse("sqlite://ips.db").ok();
        assert_eq!(lite.as_ref().map(|t| t.location.as_str()), Some("ips.db"));
        let abs = Target::parse("sqlite:///var/lib/ips.db").ok();
        assert_eq!(
            abs.as_ref().map(|t| t.location.as_str()),
            Some("/var/lib/ips.db")
        );
        assert!(
            matches!(Target::parse("mysql://x"), Err(ConnectError::UnknownScheme(s)) if s == "mysql")
        );
        assert!(matches!(
            Target::parse("sqlite://"),
            Err(ConnectError::EmptySqlitePath)
        ));
        assert!(matches!(
            Target::parse("ips.db"),
            Err(ConnectError::UnknownScheme(_))
        ));
    }

    #[test]
    fn postgres_urls_get_the_network_defaults_they_do_not_set() {
        let location = |url: &str| Target::parse(url).map(|t| t.location).ok();
        assert_eq!(
            location("postgres://u@h/db").as_deref(),
            Some(
                "postgres://u@h/db?connect_timeout=5&tcp_user_timeout=10000&keepalives=1\
                 &keepalives_idle=5&keepalives_interval=2&keepalives_count=3"
            )
        );
        // The URL's own values win, and its other parameters are kept in their order.
        assert_eq!(
            location("postgresql://h/db?sslmode=require&connect_timeout=30&keepalives=0&tcp_user_timeout=0")
                .as_deref(),
            Some(
                "postgresql://h/db?sslmode=require&connect_timeout=30&keepalives=0\
                 &tcp_user_timeout=0&keepalives_idle=5&keepalives_interval=2&keepalives_count=3"
            )
        );
        assert_eq!(
            location("postgres://h/db?").as_deref(),
            location("postgres://h/db").as_deref()
        );
        // SQLite paths are left as they are.
        assert_eq!(location("sqlite://ips.db").as_deref(), Some("ips.db"));
    }

    #[test]
    fn debug_hides_the_postgres_url() {
        let t = Target::parse("postgres://u:secret@h/db").ok();
        assert!(!format!("{t:?}").contains("secret"));
    }
}
