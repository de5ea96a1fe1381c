//! The spec as served at `/openapi.json`: poem-openapi's document, plus the two things it has
//! no words for, so that the spec says exactly what the server takes and sends:
//!
//! - every query parameter may be given empty, which is the same as leaving it out
//!   (`allowEmptyValue`; `error::guard` drops such parameters before a route runs);
//! - each event of `/admin/live` is one Server-Sent Event whose type is `progress` or `events`
//!   and whose data is a JSON document of the schema for that type (`contentMediaType` and
//!   `contentSchema`, which tools that check Server-Sent Events read); poem-openapi would
//!   describe the stream as an array of `LiveUpdate`, which is not what goes over the wire.

use poem_openapi::{OpenApi, OpenApiService};
use serde_json::{Value, json};

/// The document, as JSON.
pub fn document<A: OpenApi>(service: &OpenApiService<A, ()>) -> Value {
    let mut spec: Value = serde_json::from_str(&service.spec()).unwrap_or_default();
    allow_empty_query_values(&mut spec);
    describe_live_events(&mut spec);
    spec
}

fn allow_empty_query_values(spec: &mut Value) {
    let Some(paths) = spec["paths"].as_object_mut() else {
        return;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in operation.values_mut() {
            let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                continue;
            };
            for param in params.iter_mut().filter(|p| p["in"] == "query") {
                param["allowEmptyValue"] = Value::Bool(true);
            }
        }
    }
}

fn describe_live_events(spec: &mut Value) {
    let content = &mut spec["paths"]["/admin/live"]["get"]["responses"]["200"]["content"];
    let Some(stream) = content.get_mut("text/event-stream") else {
        return;
    };
    let data = |schema: Value| {
        json!({
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": schema,
        })
    };
    let event = |kind: &str, schema: Value| {
        json!({
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": { "type": "string", "enum": [kind] },
                "data": data(schema),
            },
        })
    };
    stream["schema"] = json!({
        "title": "LiveEvent stream",
        "description": "One Server-Sent Event. `progress`: its data is a `LagSummary` (sent on \
                        connect and whenever the read models move); `events`: its data is a \
                        list of `LiveEvent` (the log's new events). Comment lines keep an idle \
                        connection open.",
        "oneOf": [
            event("progress", json!({ "$ref": "#/components/schemas/LagSummary" })),
            event(
                "events",
                json!({ "type": "array", "items": { "$ref": "#/components/schemas/LiveEvent" } })
            ),
        ],
    });
    // Only the stream described it.
    if let Some(schemas) = spec["components"]["schemas"].as_object_mut() {
        schemas.remove("LiveUpdate");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn spec() -> Value {
        let db = testkit::TestDatabase::sqlite_for_test();
        let store = db.open_for_test().await;
        let state = crate::State::new(store, chrono_tz::UTC, Default::default(), None);
        document(&crate::service(crate::admin(state)))
    }

    #[tokio::test]
    async fn every_query_parameter_may_be_empty() {
        let spec = spec().await;
        let mut seen = 0;
        for item in spec["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("operations").values() {
                for p in op["parameters"].as_array().into_iter().flatten() {
                    if p["in"] == "query" {
                        assert_eq!(p["allowEmptyValue"], true, "{p}");
                        assert_eq!(p["required"], false, "{p}");
                        seen += 1;
                    }
                }
            }
        }
        assert!(seen > 20, "{seen} query parameters");
    }

    #[tokio::test]
    async fn live_events_are_described_as_they_are_sent() {
        let spec = spec().await;
        let schema = &spec["paths"]["/admin/live"]["get"]["responses"]["200"]["content"]["text/event-stream"]
            ["schema"];
        let kinds: Vec<&Value> = schema["oneOf"]
            .as_array()
            .expect("oneOf")
            .iter()
            .map(|e| &e["properties"]["event"]["enum"][0])
            .collect();
        assert_eq!(kinds, [&json!("progress"), &json!("events")]);
        for name in ["LagSummary", "LiveEvent"] {
            assert!(spec["components"]["schemas"].get(name).is_some(), "{name}");
        }
        assert!(spec["components"]["schemas"].get("LiveUpdate").is_none());
    }
}
