//! The event types against their serde names, schemas and examples.

use super::*;

/// Every variant's `as_str` is its serde name, and `ALL` lists every variant the schema has.
#[test]
fn intent_and_sentiment_names_are_their_serde_names() {
    fn check<T: Serialize + schemars::JsonSchema + Copy>(all: &[T], name: fn(T) -> &'static str) {
        let names: Vec<String> = all
            .iter()
            .map(|&x| {
                let serde = serde_json::to_value(x).expect("serializes");
                assert_eq!(serde, serde_json::json!(name(x)));
                name(x).to_owned()
            })
            .collect();
        let schema = serde_json::to_value(schemars::schema_for!(T)).expect("schema");
        let mut listed: Vec<String> = schema
            .pointer("/oneOf")
            .and_then(|v| v.as_array())
            .map(|alts| {
                alts.iter()
                    .flat_map(|a| match (a.get("const"), a.get("enum")) {
                        (Some(c), _) => vec![c.clone()],
                        (_, Some(serde_json::Value::Array(values))) => values.clone(),
                        _ => Vec::new(),
                    })
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .or_else(|| {
                schema.pointer("/enum").and_then(|v| v.as_array()).map(|v| {
                    v.iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
            })
            .expect("an enum schema");
        let mut sorted = names.clone();
        sorted.sort();
        listed.sort();
        assert_eq!(sorted, listed);
    }
    check(Intent::ALL, Intent::as_str);
    check(Sentiment::ALL, Sentiment::as_str);
    check(UnderstoodBy::ALL, UnderstoodBy::as_str);
}

#[test]
fn there_is_an_example_of_every_event_type() {
    let mut seen: Vec<EventType> = examples::all().iter().map(Event::event_type).collect();
    seen.sort();
    assert_eq!(seen, EventType::ALL);
}

#[test]
fn payloads_round_trip_through_json_by_type() {
    for event in examples::all() {
        let payload = event.payload_json().expect("serialises");
        let back = Event::from_payload(event.event_type(), payload).expect("parses");
        assert_eq!(back, event);
        assert_eq!(
            EventType::parse(event.event_type().as_str()),
            Some(event.event_type())
        );
    }
}

#[test]
fn every_personal_field_exists_and_reads_back_as_null_once_erased() {
    for event in examples::all() {
        let mut payload = event.payload_json().expect("serialises");
        let object = payload.as_object_mut().expect("payloads are objects");
        for field in event.event_type().personal_fields() {
            assert!(
                object.contains_key(*field),
                "{} has no `{field}`",
                event.event_type()
            );
            object.insert((*field).to_owned(), serde_json::Value::Null);
        }
        Event::from_payload(event.event_type(), payload)
            .unwrap_or_else(|e| panic!("{} with personal fields erased: {e}", event.event_type()));
    }
}

#[test]
fn the_envelope_names_are_stable() {
    let json = serde_json::to_value(Event::from(SpecsRequested {
        product_id: "p".into(),
    }))
    .expect("serialises");
    assert_eq!(
        json,
        serde_json::json!({"event_type": "SpecsRequested", "payload": {"product_id": "p"}})
    );
}
