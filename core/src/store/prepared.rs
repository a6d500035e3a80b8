//! PostgreSQL statements written as SQL that diesel still keeps prepared.
//!
//! Some writes say in one statement what the query builder can only say in several (a change,
//! its history row and its audit entry, through data-modifying `WITH` clauses), which saves a
//! round trip per statement. `diesel::sql_query` would send such SQL unprepared every time, so
//! PostgreSQL would parse and plan it on every call; a [`Prepared`] statement is the same text on
//! every call, which diesel's statement cache keys on, so each connection prepares it once.
//!
//! The SQL uses `?` placeholders, in the order of its values (numbered `$1`, `$2`, ... as it is
//! sent). The SQL must not depend on the values, or each variant is prepared and kept apart.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::{PgConnection, QueryResult, QueryableByName, RunQueryDsl};

use super::bulk::Value;
use super::StoreError;

/// A constant statement and its values; its rows are read by name ([`QueryableByName`]).
pub struct Prepared<'a> {
    sql: &'a str,
    values: &'a [Value],
}

impl<'a> Prepared<'a> {
    pub fn new(sql: &'a str, values: &'a [Value]) -> Self {
        Prepared { sql, values }
    }

    /// Runs the statement and loads its rows.
    pub fn load<R>(self, conn: &mut PgConnection) -> Result<Vec<R>, StoreError>
    where
        R: QueryableByName<Pg> + 'static,
    {
        Ok(RunQueryDsl::load(self, conn)?)
    }
}

impl QueryId for Prepared<'_> {
    type QueryId = ();
    // Keyed by its text instead (the SQL is constant), which is what keeps it prepared.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl QueryFragment<Pg> for Prepared<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut parts = self.sql.split('?');
        if let Some(first) = parts.next() {
            out.push_sql(first);
        }
        let mut values = self.values.iter();
        for part in parts {
            match values.next() {
                Some(Value::Int(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Some(Value::OptInt(v)) => out.push_bind_param::<Nullable<BigInt>, _>(v)?,
                Some(Value::OptInt32(v)) => out.push_bind_param::<Nullable<Integer>, _>(v)?,
                Some(Value::Text(v)) => out.push_bind_param::<Nullable<Text>, _>(v)?,
                Some(Value::Time(v)) => out.push_bind_param::<Nullable<Timestamp>, _>(v)?,
                Some(Value::Bool(v)) => out.push_bind_param::<Bool, _>(v)?,
                None => {
                    return Err(diesel::result::Error::QueryBuilderError(
                        "a prepared statement has more placeholders than values".into(),
                    ))
                }
            }
            out.push_sql(part);
        }
        if values.next().is_some() {
            return Err(diesel::result::Error::QueryBuilderError(
                "a prepared statement has more values than placeholders".into(),
            ));
        }
        Ok(())
    }
}

impl Query for Prepared<'_> {
    type SqlType = Untyped;
}

impl RunQueryDsl<PgConnection> for Prepared<'_> {}
