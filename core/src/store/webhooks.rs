//! Webhook endpoints, and the events written for them.
//!
//! [`emit`] is called by the store function that makes a change, inside its transaction (the
//! outbox rule): the event and one delivery per active endpoint subscribed to its type are
//! committed with the change or not at all. With no endpoint subscribed nothing is written.
//! The worker's side of the deliveries is `store::webhook_deliveries`.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::bulk::Value;
use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::domain::webhooks::{self, Event, EventType};
use crate::schema::{webhook_deliveries, webhook_endpoints, webhook_events, webhook_subscriptions};

/// How an endpoint stands: only `active` ones get events; a `paused` one (by an administrator)
/// and a `disabled` one (the receiver answered 410 Gone) keep their deliveries until resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointStatus {
    Active,
    Paused,
    Disabled,
}

impl EndpointStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointStatus::Active => "active",
            EndpointStatus::Paused => "paused",
            EndpointStatus::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct Endpoint {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub status: String,
    pub disabled_reason: Option<String>,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<NaiveDateTime>,
    pub created_by: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl Endpoint {
    /// The secrets a request is signed with at `now`: the current one, and the previous one
    /// while its overlap after a rotation lasts.
    pub fn signing_secrets(&self, now: NaiveDateTime) -> Vec<&str> {
        let mut secrets = vec![self.secret.as_str()];
        if let (Some(previous), Some(until)) =
            (&self.previous_secret, self.previous_secret_expires_at)
        {
            if until > now {
                secrets.push(previous);
            }
        }
        secrets
    }
}

/// An endpoint with the event types it subscribes to (sorted).
#[derive(Debug, Clone)]
pub struct EndpointWithTypes {
    pub endpoint: Endpoint,
    pub event_types: Vec<EventType>,
}

#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: String,
    pub description: String,
    pub status: EndpointStatus,
    pub event_types: Vec<EventType>,
    pub created_by: i64,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct EndpointChanges {
    pub url: Option<String>,
    pub description: Option<String>,
    pub status: Option<EndpointStatus>,
    pub event_types: Option<Vec<EventType>>,
}

fn types_of(conn: &mut DbConnection, endpoint_id: i64) -> Result<Vec<EventType>, StoreError> {
    let names: Vec<String> = webhook_subscriptions::table
        .filter(webhook_subscriptions::endpoint_id.eq(endpoint_id))
        .select(webhook_subscriptions::event_type)
        .load(conn)?;
    let mut types: Vec<EventType> = names.iter().filter_map(|n| EventType::parse(n)).collect();
    types.sort();
    Ok(types)
}

fn subscribe(
    conn: &mut DbConnection,
    endpoint_id: i64,
    types: &[EventType],
) -> Result<(), StoreError> {
    diesel::delete(
        webhook_subscriptions::table.filter(webhook_subscriptions::endpoint_id.eq(endpoint_id)),
    )
    .execute(conn)?;
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    for t in types {
        diesel::insert_into(webhook_subscriptions::table)
            .values((
                webhook_subscriptions::endpoint_id.eq(endpoint_id),
                webhook_subscriptions::event_type.eq(t.as_str()),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Registers an endpoint with a new signing secret (in the returned endpoint, the only time the
/// API shows it besides a rotation).
pub fn create(
    conn: &mut DbConnection,
    new: &NewEndpoint,
    now: NaiveDateTime,
) -> Result<EndpointWithTypes, StoreError> {
    let id: i64 = diesel::insert_into(webhook_endpoints::table)
        .values((
            webhook_endpoints::url.eq(&new.url),
            webhook_endpoints::description.eq(&new.description),
            webhook_endpoints::status.eq(new.status.as_str()),
            webhook_endpoints::secret.eq(webhooks::new_secret()),
            webhook_endpoints::created_by.eq(new.created_by),
            webhook_endpoints::created_at.eq(now),
            webhook_endpoints::updated_at.eq(now),
        ))
        .returning(webhook_endpoints::id)
        .get_result(conn)?;
    subscribe(conn, id, &new.event_types)?;
    get(conn, id)
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<EndpointWithTypes, StoreError> {
    let endpoint = webhook_endpoints::table
        .find(id)
        .select(Endpoint::as_select())
        .first(conn)?;
    Ok(EndpointWithTypes {
        event_types: types_of(conn, id)?,
        endpoint,
    })
}

/// Every endpoint, by id.
pub fn list(
    conn: &mut DbConnection,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<EndpointWithTypes>, StoreError> {
    let mut query = webhook_endpoints::table
        .select(Endpoint::as_select())
        .order(webhook_endpoints::id)
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(webhook_endpoints::id.gt(after));
    }
    let endpoints: Vec<Endpoint> = query.load(conn)?;
    let mut rows = Vec::with_capacity(endpoints.len());
    for endpoint in endpoints {
        rows.push(EndpointWithTypes {
            event_types: types_of(conn, endpoint.id)?,
            endpoint,
        });
    }
    Ok(Page::from_rows(rows, limit, |e| e.endpoint.id))
}

/// Applies `changes`. Setting `active` also resumes an endpoint disabled by a 410.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    changes: &EndpointChanges,
    now: NaiveDateTime,
) -> Result<EndpointWithTypes, StoreError> {
    let current = get(conn, id)?;
    let target = webhook_endpoints::table.find(id);
    if let Some(url) = &changes.url {
        diesel::update(target)
            .set(webhook_endpoints::url.eq(url))
            .execute(conn)?;
    }
    if let Some(description) = &changes.description {
        diesel::update(target)
            .set(webhook_endpoints::description.eq(description))
            .execute(conn)?;
    }
    if let Some(status) = changes.status {
        if status.as_str() != current.endpoint.status {
            diesel::update(target)
                .set((
                    webhook_endpoints::status.eq(status.as_str()),
                    webhook_endpoints::disabled_reason.eq(None::<String>),
                ))
                .execute(conn)?;
        }
    }
    if let Some(types) = &changes.event_types {
        subscribe(conn, id, types)?;
    }
    diesel::update(target)
        .set(webhook_endpoints::updated_at.eq(now))
        .execute(conn)?;
    get(conn, id)
}

/// Deletes the endpoint; its subscriptions, deliveries and their attempts go with it (ON DELETE
/// CASCADE). The events stay for other endpoints' deliveries.
pub fn delete(conn: &mut DbConnection, id: i64) -> Result<(), StoreError> {
    let gone = diesel::delete(webhook_endpoints::table.find(id)).execute(conn)?;
    if gone == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// A new secret; the old one stays valid (and is signed with too) for `overlap`, so receivers
/// can switch without losing a request. A zero overlap ends the old secret at once.
pub fn rotate_secret(
    conn: &mut DbConnection,
    id: i64,
    overlap: Duration,
    now: NaiveDateTime,
) -> Result<EndpointWithTypes, StoreError> {
    let current = get(conn, id)?.endpoint;
    let keep = overlap > Duration::zero();
    diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::secret.eq(webhooks::new_secret()),
            webhook_endpoints::previous_secret.eq(keep.then_some(current.secret)),
            webhook_endpoints::previous_secret_expires_at.eq(keep.then_some(now + overlap)),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, id)
}

/// Disables an endpoint whose receiver said it is gone (HTTP 410).
pub fn disable(
    conn: &mut DbConnection,
    id: i64,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), StoreError> {
    diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::status.eq(EndpointStatus::Disabled.as_str()),
            webhook_endpoints::disabled_reason.eq(reason),
            webhook_endpoints::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Writes `event` for every active endpoint subscribed to its type, in the caller's transaction.
/// Returns the event id, or `None` when no endpoint wants it (then nothing is written).
pub fn emit(
    conn: &mut DbConnection,
    event: &Event,
    now: NaiveDateTime,
) -> Result<Option<String>, StoreError> {
    Ok(emit_all(conn, std::slice::from_ref(event), now)?
        .into_iter()
        .next()
        .flatten())
}

/// [`emit`] for many events at once: the subscribed endpoints are read once per event type.
pub fn emit_all(
    conn: &mut DbConnection,
    events: &[Event],
    now: NaiveDateTime,
) -> Result<Vec<Option<String>>, StoreError> {
    let mut subscribers: std::collections::HashMap<&str, Vec<i64>> =
        std::collections::HashMap::new();
    let mut ids = Vec::with_capacity(events.len());
    for event in events {
        let event_type = event.event_type().as_str();
        if !subscribers.contains_key(event_type) {
            let endpoints = subscribed_endpoints(conn, event_type)?;
            subscribers.insert(event_type, endpoints);
        }
        let endpoints = subscribers.get(event_type).map_or(&[][..], Vec::as_slice);
        if endpoints.is_empty() {
            ids.push(None);
            continue;
        }
        let (event_id, row) = record_event(conn, event_type, event.data(), now)?;
        for endpoint in endpoints {
            queue_delivery(conn, row, *endpoint, now)?;
        }
        ids.push(Some(event_id));
    }
    Ok(ids)
}

/// [`emit`] as clauses of a PostgreSQL statement that writes a record and what goes with it
/// through data-modifying `WITH` clauses (see `store::prepared`): the event and its deliveries
/// are written only if the statement's clause `saved` wrote a row and an active endpoint
/// subscribes to the event's type. The endpoints are picked and held as in
/// [`subscribed_endpoints`]. Its placeholders take [`emit_values`].
pub(crate) const EMIT_CLAUSES: &str = "subscribers AS (SELECT e.id FROM webhook_subscriptions s \
    JOIN webhook_endpoints e ON e.id = s.endpoint_id WHERE s.event_type = ? AND e.status = ? \
    AND EXISTS (SELECT 1 FROM saved) FOR KEY SHARE OF e), \
    event AS (INSERT INTO webhook_events (event_id, event_type, payload, created_at) \
    SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM subscribers) RETURNING id), \
    queued AS (INSERT INTO webhook_deliveries (webhook_event_id, endpoint_id, status, attempts, \
    next_attempt_at, created_at, updated_at) \
    SELECT event.id, subscribers.id, 'pending', 0, ?, ?, ? FROM event, subscribers)";

/// The values of [`EMIT_CLAUSES`]' placeholders, in its order.
pub(crate) fn emit_values(event: &Event, now: NaiveDateTime) -> [Value; 9] {
    let event_type = event.event_type().as_str();
    let event_id = webhooks::new_event_id(now.and_utc());
    let body = webhooks::payload(&event_id, event_type, now, event.data());
    let text = |t: &str| Value::Text(Some(t.to_owned()));
    [
        text(event_type),
        text(EndpointStatus::Active.as_str()),
        Value::Text(Some(event_id)),
        text(event_type),
        Value::Text(Some(body)),
        Value::Time(Some(now)),
        Value::Time(Some(now)),
        Value::Time(Some(now)),
        Value::Time(Some(now)),
    ]
}

/// The active endpoints subscribed to `event_type` ([`EMIT_CLAUSES`] picks the same in SQL).
fn subscribed_endpoints(conn: &mut DbConnection, event_type: &str) -> Result<Vec<i64>, StoreError> {
    let subscribed = webhook_subscriptions::table
        .inner_join(webhook_endpoints::table)
        .filter(webhook_subscriptions::event_type.eq(event_type))
        .filter(webhook_endpoints::status.eq(EndpointStatus::Active.as_str()))
        .select(webhook_endpoints::id);
    // On PostgreSQL the endpoints are held (`FOR KEY SHARE`) until this transaction ends, so an
    // administrator deleting one meanwhile waits, and its cascade takes the new delivery along,
    // instead of the change that caused the event failing on a foreign key. SQLite writers take
    // turns, so nothing can slip in between.
    Ok(match conn {
        DbConnection::Postgresql(pg) => subscribed.for_key_share().load(pg)?,
        DbConnection::Sqlite(lite) => subscribed.load(lite)?,
    })
}

/// A test event for one endpoint, whatever it subscribes to and whatever its status: the
/// delivery's id. A paused or disabled endpoint keeps it until it is active again.
pub fn ping(
    conn: &mut DbConnection,
    endpoint_id: i64,
    now: NaiveDateTime,
) -> Result<i64, StoreError> {
    get(conn, endpoint_id)?;
    let data = serde_json::json!({ "endpoint_id": endpoint_id });
    let (_, row) = record_event(conn, webhooks::PING, data, now)?;
    queue_delivery(conn, row, endpoint_id, now)
}

/// Stores an event's exact body: (its public id, its row id).
fn record_event(
    conn: &mut DbConnection,
    event_type: &str,
    data: serde_json::Value,
    now: NaiveDateTime,
) -> Result<(String, i64), StoreError> {
    let event_id = webhooks::new_event_id(now.and_utc());
    let body = webhooks::payload(&event_id, event_type, now, data);
    let row = diesel::insert_into(webhook_events::table)
        .values((
            webhook_events::event_id.eq(&event_id),
            webhook_events::event_type.eq(event_type),
            webhook_events::payload.eq(body),
            webhook_events::created_at.eq(now),
        ))
        .returning(webhook_events::id)
        .get_result(conn)?;
    Ok((event_id, row))
}

fn queue_delivery(
    conn: &mut DbConnection,
    event_row: i64,
    endpoint_id: i64,
    now: NaiveDateTime,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::webhook_event_id.eq(event_row),
            webhook_deliveries::endpoint_id.eq(endpoint_id),
            webhook_deliveries::status.eq("pending"),
            webhook_deliveries::attempts.eq(0),
            webhook_deliveries::next_attempt_at.eq(now),
            webhook_deliveries::created_at.eq(now),
            webhook_deliveries::updated_at.eq(now),
        ))
        .returning(webhook_deliveries::id)
        .get_result(conn)?)
}
