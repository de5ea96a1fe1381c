//! JSON Schema of every payload and of the envelope, generated from the types. The committed
//! copies in `events-schema/schema/` are checked against these by a test; regenerate them with
//! `UPDATE_SCHEMA=1 cargo test -p events-schema --test schema_files`.

use crate::envelope::RecordedEvent;
use crate::events::Event;

/// `(file name, pretty JSON)` for every schema file, sorted by name.
pub fn files() -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = Event::payload_schemas()
        .into_iter()
        .map(|(event_type, version, schema)| (format!("{event_type}.v{version}.json"), schema))
        .chain(std::iter::once((
            "envelope.json".to_owned(),
            schemars::schema_for!(RecordedEvent),
        )))
        .map(|(name, schema)| {
            let mut text = serde_json::to_string_pretty(&schema)
                .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
            text.push('\n');
            (name, text)
        })
        .collect();
    files.sort();
    files
}
