//! Group commit. One writer task per store takes every pending append off its queue, decides in
//! memory which of them go in (expected versions, duplicate ids, positions, sealing personal
//! fields) and writes them all in one transaction; each caller gets its own result.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::panic::AssertUnwindSafe;

use futures::FutureExt as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use events_schema::upcast;
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::crypto::{event_aad, split_personal};
use crate::keys::UserKeys;
use crate::{
    AppendError, AppendRequest, Appended, MAX_EVENTS_PER_BATCH, MAX_JOBS_PER_BATCH, Pool, Shared,
    StoreError, postgres, sqlite,
};

pub(crate) struct Job {
    pub request: AppendRequest,
    pub reply: oneshot::Sender<Result<Appended, AppendError>>,
}

/// Where an already stored event is.
#[derive(Debug, Clone)]
pub(crate) struct StoredRef {
    pub stream_id: String,
    pub stream_version: i64,
    pub global_position: i64,
}

/// One row to insert.
#[derive(Debug)]
pub(crate) struct NewRow {
    pub global_position: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_type: &'static str,
    pub schema_version: i32,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub payload: String,
    pub key_id: Option<Uuid>,
    pub personal: Option<Vec<u8>>,
}

/// The outcome of planning a batch: rows to write and each request's answer.
#[derive(Debug)]
pub(crate) struct Planned {
    pub rows: Vec<NewRow>,
    pub results: Vec<Result<Appended, AppendError>>,
    /// The log head after the batch.
    pub head: i64,
}

pub(crate) async fn run_writer(shared: Arc<Shared>, mut queue: mpsc::Receiver<Job>) {
    while let Some(first) = queue.recv().await {
        let mut events = first.request.events.len();
        let mut jobs = vec![first];
        while jobs.len() < MAX_JOBS_PER_BATCH && events < MAX_EVENTS_PER_BATCH {
            match queue.try_recv() {
                Ok(job) => {
                    events += job.request.events.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let requests: Vec<&AppendRequest> = jobs.iter().map(|j| &j.request).collect();
        let started = std::time::Instant::now();
        let results = match write_guarded(&shared, &requests).await {
            Ok(results) => results,
            Err(error) if jobs.len() > 1 && is_data_error(&error) => {
                // One request may have poisoned the batch: give each its own transaction.
                tracing::warn!(%error, jobs = jobs.len(), "group commit failed; retrying one by one");
                let mut results = Vec::with_capacity(jobs.len());
                for request in &requests {
                    results.push(match write_guarded(&shared, &[request]).await {
                        Ok(mut r) => r
                            .pop()
                            .unwrap_or(Err(AppendError::Store(StoreError::Closed))),
                        Err(e) => Err(AppendError::Store(e)),
                    });
                }
                results
            }
            Err(error) => {
                tracing::error!(%error, jobs = jobs.len(), "appending a batch failed");
                let message = error.to_string();
                let mut results = vec![Err(AppendError::Store(error))];
                results.resize_with(jobs.len(), || {
                    Err(AppendError::Store(StoreError::Batch(message.clone())))
                });
                results
            }
        };
        tracing::debug!(jobs = jobs.len(), events, "batch written");
        crate::metrics::batch(jobs.len(), events, started.elapsed());
        let committed = results
            .iter()
            .filter_map(|r| r.as_ref().ok().map(|a| a.last_position))
            .max();
        if let Some(position) = committed {
            shared.committed.send_if_modified(|head| {
                let advanced = position > *head;
                *head = (*head).max(position);
                advanced
            });
        }
        for (job, result) in jobs.into_iter().zip(results) {
            crate::metrics::append(&result);
            // The caller may have gone away; its events are committed either way.
            let _ = job.reply.send(result);
        }
    }
}

/// A data error (SQLSTATE class 22 or 23) may come from one request of the batch; anything else
/// (connection lost, database down) would fail each request alike.
fn is_data_error(error: &StoreError) -> bool {
    match error {
        StoreError::Database(e) => e
            .as_database_error()
            .and_then(|d| d.code())
            .is_some_and(|code| code.starts_with("22") || code.starts_with("23")),
        StoreError::Panicked => true,
        _ => false,
    }
}

/// A bug that panics while writing must not take the writer task (and every later append)
/// down with it: the batch fails, the loop goes on.
async fn write_guarded(
    shared: &Shared,
    requests: &[&AppendRequest],
) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
    match AssertUnwindSafe(write(shared, requests))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(_) => {
            tracing::error!("the event writer panicked writing a batch");
            Err(StoreError::Panicked)
        }
    }
}

async fn write(
    shared: &Shared,
    requests: &[&AppendRequest],
) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
    match &shared.pool {
        Pool::Postgres(p) => postgres::write_batch(p, &shared.keys, requests).await,
        Pool::Sqlite(p) => sqlite::write_batch(p, &shared.keys, requests).await,
    }
}

/// Distinct users owning the requests' streams, sorted (writers that lock key rows in one order
/// cannot deadlock each other).
pub(crate) fn users_of(requests: &[&AppendRequest]) -> Vec<String> {
    let set: BTreeSet<String> = requests
        .iter()
        .filter_map(|r| r.stream_id.user_id())
        .map(String::from)
        .collect();
    set.into_iter().collect()
}

pub(crate) fn streams_of(requests: &[&AppendRequest]) -> Vec<String> {
    let set: BTreeSet<&str> = requests.iter().map(|r| r.stream_id.as_str()).collect();
    set.into_iter().map(str::to_owned).collect()
}

pub(crate) fn event_ids_of(requests: &[&AppendRequest]) -> Vec<Uuid> {
    requests
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.event_id))
        .collect()
}

/// Decides the batch. `versions` holds the current version of every stream that has one,
/// `stored` the already stored events among the batch's ids (empty on the optimistic first try;
/// the insert then fails on the unique `event_id` and the batch is planned again with them).
pub(crate) fn plan_batch(
    requests: &[&AppendRequest],
    versions: &HashMap<String, i64>,
    stored: &HashMap<Uuid, StoredRef>,
    mut head: i64,
    keys: &UserKeys,
    recorded_at: DateTime<Utc>,
) -> Planned {
    let mut versions = versions.clone();
    let mut claimed: HashMap<Uuid, StoredRef> = HashMap::new();
    let mut rows = Vec::new();
    let mut results = Vec::with_capacity(requests.len());
    for request in requests {
        let stream = request.stream_id.as_str();
        let known: Vec<&StoredRef> = request
            .events
            .iter()
            .filter_map(|e| stored.get(&e.event_id).or_else(|| claimed.get(&e.event_id)))
            .collect();
        if !known.is_empty() {
            results.push(duplicate_result(request, &known));
            continue;
        }
        let current = versions.get(stream).copied().unwrap_or(0);
        if !request.expected.admits(current) {
            results.push(Err(AppendError::Conflict {
                stream_id: request.stream_id.clone(),
                expected: request.expected,
                actual: current,
            }));
            continue;
        }
        let key = request
            .stream_id
            .user_id()
            .and_then(|u| keys.get(u.as_str()));
        let mut request_rows = Vec::with_capacity(request.events.len());
        let mut failure = None;
        for (i, event) in request.events.iter().enumerate() {
            match seal_row(event, stream, key) {
                Ok((payload, key_id, personal)) => {
                    let offset = i64::try_from(i).unwrap_or(i64::MAX - head) + 1;
                    request_rows.push(NewRow {
                        global_position: head + offset,
                        event_id: event.event_id,
                        stream_id: stream.to_owned(),
                        stream_version: current + offset,
                        event_type: event.event_type.as_str(),
                        schema_version: i32::try_from(event.schema_version).unwrap_or(i32::MAX),
                        occurred_at: event.occurred_at,
                        recorded_at,
                        correlation_id: event.correlation_id,
                        causation_id: event.causation_id,
                        payload,
                        key_id,
                        personal,
                    });
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let unique_ids: HashSet<Uuid> = request.events.iter().map(|e| e.event_id).collect();
        if failure.is_none() && unique_ids.len() != request.events.len() {
            failure = Some(AppendError::Invalid(
                "an event id appears twice in one append".into(),
            ));
        }
        if let Some(e) = failure {
            results.push(Err(e));
            continue;
        }
        let (Some(first), Some(last)) = (request_rows.first(), request_rows.last()) else {
            results.push(Err(AppendError::Invalid(
                "an append needs at least one event".into(),
            )));
            continue;
        };
        let appended = Appended {
            last_version: last.stream_version,
            first_position: first.global_position,
            last_position: last.global_position,
            duplicate: false,
        };
        for row in &request_rows {
            claimed.insert(
                row.event_id,
                StoredRef {
                    stream_id: row.stream_id.clone(),
                    stream_version: row.stream_version,
                    global_position: row.global_position,
                },
            );
        }
        head = appended.last_position;
        versions.insert(stream.to_owned(), appended.last_version);
        rows.extend(request_rows);
        results.push(Ok(appended));
    }
    Planned {
        rows,
        results,
        head,
    }
}

fn duplicate_result(
    request: &AppendRequest,
    known: &[&StoredRef],
) -> Result<Appended, AppendError> {
    let same_stream = known
        .iter()
        .all(|k| k.stream_id == request.stream_id.as_str());
    if known.len() != request.events.len() || !same_stream {
        return Err(AppendError::PartialDuplicate(format!(
            "{} of {} events on {}",
            known.len(),
            request.events.len(),
            request.stream_id
        )));
    }
    let first = known.iter().map(|k| k.global_position).min().unwrap_or(0);
    let last = known.iter().map(|k| k.global_position).max().unwrap_or(0);
    let version = known.iter().map(|k| k.stream_version).max().unwrap_or(0);
    Ok(Appended {
        last_version: version,
        first_position: first,
        last_position: last,
        duplicate: true,
    })
}

/// `(payload as stored, key id, sealed personal fields)`.
type Sealed = (String, Option<Uuid>, Option<Vec<u8>>);

/// The payload as stored (personal fields removed) and the sealed personal fields.
fn seal_row(
    event: &events_schema::RawEvent,
    stream: &str,
    key: Option<&(Uuid, crate::crypto::UserKey)>,
) -> Result<Sealed, AppendError> {
    let fields = upcast::personal_fields(event.event_type, event.schema_version)
        .map_err(|e| AppendError::Invalid(e.to_string()))?;
    if !event.payload.is_object() {
        return Err(AppendError::Invalid(format!(
            "{} payload is not a JSON object",
            event.event_type
        )));
    }
    let has_personal = fields
        .iter()
        .any(|f| event.payload.get(*f).is_some_and(|v| !v.is_null()));
    let encode = |v: &serde_json::Value| {
        let text = serde_json::to_string(v).map_err(|e| AppendError::Invalid(e.to_string()))?;
        // Postgres `jsonb` cannot hold NUL; refuse it on both backends alike.
        if text.contains("\\u0000") {
            return Err(AppendError::Invalid(format!(
                "{} payload contains a NUL character",
                event.event_type
            )));
        }
        Ok(text)
    };
    match (key, has_personal) {
        (None, true) => Err(AppendError::Invalid(format!(
            "{} carries personal data but its stream belongs to no user",
            event.event_type
        ))),
        (None, false) => Ok((encode(&event.payload)?, None, None)),
        (Some((key_id, _)), false) => Ok((encode(&event.payload)?, Some(*key_id), None)),
        (Some((key_id, key)), true) => {
            let mut payload = event.payload.clone();
            let personal = split_personal(&mut payload, fields).unwrap_or_default();
            let plain =
                serde_json::to_vec(&personal).map_err(|e| AppendError::Invalid(e.to_string()))?;
            let sealed = key
                .seal(&plain, &event_aad(event.event_id, stream, *key_id))
                .map_err(|e| AppendError::Store(StoreError::Internal(format!("sealing: {e}"))))?;
            Ok((encode(&payload)?, Some(*key_id), Some(sealed)))
        }
    }
}
