//! `/admin/events/export`: the log as NDJSON, read a page at a time while the response streams,
//! so memory stays flat however long the log.

use event_store::EventStore;
use futures::Stream;

const PAGE: usize = 1_000;

/// Every event after `after` up to `head`, one JSON object per line.
pub fn ndjson(
    store: EventStore,
    after: i64,
    head: i64,
) -> impl Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    futures::stream::try_unfold((store, after), move |(store, after)| async move {
        if after >= head {
            return Ok(None);
        }
        // Events a newer release wrote are left out (the store skips them), so the next page
        // starts after the last event read, not the last one shown.
        let (events, last) = store
            .read_all_through(after, PAGE)
            .await
            .map_err(std::io::Error::other)?;
        if last <= after {
            return Ok(None);
        }
        let mut chunk = Vec::with_capacity(events.len() * 256);
        for event in events.iter().take_while(|e| e.global_position <= head) {
            serde_json::to_writer(&mut chunk, event).map_err(std::io::Error::other)?;
            chunk.push(b'\n');
        }
        Ok(Some((chunk, (store, last))))
    })
}
