//! Upcasting: stored payloads of old schema versions are turned into the current version on
//! read, one version step at a time. The chain is checked when a store opens.

use serde_json::{Map, Value, json};

use crate::events::{Event, EventType};

/// Turns a payload of `from_version` into `from_version + 1`.
#[derive(Debug, Clone, Copy)]
pub struct Upcaster {
    pub event_type: EventType,
    pub from_version: u32,
    /// Every field a `from_version` payload may have; anything else is refused on import,
    /// since a field nobody knows could never be sealed or erased.
    pub fields: &'static [&'static str],
    /// Personal fields of the `from_version` payload (encrypted at rest like current ones).
    pub personal_fields: &'static [&'static str],
    pub upcast: fn(Value) -> Result<Value, String>,
}

/// Every upcaster salesbot knows.
pub static UPCASTERS: &[Upcaster] = &[
    Upcaster {
        event_type: EventType::MessageReceived,
        from_version: 0,
        fields: &[
            "user_message",
            "bot_response",
            "intent",
            "emotion",
            "product",
        ],
        personal_fields: &["user_message", "bot_response"],
        upcast: message_received_v0_to_v1,
    },
    Upcaster {
        event_type: EventType::MessageReceived,
        from_version: 1,
        fields: &[
            "kind",
            "message_id",
            "text",
            "intent",
            "sentiment",
            "product_id",
        ],
        personal_fields: &["text"],
        upcast: message_received_v1_to_v2,
    },
    Upcaster {
        event_type: EventType::PreferenceStated,
        from_version: 1,
        fields: &["budget", "category"],
        personal_fields: &[],
        upcast: preference_stated_v1_to_v2,
    },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpcastError {
    #[error("unknown event type `{0}`")]
    UnknownType(String),
    #[error("{event_type} has no schema version {version} (this build knows up to {current})")]
    UnknownVersion {
        event_type: EventType,
        version: u32,
        current: u32,
    },
    #[error("{event_type} v{from_version} could not be upcast: {reason}")]
    Failed {
        event_type: EventType,
        from_version: u32,
        reason: String,
    },
    #[error("{event_type} v{version} payload does not match its schema: {reason}")]
    Invalid {
        event_type: EventType,
        version: u32,
        reason: String,
    },
    #[error("upcaster chain is broken: {0}")]
    Chain(String),
}

fn find(upcasters: &[Upcaster], event_type: EventType, from: u32) -> Option<&Upcaster> {
    upcasters
        .iter()
        .find(|u| u.event_type == event_type && u.from_version == from)
}

/// Checks that every upcaster leads, step by step, to the current version of its type, and that
/// no step is registered twice. Called when a store opens, so a broken chain stops start-up.
pub fn check_chain(upcasters: &[Upcaster]) -> Result<(), UpcastError> {
    for (i, u) in upcasters.iter().enumerate() {
        let current = u.event_type.current_version();
        if u.from_version >= current {
            return Err(UpcastError::Chain(format!(
                "{} upcaster from v{} but v{current} is current",
                u.event_type, u.from_version
            )));
        }
        if upcasters[..i]
            .iter()
            .any(|o| o.event_type == u.event_type && o.from_version == u.from_version)
        {
            return Err(UpcastError::Chain(format!(
                "{} v{} has two upcasters",
                u.event_type, u.from_version
            )));
        }
        for step in u.from_version + 1..current {
            if find(upcasters, u.event_type, step).is_none() {
                return Err(UpcastError::Chain(format!(
                    "{} has an upcaster from v{} but none from v{step}",
                    u.event_type, u.from_version
                )));
            }
        }
    }
    Ok(())
}

/// Personal fields of `event_type` at `version` (current or older).
pub fn personal_fields(
    event_type: EventType,
    version: u32,
) -> Result<&'static [&'static str], UpcastError> {
    if version == event_type.current_version() {
        return Ok(event_type.personal_fields());
    }
    find(UPCASTERS, event_type, version)
        .map(|u| u.personal_fields)
        .ok_or(UpcastError::UnknownVersion {
            event_type,
            version,
            current: event_type.current_version(),
        })
}

/// Refuses a stored-form payload of an old version that has fields its version never had.
/// (Current-version payloads are checked by parsing them into their type.)
pub fn check_fields(
    event_type: EventType,
    version: u32,
    payload: &Value,
) -> Result<(), UpcastError> {
    if version == event_type.current_version() {
        return Ok(());
    }
    let step = find(UPCASTERS, event_type, version).ok_or(UpcastError::UnknownVersion {
        event_type,
        version,
        current: event_type.current_version(),
    })?;
    let Value::Object(object) = payload else {
        return Err(UpcastError::Invalid {
            event_type,
            version,
            reason: "payload is not an object".into(),
        });
    };
    match object.keys().find(|k| !step.fields.contains(&k.as_str())) {
        Some(unknown) => Err(UpcastError::Invalid {
            event_type,
            version,
            reason: format!("unknown field `{unknown}`"),
        }),
        None => Ok(()),
    }
}

/// Brings a payload of any known version up to the current one.
pub fn upcast(event_type: EventType, version: u32, payload: Value) -> Result<Value, UpcastError> {
    upcast_with(UPCASTERS, event_type, version, payload)
}

fn upcast_with(
    upcasters: &[Upcaster],
    event_type: EventType,
    mut version: u32,
    mut payload: Value,
) -> Result<Value, UpcastError> {
    let current = event_type.current_version();
    while version < current {
        let step = find(upcasters, event_type, version).ok_or(UpcastError::UnknownVersion {
            event_type,
            version,
            current,
        })?;
        payload = (step.upcast)(payload).map_err(|reason| UpcastError::Failed {
            event_type,
            from_version: version,
            reason,
        })?;
        version += 1;
    }
    if version > current {
        return Err(UpcastError::UnknownVersion {
            event_type,
            version,
            current,
        });
    }
    Ok(payload)
}

/// Upcasts a stored payload and parses it into the typed event.
pub fn decode(event_type: EventType, version: u32, payload: Value) -> Result<Event, UpcastError> {
    let payload = upcast(event_type, version, payload)?;
    Event::from_payload(event_type, payload).map_err(|e| UpcastError::Invalid {
        event_type,
        version: event_type.current_version(),
        reason: e.to_string(),
    })
}

/// `MessageReceived` v0 is a row of the old Flask bot's `conversations` table:
/// `{"user_message", "intent", "emotion", "product"}`. v1 names the text `text`, classifies into
/// salesbot's intents, turns the emotion into a sentiment and the product name into a catalog id
/// (lowercase, words joined by `-`).
fn message_received_v0_to_v1(v0: Value) -> Result<Value, String> {
    let Value::Object(v0) = v0 else {
        return Err("payload is not an object".into());
    };
    let text = match v0.get("user_message") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(_) => return Err("`user_message` is not a string".into()),
    };
    let str_field =
        |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let intent = match str_field(&v0, "intent").as_deref() {
        Some("greeting") => "greeting",
        Some("browse" | "browsing" | "product_list") => "browse",
        Some("product_info" | "product_inquiry") => "product_info",
        Some("price" | "price_inquiry") => "price_inquiry",
        Some("specs" | "specs_inquiry") => "specs_request",
        Some("purchase" | "buy" | "purchase_intent") => "purchase",
        Some("thanks") => "thanks",
        Some("goodbye") => "goodbye",
        _ => "unknown",
    };
    let sentiment = match str_field(&v0, "emotion").as_deref() {
        Some("happy" | "excited" | "grateful" | "positive") => "positive",
        Some("angry" | "frustrated" | "sad" | "negative") => "negative",
        _ => "neutral",
    };
    let product_id = str_field(&v0, "product")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.split_whitespace()
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join("-")
        });
    let kind = if text.is_null() { "other" } else { "text" };
    Ok(json!({
        "kind": kind,
        "message_id": null,
        "text": text,
        "intent": intent,
        "sentiment": sentiment,
        "product_id": product_id,
    }))
}

/// `MessageReceived` v2 records the language the message was read in (unknown before: `null`)
/// and who understood it (before v2 only the rules could: `rules`, or `nobody` for `unknown`
/// and media).
fn message_received_v1_to_v2(v1: Value) -> Result<Value, String> {
    let Value::Object(mut v1) = v1 else {
        return Err("payload is not an object".into());
    };
    let understood = match v1.get("intent").and_then(Value::as_str) {
        None | Some("unknown" | "non_text") => "nobody",
        Some(_) => "rules",
    };
    v1.insert("language".into(), Value::Null);
    v1.insert("understood_by".into(), json!(understood));
    Ok(Value::Object(v1))
}

/// `PreferenceStated` v2 adds the least budget and the need; v1 stated neither.
fn preference_stated_v1_to_v2(v1: Value) -> Result<Value, String> {
    let Value::Object(mut v1) = v1 else {
        return Err("payload is not an object".into());
    };
    v1.insert("budget_min".into(), Value::Null);
    v1.insert("use_case".into(), Value::Null);
    Ok(Value::Object(v1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{
        Intent, MessageKind, MessageReceived, PreferenceStated, Sentiment, UnderstoodBy,
    };
    use crate::money::{Currency, Money};

    #[test]
    fn the_registered_chain_is_whole() {
        check_chain(UPCASTERS).expect("chain is whole");
    }

    #[test]
    fn a_stored_v0_message_reads_as_v1() {
        let v0 = json!({
            "user_message": "how much is the iPhone 15?",
            "bot_response": "It is $799",
            "intent": "price_inquiry",
            "emotion": "excited",
            "product": "iPhone 15"
        });
        let event = decode(EventType::MessageReceived, 0, v0).expect("upcasts");
        assert_eq!(
            event,
            Event::MessageReceived(MessageReceived {
                kind: MessageKind::Text,
                message_id: None,
                text: Some("how much is the iPhone 15?".into()),
                intent: Intent::PriceInquiry,
                sentiment: Sentiment::Positive,
                product_id: Some("iphone-15".into()),
                language: None,
                understood_by: UnderstoodBy::Rules,
            })
        );
        assert_eq!(
            personal_fields(EventType::MessageReceived, 0).expect("known"),
            &["user_message", "bot_response"]
        );
        let v0 = json!({"user_message": "hi", "intent": "greeting", "secret": "x"});
        assert!(check_fields(EventType::MessageReceived, 0, &v0).is_err());
    }

    #[test]
    fn v1_messages_and_preferences_read_as_v2() {
        let v1 = json!({"kind": "text", "message_id": "7", "text": "hola", "intent": "greeting",
            "sentiment": "neutral", "product_id": null});
        let Event::MessageReceived(m) = decode(EventType::MessageReceived, 1, v1).expect("upcasts")
        else {
            panic!("wrong type")
        };
        assert_eq!((m.language, m.understood_by), (None, UnderstoodBy::Rules));
        let v1 = json!({"kind": "sticker", "message_id": null, "text": null, "intent": "non_text",
            "sentiment": "neutral", "product_id": null});
        let Event::MessageReceived(m) = decode(EventType::MessageReceived, 1, v1).expect("upcasts")
        else {
            panic!("wrong type")
        };
        assert_eq!(m.understood_by, UnderstoodBy::Nobody);
        // v0 goes through v1 to v2.
        let v0 = json!({"user_message": "??", "intent": "weird", "emotion": null});
        let Event::MessageReceived(m) = decode(EventType::MessageReceived, 0, v0).expect("upcasts")
        else {
            panic!("wrong type")
        };
        assert_eq!(
            (m.intent, m.understood_by),
            (Intent::Unknown, UnderstoodBy::Nobody)
        );

        let usd = Currency::new("USD").expect("valid");
        let v1 = json!({"budget": {"amount_minor": 50_000, "currency": "USD"}, "category": null});
        let event = decode(EventType::PreferenceStated, 1, v1).expect("upcasts");
        assert_eq!(
            event,
            Event::PreferenceStated(PreferenceStated {
                budget: Some(Money::new(50_000, usd)),
                category: None,
                budget_min: None,
                use_case: None,
            })
        );
    }

    /// A reader one release behind the writer reads intents and "understood by" values it does
    /// not know as `unknown` and `nobody` instead of stopping.
    #[test]
    fn values_from_a_newer_release_are_tolerated() {
        let v2 = json!({"kind": "text", "message_id": null, "text": "x", "intent": "haggle",
            "sentiment": "neutral", "product_id": null, "language": "fr",
            "understood_by": "oracle"});
        let Event::MessageReceived(m) = decode(EventType::MessageReceived, 2, v2).expect("reads")
        else {
            panic!("wrong type")
        };
        assert_eq!(
            (m.intent, m.understood_by),
            (Intent::Unknown, UnderstoodBy::Nobody)
        );
    }

    #[test]
    fn an_erased_v0_message_still_reads() {
        let v0 = json!({"user_message": null, "intent": "greeting", "emotion": null});
        let event = decode(EventType::MessageReceived, 0, v0).expect("upcasts");
        let Event::MessageReceived(m) = event else {
            panic!("wrong type")
        };
        assert_eq!(m.text, None);
        assert_eq!(m.intent, Intent::Greeting);
    }

    #[test]
    fn unknown_and_future_versions_are_typed_errors() {
        assert!(matches!(
            decode(EventType::OrderPlaced, 0, json!({})),
            Err(UpcastError::UnknownVersion { version: 0, .. })
        ));
        assert!(matches!(
            decode(EventType::MessageReceived, 9, json!({})),
            Err(UpcastError::UnknownVersion { version: 9, .. })
        ));
        assert!(matches!(
            decode(EventType::SpecsRequested, 1, json!({"product": 1})),
            Err(UpcastError::Invalid { .. })
        ));
    }

    #[test]
    fn broken_chains_are_found() {
        fn id(v: Value) -> Result<Value, String> {
            Ok(v)
        }
        let future = Upcaster {
            event_type: EventType::SpecsRequested,
            from_version: 1,
            fields: &[],
            personal_fields: &[],
            upcast: id,
        };
        assert!(check_chain(&[future]).is_err());
        let twice = [UPCASTERS[0], UPCASTERS[0]];
        assert!(check_chain(&twice).is_err());
    }
}
