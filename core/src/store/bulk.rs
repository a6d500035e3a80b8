//! Statements over many rows at once (`INSERT ... SELECT FROM (VALUES ...)`, `UPDATE ... FROM
//! (VALUES ...)`) with a number of bind parameters known only at run time, for the worker's
//! per-batch writes. The combined connection cannot express these, so they are written once as
//! SQL with `?` placeholders and run on the concrete connection, numbered for PostgreSQL.
//!
//! A derived table of `VALUES` names its columns `column1`, `column2`, ... on both backends, which
//! is what the statements refer to.

use chrono::NaiveDateTime;
use diesel::query_builder::{BoxedSqlQuery, SqlQuery};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp};
use diesel::{QueryableByName, RunQueryDsl};

use super::StoreError;
use crate::db::DbConnection;

/// Rows per statement: far under SQLite's 32,766 and PostgreSQL's 65,535 bind parameters for the
/// widest row written here, and small enough that one statement never holds locks for long.
pub const ROWS_PER_STATEMENT: usize = 500;

/// One bind parameter.
#[derive(Debug, Clone)]
pub enum Value {
    Int(i64),
    OptInt(Option<i64>),
    /// A nullable `Integer` column.
    OptInt32(Option<i32>),
    Text(Option<String>),
    Time(Option<NaiveDateTime>),
    Bool(bool),
}

/// `(?, ?, ?), (?, ?, ?)`: the placeholders of `rows` rows of `width` values.
pub fn values_rows(rows: usize, width: usize) -> String {
    let row = format!("({})", vec!["?"; width].join(", "));
    vec![row; rows].join(", ")
}

/// `?, ?, ?`: the placeholders of a list of `n` values, for `IN (...)`.
pub fn list(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// PostgreSQL numbers its placeholders: `?` becomes `$1`, `$2`, ...
pub fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

macro_rules! bind_all {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                Value::Int(v) => query.bind::<BigInt, _>(*v),
                Value::OptInt(v) => query.bind::<Nullable<BigInt>, _>(*v),
                Value::OptInt32(v) => query.bind::<Nullable<Integer>, _>(*v),
                Value::Text(v) => query.bind::<Nullable<Text>, _>(v.clone()),
                Value::Time(v) => query.bind::<Nullable<Timestamp>, _>(*v),
                Value::Bool(v) => query.bind::<Bool, _>(*v),
            };
        }
        query
    }};
}

fn boxed<'a, DB: diesel::backend::Backend>(sql: String) -> BoxedSqlQuery<'a, DB, SqlQuery> {
    diesel::sql_query(sql).into_boxed()
}

/// Runs `sql` (with `?` placeholders, in the order of `values`) and loads its rows.
pub fn load<R>(conn: &mut DbConnection, sql: &str, values: &[Value]) -> Result<Vec<R>, StoreError>
where
    R: QueryableByName<diesel::pg::Pg> + QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    Ok(match conn {
        DbConnection::Postgresql(pg) => {
            bind_all!(boxed::<diesel::pg::Pg>(numbered(sql)), values).load(pg)?
        }
        DbConnection::Sqlite(lite) => {
            bind_all!(boxed::<diesel::sqlite::Sqlite>(sql.to_owned()), values).load(lite)?
        }
    })
}

/// Runs `sql` (with `?` placeholders, in the order of `values`); returns the rows it changed.
pub fn execute(conn: &mut DbConnection, sql: &str, values: &[Value]) -> Result<usize, StoreError> {
    Ok(match conn {
        DbConnection::Postgresql(pg) => {
            bind_all!(boxed::<diesel::pg::Pg>(numbered(sql)), values).execute(pg)?
        }
        DbConnection::Sqlite(lite) => {
            bind_all!(boxed::<diesel::sqlite::Sqlite>(sql.to_owned()), values).execute(lite)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(
            numbered("a = ? AND b = ? LIMIT ?"),
            "a = $1 AND b = $2 LIMIT $3"
        );
    }

    #[test]
    fn values_rows_have_one_placeholder_per_value() {
        assert_eq!(values_rows(2, 3), "(?, ?, ?), (?, ?, ?)");
        assert_eq!(values_rows(1, 1), "(?)");
    }
}
