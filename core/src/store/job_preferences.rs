//! Job preferences: each participant's current version, and a snapshot of every saved version.
//!
//! The row is created by the first save; until then a participant has the empty document at
//! version 0. Every save increments the version and writes its snapshot to
//! `job_preference_changes` in the same transaction, so the history is complete by construction.

use std::collections::HashMap;
use std::sync::LazyLock;

use anyhow::anyhow;
use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::audit::{self, Entry};
use super::bulk::Value;
use super::prepared::{Prepared, Statement};
use super::{Page, StoreError};
use crate::db::DbConnection;
use crate::domain::job_preferences::JobPreferences;
use crate::domain::{Disclosure, Goal, PreferredTime};
use crate::schema::{job_preference_changes, job_preferences};

/// Who saved a version: the participant from their app, or a staff member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Editor {
    Participant(i64),
    Staff(i64),
}

impl Editor {
    pub fn kind(self) -> &'static str {
        match self {
            Editor::Participant(_) => "participant",
            Editor::Staff(_) => "staff",
        }
    }

    pub fn id(self) -> i64 {
        match self {
            Editor::Participant(id) | Editor::Staff(id) => id,
        }
    }

    fn from_parts(kind: &str, id: i64) -> Result<Self, StoreError> {
        match kind {
            "participant" => Ok(Editor::Participant(id)),
            "staff" => Ok(Editor::Staff(id)),
            other => Err(StoreError::Internal(anyhow!(
                "unknown editor kind {other:?}"
            ))),
        }
    }
}

/// What a save requires of the current version (HTTP `If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// Save over whatever version is current (no `If-Match`, or `If-Match: *`).
    Any,
    /// Save only if the current version is one of these (none: never).
    OneOf(Vec<i32>),
}

impl Precondition {
    pub fn allows(&self, version: i32) -> bool {
        match self {
            Precondition::Any => true,
            Precondition::OneOf(versions) => versions.contains(&version),
        }
    }
}

/// The current version of a participant's job preferences.
#[derive(Debug, Clone, PartialEq)]
pub struct Current {
    pub participant_id: i64,
    pub preferences: JobPreferences,
    /// 0 before the first save.
    pub version: i32,
    pub updated_at: Option<NaiveDateTime>,
    pub updated_by: Option<Editor>,
}

impl Current {
    fn empty(participant_id: i64) -> Self {
        Current {
            participant_id,
            preferences: JobPreferences::default(),
            version: 0,
            updated_at: None,
            updated_by: None,
        }
    }
}

/// One saved version, with the fields it changed from the version before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub id: i64,
    pub version: i32,
    pub changed_at: NaiveDateTime,
    pub changed_by: Editor,
    pub preferences: JobPreferences,
    pub changed_fields: Vec<String>,
}

#[derive(Debug, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = job_preferences)]
struct Row {
    participant_id: i64,
    goal: Option<String>,
    desired_roles: String,
    industries: String,
    interests: String,
    skills: String,
    experience: Option<String>,
    hours_per_week_min: Option<i32>,
    hours_per_week_max: Option<i32>,
    preferred_times: String,
    locations: String,
    max_commute_minutes: Option<i32>,
    avoid: String,
    disclosure: Option<String>,
    disclosure_notes: Option<String>,
    notes: Option<String>,
    version: i32,
    updated_at: NaiveDateTime,
    updated_by_kind: String,
    updated_by_id: i64,
}

/// A whole version's contents, set over the row on every save (`None` clears a column, and is
/// written as NULL rather than `DEFAULT`, so the statement's SQL does not depend on the document).
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(
    table_name = job_preferences,
    treat_none_as_null = true,
    treat_none_as_default_value = false
)]
struct Document {
    goal: Option<&'static str>,
    desired_roles: String,
    industries: String,
    interests: String,
    skills: String,
    experience: Option<String>,
    hours_per_week_min: Option<i32>,
    hours_per_week_max: Option<i32>,
    preferred_times: String,
    locations: String,
    max_commute_minutes: Option<i32>,
    avoid: String,
    disclosure: Option<&'static str>,
    disclosure_notes: Option<String>,
    notes: Option<String>,
    updated_at: NaiveDateTime,
    updated_by_kind: &'static str,
    updated_by_id: i64,
}

/// The first version: the row is created by the first save.
#[derive(Debug, Insertable)]
#[diesel(table_name = job_preferences)]
struct FirstVersion {
    participant_id: i64,
    #[diesel(embed)]
    document: Document,
    version: i32,
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Internal(e.into()))
}

fn list<T: serde::de::DeserializeOwned>(text: &str, field: &str) -> Result<Vec<T>, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(anyhow!("stored job_preferences.{field}: {e}")))
}

impl Document {
    fn new(doc: &JobPreferences, at: NaiveDateTime, by: Editor) -> Result<Self, StoreError> {
        Ok(Document {
            goal: doc.goal.map(Goal::as_str),
            desired_roles: json(&doc.desired_roles)?,
            industries: json(&doc.industries)?,
            interests: json(&doc.interests)?,
            skills: json(&doc.skills)?,
            experience: doc.experience.clone(),
            hours_per_week_min: doc.hours_per_week_min,
            hours_per_week_max: doc.hours_per_week_max,
            preferred_times: json(&doc.preferred_times)?,
            locations: json(&doc.locations)?,
            max_commute_minutes: doc.max_commute_minutes,
            avoid: json(&doc.avoid)?,
            disclosure: doc.disclosure.map(Disclosure::as_str),
            disclosure_notes: doc.disclosure_notes.clone(),
            notes: doc.notes.clone(),
            updated_at: at,
            updated_by_kind: by.kind(),
            updated_by_id: by.id(),
        })
    }
}

impl TryFrom<Row> for Current {
    type Error = StoreError;

    fn try_from(row: Row) -> Result<Self, StoreError> {
        let corrupt = |field: &str| StoreError::Internal(anyhow!("stored job_preferences.{field}"));
        let goal = match row.goal.as_deref() {
            None => None,
            Some(text) => Some(Goal::parse(text).ok_or_else(|| corrupt("goal"))?),
        };
        let disclosure = match row.disclosure.as_deref() {
            None => None,
            Some(text) => Some(Disclosure::parse(text).ok_or_else(|| corrupt("disclosure"))?),
        };
        let preferred_times: Vec<PreferredTime> = list(&row.preferred_times, "preferred_times")?;
        Ok(Current {
            participant_id: row.participant_id,
            preferences: JobPreferences {
                goal,
                desired_roles: list(&row.desired_roles, "desired_roles")?,
                industries: list(&row.industries, "industries")?,
                interests: list(&row.interests, "interests")?,
                skills: list(&row.skills, "skills")?,
                experience: row.experience,
                hours_per_week_min: row.hours_per_week_min,
                hours_per_week_max: row.hours_per_week_max,
                preferred_times,
                locations: list(&row.locations, "locations")?,
                max_commute_minutes: row.max_commute_minutes,
                avoid: list(&row.avoid, "avoid")?,
                disclosure,
                disclosure_notes: row.disclosure_notes,
                notes: row.notes,
            },
            version: row.version,
            updated_at: Some(row.updated_at),
            updated_by: Some(Editor::from_parts(&row.updated_by_kind, row.updated_by_id)?),
        })
    }
}

/// The participant's current job preferences; the empty document at version 0 before any save.
pub fn get(conn: &mut DbConnection, participant_id: i64) -> Result<Current, StoreError> {
    let row = job_preferences::table
        .find(participant_id)
        .select(Row::as_select())
        .first(conn)
        .optional()?;
    match row {
        Some(row) => row.try_into(),
        None => Ok(Current::empty(participant_id)),
    }
}

fn current_version(
    conn: &mut DbConnection,
    participant_id: i64,
) -> Result<Option<i32>, StoreError> {
    Ok(job_preferences::table
        .find(participant_id)
        .select(job_preferences::version)
        .first(conn)
        .optional()?)
}

/// How many times a save re-reads the version after losing a race to a concurrent save.
const SAVE_ATTEMPTS: usize = 3;

/// What a save writes besides the document: its snapshot in the history, and the audit entry.
struct Records<'a> {
    snapshot: String,
    audit: &'a Entry,
    request_id: Option<&'a str>,
}

/// Replaces the document with `doc` as the next version, if `precondition` allows the current
/// one; `Ok(None)` when it does not (nothing is written). Records the version's snapshot and
/// `audit` with it, all or none.
///
/// The write itself is conditional on the version read just before (an insert that does nothing
/// if a row appeared, an update only of that version), so two saves racing on PostgreSQL cannot
/// both succeed from the same version: the loser re-reads, and fails its precondition if it had one.
/// Without a precondition (no `If-Match`) there is nothing to read first: the update raises
/// whatever version is stored, and only a first save, finding no row, inserts one.
///
/// On PostgreSQL each write is one statement that also writes the history row and the audit
/// entry (so it needs no transaction around it to be all or none); see [`Db::write_atomic`].
///
/// [`Db::write_atomic`]: crate::Db::write_atomic
#[expect(
    clippy::too_many_arguments,
    reason = "a save and what is recorded with it"
)]
pub fn save(
    conn: &mut DbConnection,
    participant_id: i64,
    precondition: &Precondition,
    doc: &JobPreferences,
    by: Editor,
    at: NaiveDateTime,
    audit: &Entry,
    request_id: Option<&str>,
) -> Result<Option<Current>, StoreError> {
    let document = Document::new(doc, at, by)?;
    let records = Records {
        snapshot: json(doc)?,
        audit,
        request_id,
    };
    for _ in 0..SAVE_ATTEMPTS {
        // Which version the write may replace: `None` for no row yet, `Some(None)` for any.
        let replaces = match precondition {
            Precondition::Any => Some(None),
            Precondition::OneOf(_) => {
                let current = current_version(conn, participant_id)?;
                if !precondition.allows(current.unwrap_or(0)) {
                    return Ok(None);
                }
                current.map(Some)
            }
        };
        let updated = match replaces {
            None => None,
            Some(seen) => replace(conn, participant_id, seen, &document, &records)?,
        };
        let saved = match (updated, replaces) {
            (Some(row), _) => Some(row),
            // No row to update: the first save (unless a concurrent one just made it).
            (None, None | Some(None)) => create(conn, participant_id, &document, &records)?,
            // The version seen was replaced meanwhile: read again.
            (None, Some(Some(_))) => None,
        };
        if let Some(row) = saved {
            return row.try_into().map(Some);
        }
    }
    Err(StoreError::Conflict(
        "the job preferences are being changed by someone else; try again".into(),
    ))
}

/// The columns of the saved row, in [`Row`]'s order, as the PostgreSQL statements return them.
const ROW_COLUMNS: &str = "participant_id, goal, desired_roles, industries, interests, skills, \
    experience, hours_per_week_min, hours_per_week_max, preferred_times, locations, \
    max_commute_minutes, avoid, disclosure, disclosure_notes, notes, version, updated_at, \
    updated_by_kind, updated_by_id";

/// The document's columns, in the order of [`Document::values`]: the document's fields
/// (`domain::job_preferences::FIELD_ORDER`, as a test below holds), then who saved it when.
const DOCUMENT_COLUMNS: [&str; 18] = [
    "goal",
    "desired_roles",
    "industries",
    "interests",
    "skills",
    "experience",
    "hours_per_week_min",
    "hours_per_week_max",
    "preferred_times",
    "locations",
    "max_commute_minutes",
    "avoid",
    "disclosure",
    "disclosure_notes",
    "notes",
    "updated_at",
    "updated_by_kind",
    "updated_by_id",
];

/// The clauses after `saved`: the snapshot and the audit entry, written only if `saved` wrote a
/// row. Their placeholders take [`Records::values`].
fn records_sql() -> String {
    format!(
        "history AS (INSERT INTO job_preference_changes (participant_id, version, changed_at, \
         changed_by_kind, changed_by_id, snapshot) SELECT participant_id, version, updated_at, \
         updated_by_kind, updated_by_id, ? FROM saved), audit AS ({} FROM saved) \
         SELECT {ROW_COLUMNS} FROM saved",
        audit::INSERT_SELECT
    )
}

/// The update over the stored version (`seen`, or any when `None`), with its records.
static REPLACE_SQL: LazyLock<String> = LazyLock::new(|| {
    let set: Vec<String> = DOCUMENT_COLUMNS
        .iter()
        .map(|c| format!("{c} = ?"))
        .collect();
    format!(
        "WITH saved AS (UPDATE job_preferences SET {}, version = version + 1 \
         WHERE participant_id = ? AND (? IS NULL OR version = ?) RETURNING {ROW_COLUMNS}), {}",
        set.join(", "),
        records_sql()
    )
});

/// The first version's insert (nothing if a concurrent save made the row), with its records.
static CREATE_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH saved AS (INSERT INTO job_preferences (participant_id, {}, version) \
         VALUES (?, {}, 1) ON CONFLICT DO NOTHING RETURNING {ROW_COLUMNS}), {}",
        DOCUMENT_COLUMNS.join(", "),
        vec!["?"; DOCUMENT_COLUMNS.len()].join(", "),
        records_sql()
    )
});

/// [`REPLACE_SQL`] and [`CREATE_SQL`], as prepared statements.
struct Replace;
struct Create;

impl Statement for Replace {
    fn sql() -> &'static str {
        &REPLACE_SQL
    }
}

impl Statement for Create {
    fn sql() -> &'static str {
        &CREATE_SQL
    }
}

impl Document {
    /// The values of [`DOCUMENT_COLUMNS`], in its order.
    fn values(&self) -> Vec<Value> {
        let text = |t: &str| Value::Text(Some(t.to_owned()));
        vec![
            Value::Text(self.goal.map(str::to_owned)),
            text(&self.desired_roles),
            text(&self.industries),
            text(&self.interests),
            text(&self.skills),
            Value::Text(self.experience.clone()),
            Value::OptInt32(self.hours_per_week_min),
            Value::OptInt32(self.hours_per_week_max),
            text(&self.preferred_times),
            text(&self.locations),
            Value::OptInt32(self.max_commute_minutes),
            text(&self.avoid),
            Value::Text(self.disclosure.map(str::to_owned)),
            Value::Text(self.disclosure_notes.clone()),
            Value::Text(self.notes.clone()),
            Value::Time(Some(self.updated_at)),
            text(self.updated_by_kind),
            Value::Int(self.updated_by_id),
        ]
    }
}

impl Records<'_> {
    /// The values of [`records_sql`]'s placeholders, in its order.
    fn values(&self, at: NaiveDateTime) -> impl Iterator<Item = Value> {
        std::iter::once(Value::Text(Some(self.snapshot.clone()))).chain(audit::values(
            self.audit,
            self.request_id,
            at,
        ))
    }

    /// The snapshot and audit entry of `row`, as their own statements (SQLite).
    fn write(&self, conn: &mut DbConnection, row: &Row) -> Result<(), StoreError> {
        diesel::insert_into(job_preference_changes::table)
            .values((
                job_preference_changes::participant_id.eq(row.participant_id),
                job_preference_changes::version.eq(row.version),
                job_preference_changes::changed_at.eq(row.updated_at),
                job_preference_changes::changed_by_kind.eq(&row.updated_by_kind),
                job_preference_changes::changed_by_id.eq(row.updated_by_id),
                job_preference_changes::snapshot.eq(&self.snapshot),
            ))
            .execute(conn)?;
        audit::record(
            conn,
            std::slice::from_ref(self.audit),
            self.request_id,
            row.updated_at,
        )
    }
}

/// Writes `document` over the stored version `seen` (any, if `None`) with its records; `None`
/// when there was no such row. PostgreSQL: one statement. SQLite (no data-modifying `WITH`):
/// the update, then the records, in the caller's transaction.
fn replace(
    conn: &mut DbConnection,
    participant_id: i64,
    seen: Option<i32>,
    document: &Document,
    records: &Records,
) -> Result<Option<Row>, StoreError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            let mut values = document.values();
            values.extend([
                Value::Int(participant_id),
                Value::OptInt32(seen),
                Value::OptInt32(seen),
            ]);
            values.extend(records.values(document.updated_at));
            Ok(Prepared::<Replace>::new(&values)
                .load(pg)?
                .into_iter()
                .next())
        }
        DbConnection::Sqlite(lite) => {
            let mine =
                job_preferences::table.filter(job_preferences::participant_id.eq(participant_id));
            let bump = job_preferences::version.eq(job_preferences::version + 1);
            let row: Option<Row> = match seen {
                None => diesel::update(mine)
                    .set((document, bump))
                    .returning(Row::as_returning())
                    .get_result(lite)
                    .optional()?,
                Some(seen) => diesel::update(mine.filter(job_preferences::version.eq(seen)))
                    .set((document, bump))
                    .returning(Row::as_returning())
                    .get_result(lite)
                    .optional()?,
            };
            if let Some(row) = &row {
                records.write(conn, row)?;
            }
            Ok(row)
        }
    }
}

/// Inserts the first version with its records; `None` when a concurrent save made the row first.
fn create(
    conn: &mut DbConnection,
    participant_id: i64,
    document: &Document,
    records: &Records,
) -> Result<Option<Row>, StoreError> {
    match conn {
        DbConnection::Postgresql(pg) => {
            let mut values = vec![Value::Int(participant_id)];
            values.extend(document.values());
            values.extend(records.values(document.updated_at));
            Ok(Prepared::<Create>::new(&values)
                .load(pg)?
                .into_iter()
                .next())
        }
        DbConnection::Sqlite(lite) => {
            let first = FirstVersion {
                participant_id,
                document: document.clone(),
                version: 1,
            };
            let row: Option<Row> = diesel::insert_into(job_preferences::table)
                .values(&first)
                .on_conflict_do_nothing()
                .returning(Row::as_returning())
                .get_result(lite)
                .optional()?;
            if let Some(row) = &row {
                records.write(conn, row)?;
            }
            Ok(row)
        }
    }
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = job_preference_changes)]
struct ChangeRow {
    id: i64,
    version: i32,
    changed_at: NaiveDateTime,
    changed_by_kind: String,
    changed_by_id: i64,
    snapshot: String,
}

fn snapshot(text: &str) -> Result<JobPreferences, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Internal(anyhow!("stored job preference snapshot: {e}")))
}

/// A participant's saved versions, newest first, each with the fields it changed.
pub fn history(
    conn: &mut DbConnection,
    participant_id: i64,
    after: Option<i64>,
    limit: i64,
) -> Result<Page<Change>, StoreError> {
    let mut query = job_preference_changes::table
        .filter(job_preference_changes::participant_id.eq(participant_id))
        .select(ChangeRow::as_select())
        .order(job_preference_changes::id.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(job_preference_changes::id.lt(after));
    }
    let page = Page::from_rows(query.load(conn)?, limit, |c| c.id);
    let mut by_version: HashMap<i32, JobPreferences> = HashMap::new();
    for row in &page.items {
        by_version.insert(row.version, snapshot(&row.snapshot)?);
    }
    by_version.insert(0, JobPreferences::default());
    let mut changes = Vec::with_capacity(page.items.len());
    for row in &page.items {
        let previous = row.version - 1;
        if let std::collections::hash_map::Entry::Vacant(slot) = by_version.entry(previous) {
            // The oldest version on this page: its predecessor is on the next page.
            let text: String = job_preference_changes::table
                .filter(job_preference_changes::participant_id.eq(participant_id))
                .filter(job_preference_changes::version.eq(previous))
                .select(job_preference_changes::snapshot)
                .first(conn)?;
            slot.insert(snapshot(&text)?);
        }
        let preferences = by_version.get(&row.version).cloned().unwrap_or_default();
        let changed_fields = by_version
            .get(&previous)
            .map(|before| JobPreferences::changed_fields(before, &preferences))
            .unwrap_or_default();
        changes.push(Change {
            id: row.id,
            version: row.version,
            changed_at: row.changed_at,
            changed_by: Editor::from_parts(&row.changed_by_kind, row.changed_by_id)?,
            preferences,
            changed_fields,
        });
    }
    Ok(Page {
        items: changes,
        next_after: page.next_after,
    })
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT_COLUMNS;
    use crate::domain::job_preferences::FIELD_ORDER;

    #[test]
    fn the_document_columns_are_its_fields_then_who_saved_it_when() {
        let (fields, saved) = DOCUMENT_COLUMNS.split_at(FIELD_ORDER.len());
        assert_eq!(fields, FIELD_ORDER);
        assert_eq!(saved, ["updated_at", "updated_by_kind", "updated_by_id"]);
    }
}
