//! Both backends' migrations produce the same tables and columns.

use std::collections::BTreeSet;

use diesel::sql_types::Text;
use diesel::{QueryableByName, RunQueryDsl};
use ips_core::{Db, DbConnection};

use crate::helpers::{backend, TestBackend, TestDatabase};

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
}

fn columns(db: &Db) -> BTreeSet<(String, String)> {
    let mut conn = db.get().expect("connection");
    let rows: Vec<Column> = match &mut *conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        )
        .load(pg)
        .expect("pg columns"),
        DbConnection::Sqlite(lite) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
        )
        .load(lite)
        .expect("sqlite columns"),
    };
    rows.into_iter()
        .map(|c| (c.table_name, c.column_name))
        .collect()
}

#[test]
fn both_backends_have_the_same_tables_and_columns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lite = Db::connect(
        &format!("sqlite://{}", dir.path().join("m.db").display()),
        1,
    )
    .expect("sqlite");
    lite.migrate().expect("sqlite migrations");
    let lite_columns = columns(&lite);
    assert!(lite_columns.contains(&("participants".into(), "specialist_id".into())));

    if backend() != TestBackend::Postgres {
        eprintln!("PostgreSQL side of the comparison runs with IPS_TEST_DATABASE=postgres");
        return;
    }
    let database = TestDatabase::new();
    let pg = Db::connect(&database.url, 1).expect("postgres");
    pg.migrate().expect("postgres migrations");
    let pg_columns = columns(&pg);
    let only_pg: Vec<_> = pg_columns.difference(&lite_columns).collect();
    let only_lite: Vec<_> = lite_columns.difference(&pg_columns).collect();
    assert!(
        only_pg.is_empty() && only_lite.is_empty(),
        "only in PostgreSQL: {only_pg:?}; only in SQLite: {only_lite:?}"
    );
}

#[test]
fn migrating_twice_is_a_no_op() {
    let database = TestDatabase::new();
    let db = Db::connect(&database.url, 1).expect("connect");
    assert!(!db.migrate().expect("first").is_empty());
    assert!(db.migrate().expect("second").is_empty());
}
