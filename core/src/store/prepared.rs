//! PostgreSQL statements written as SQL that diesel still keeps prepared.
//!
//! Some writes say in one statement what the query builder can only say in several (a change,
//! its history row and its audit entry, through data-modifying `WITH` clauses), which saves a
//! round trip per statement. `diesel::sql_query` would send such SQL unprepared every time, so
//! PostgreSQL would parse and plan it on every call. A [`Prepared`] statement is named by a type
//! of its own ([`Statement`]), which diesel's statement cache keys on: each connection prepares it
//! once, and later calls find it by the type alone, without building the SQL to look it up by
//! its text (for a new interview's statement that lookup was a tenth of the request's CPU).
//!
//! The SQL uses `?` placeholders, in the order of its values (numbered `$1`, `$2`, ... as it is
//! sent). The SQL must not depend on the values, or each variant is prepared and kept apart.

use std::marker::PhantomData;

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::{PgConnection, QueryResult, QueryableByName, RunQueryDsl};

use super::bulk::Value;
use super::StoreError;

/// A statement's SQL, named by a type of its own. One type, one SQL: the type is what the
/// prepared statement is found by.
pub trait Statement: 'static {
    /// The SQL, with `?` placeholders; the same on every call.
    fn sql() -> &'static str;
}

/// A [`Statement`] and its values; its rows are read by name ([`QueryableByName`]).
pub struct Prepared<'a, S> {
    values: &'a [Value],
    statement: PhantomData<S>,
}

impl<'a, S: Statement> Prepared<'a, S> {
    pub fn new(values: &'a [Value]) -> Self {
        Prepared {
            values,
            statement: PhantomData,
        }
    }

    /// Runs the statement and loads its rows.
    pub fn load<R>(self, conn: &mut PgConnection) -> Result<Vec<R>, StoreError>
    where
        R: QueryableByName<Pg> + 'static,
    {
        Ok(RunQueryDsl::load(self, conn)?)
    }
}

impl<S: Statement> QueryId for Prepared<'_, S> {
    type QueryId = S;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<S: Statement> QueryFragment<Pg> for Prepared<'_, S> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut parts = S::sql().split('?');
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

impl<S: Statement> Query for Prepared<'_, S> {
    type SqlType = Untyped;
}

impl<S> RunQueryDsl<PgConnection> for Prepared<'_, S> {}
