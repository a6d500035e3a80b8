//! The database a benchmark seeds and measures: a SQLite file in a temporary directory, or, with
//! `BENCH_DATABASE_URL` (or `IPS_BENCH_DATABASE_URL`) naming a PostgreSQL server, a new database
//! beside the one named, dropped when the benchmark is done unless `BENCH_KEEP=1` (to look at
//! its plans afterwards). Every benchmark includes this file, so each makes and drops its
//! database the same way.

use diesel::{Connection, PgConnection, RunQueryDsl};

pub struct Scratch {
    /// What `Db::connect` takes.
    pub url: String,
    /// The server's URL and the database made on it, when on PostgreSQL.
    postgres: Option<(String, String)>,
    /// Holds the SQLite file's directory until the benchmark is done.
    _dir: tempfile::TempDir,
}

impl Scratch {
    /// A fresh, empty database; `label` names it on PostgreSQL (`ips_bench_<label>_<pid>`).
    pub fn create(label: &str) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let server = std::env::var("BENCH_DATABASE_URL")
            .or_else(|_| std::env::var("IPS_BENCH_DATABASE_URL"))
            .ok()
            .filter(|url| url.starts_with("postgres"));
        let Some(server) = server else {
            return Ok(Self {
                url: format!("sqlite://{}", dir.path().join("bench.db").display()),
                postgres: None,
                _dir: dir,
            });
        };
        let name = format!("ips_bench_{label}_{}", std::process::id());
        let mut conn = PgConnection::establish(&server)?;
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)?;
        let base = server
            .rsplit_once('/')
            .map(|(base, _)| base.to_owned())
            .unwrap_or(server.clone());
        Ok(Self {
            url: format!("{base}/{name}"),
            postgres: Some((server, name)),
            _dir: dir,
        })
    }

    /// Drops the PostgreSQL database (or says where it was kept); the SQLite file goes with its
    /// directory. Call it once every connection to the database is closed.
    pub fn finish(self) -> anyhow::Result<()> {
        let Some((server, name)) = self.postgres else {
            return Ok(());
        };
        if std::env::var("BENCH_KEEP").is_ok_and(|v| v == "1") {
            println!("kept the database {name}");
            return Ok(());
        }
        let mut conn = PgConnection::establish(&server)?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)?;
        Ok(())
    }
}
