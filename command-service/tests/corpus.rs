//! Scores the bot's understanding on the conversation corpus (`tests/corpus/`, described in its
//! README): every exchange is replayed through the engine the command service runs, on the demo
//! catalog, and counts only if everything it states matches. The accuracy must not fall below
//! the floors in `tests/corpus/floor.toml`.
//!
//! `CORPUS_HELDOUT=1` scores the held-out third instead, printing only totals; `CORPUS_SHOW=1`
//! prints every failing development exchange with what differed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use command_service::catalog::Catalog;
use command_service::engine::{ConversationState, Decision, Inbound, decide};
use events_schema::{Channel, Event, MessageKind, RecordedEvent, StreamId};
use serde::Deserialize;
use uuid::Uuid;

const LANGUAGES: [&str; 4] = ["en", "es", "de", "ru"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    exchange: Vec<Exchange>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Exchange {
    id: String,
    #[serde(default)]
    before: Vec<String>,
    language_code: Option<String>,
    message: String,
    intent: String,
    #[serde(default)]
    products: Vec<String>,
    quantity: Option<u32>,
    #[serde(default)]
    events: Vec<String>,
    category: Option<String>,
    budget: Option<f64>,
    budget_min: Option<f64>,
    #[serde(rename = "use")]
    use_: Option<String>,
    topic: Option<String>,
    clarifies: Option<Vec<String>>,
    language: Option<String>,
    #[allow(dead_code, reason = "for readers of the corpus")]
    note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Floor {
    overall: f64,
    languages: BTreeMap<String, f64>,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")
}

fn load(dir: &Path, language: &str) -> Vec<Exchange> {
    let path = dir.join(format!("{language}.toml"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str::<File>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .exchange
}

/// One shopper's conversation, folded through the engine as the command service would.
struct Chat<'a> {
    catalog: &'a Catalog,
    state: ConversationState,
    now: DateTime<Utc>,
    language: Option<String>,
}

impl Chat<'_> {
    fn send(&mut self, text: &str) -> Decision {
        let inbound = Inbound {
            channel: Channel::Web,
            kind: MessageKind::Text,
            text: Some(text.to_owned()),
            message_id: None,
            chat_id: None,
            username: None,
            display_name: None,
            language: self.language.clone(),
            at: self.now,
            payments: false,
        };
        let decision =
            decide(&self.state, &inbound, self.catalog, "ord-corpus").expect("text is answered");
        for event in &decision.events {
            let version = self.state.version + 1;
            self.state.apply(&RecordedEvent {
                global_position: version,
                event_id: Uuid::now_v7(),
                stream_id: StreamId::new("user-web:corpus").expect("valid"),
                stream_version: version,
                event: event.clone(),
                schema_version: event.event_type().current_version(),
                occurred_at: self.now,
                recorded_at: self.now,
                correlation_id: Uuid::nil(),
                causation_id: None,
                erased: false,
            });
        }
        self.now += Duration::minutes(1);
        decision
    }
}

/// What the engine made of a message, in the corpus's terms.
#[derive(Debug)]
struct Observed {
    intent: String,
    products: BTreeSet<String>,
    events: Vec<String>,
    quantity: Option<u32>,
    category: Option<String>,
    budget: Option<i64>,
    budget_min: Option<i64>,
    use_case: Option<String>,
    topics: Vec<String>,
    offered: BTreeSet<String>,
    language: String,
}

fn observe(d: &Decision) -> Observed {
    let mut products = BTreeSet::new();
    let mut events = Vec::new();
    let mut intent = String::new();
    let mut language = String::new();
    let mut topics = Vec::new();
    // For a cart line's change, the quantity is the line's new one ("one more" of 1 is 2).
    let mut line_to = None;
    for event in &d.events {
        match event {
            Event::MessageReceived(m) => {
                intent = m.intent.as_str().to_owned();
                products.extend(m.product_id.clone());
                language = m.language.clone().unwrap_or_default();
            }
            Event::ShopQuestionAsked(q) => topics.push(q.topic.clone()),
            Event::CartItemAdded(e) => {
                products.insert(e.product_id.clone());
            }
            Event::CartItemRemoved(e) => {
                products.insert(e.product_id.clone());
            }
            Event::CartQuantityChanged(e) => {
                products.insert(e.product_id.clone());
                line_to = Some(e.to);
            }
            Event::ProductViewed(e) => {
                products.insert(e.product_id.clone());
            }
            Event::PriceInquired(e) => {
                products.insert(e.product_id.clone());
            }
            Event::SpecsRequested(e) => {
                products.insert(e.product_id.clone());
            }
            Event::PurchaseIntended(e) => {
                products.insert(e.product_id.clone());
            }
            Event::PurchaseQuantityChanged(e) => {
                products.insert(e.product_id.clone());
            }
            Event::OrderPlaced(e) => products.extend(e.lines.iter().map(|l| l.product_id.clone())),
            Event::InvoiceIssued(e) => {
                products.extend(e.lines.iter().map(|l| l.product_id.clone()))
            }
            _ => {}
        }
        if !matches!(
            event,
            Event::ConversationStarted(_)
                | Event::MessageReceived(_)
                | Event::BotReplied(_)
                | Event::ProductViewed(_)
        ) {
            events.push(event.event_type().as_str().to_owned());
        }
    }
    events.sort();
    Observed {
        intent,
        products,
        events,
        quantity: line_to.or(d.understood.quantity),
        category: d.understood.category.clone(),
        budget: d.understood.budget.as_ref().map(|b| b.amount_minor),
        budget_min: d.understood.budget_min.as_ref().map(|b| b.amount_minor),
        use_case: d.understood.use_case.clone(),
        topics,
        offered: d.reply.products.iter().cloned().collect(),
        language,
    }
}

/// What differs between the exchange's expectations and what was observed; empty when it
/// scores.
fn differences(x: &Exchange, file_language: &str, o: &Observed) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |what: &str, expected: String, got: String| {
        if expected != got {
            out.push(format!("{what}: expected {expected}, got {got}"));
        }
    };
    check("intent", x.intent.clone(), o.intent.clone());
    let expected: BTreeSet<String> = x.products.iter().cloned().collect();
    check(
        "products",
        format!("{expected:?}"),
        format!("{:?}", o.products),
    );
    let mut events = x.events.clone();
    events.sort();
    check("events", format!("{events:?}"), format!("{:?}", o.events));
    if let Some(q) = x.quantity {
        check(
            "quantity",
            format!("{:?}", Some(q)),
            format!("{:?}", o.quantity),
        );
    }
    if let Some(c) = &x.category {
        check(
            "category",
            format!("{:?}", Some(c)),
            format!("{:?}", o.category),
        );
    }
    if let Some(b) = x.budget {
        let cents = (b * 100.0).round() as i64;
        check(
            "budget",
            format!("{:?}", Some(cents)),
            format!("{:?}", o.budget),
        );
    }
    if let Some(b) = x.budget_min {
        let cents = (b * 100.0).round() as i64;
        check(
            "budget_min",
            format!("{:?}", Some(cents)),
            format!("{:?}", o.budget_min),
        );
    }
    if let Some(u) = &x.use_ {
        check("use", format!("{:?}", Some(u)), format!("{:?}", o.use_case));
    }
    if let Some(t) = &x.topic {
        check("topic", format!("{:?}", [t]), format!("{:?}", o.topics));
    }
    if let Some(c) = &x.clarifies {
        let expected: BTreeSet<String> = c.iter().cloned().collect();
        check(
            "clarifies",
            format!("{expected:?}"),
            format!("{:?}", o.offered),
        );
    }
    let language = x.language.as_deref().unwrap_or(file_language);
    check("language", language.to_owned(), o.language.clone());
    out
}

#[derive(Default)]
struct Tally {
    passed: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        self.total += 1;
        self.passed += usize::from(ok);
    }

    fn share(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        self.passed as f64 / self.total as f64
    }

    fn show(&self) -> String {
        format!(
            "{:5.1} % ({}/{})",
            100.0 * self.share(),
            self.passed,
            self.total
        )
    }
}

#[test]
fn the_engine_understands_the_corpus_at_least_as_well_as_the_floor() {
    let heldout = std::env::var_os("CORPUS_HELDOUT").is_some();
    let show = std::env::var_os("CORPUS_SHOW").is_some() && !heldout;
    let dir = if heldout {
        corpus_dir().join("heldout")
    } else {
        corpus_dir()
    };
    let catalog = Catalog::demo().expect("the demo catalog loads");
    let start = Utc
        .with_ymd_and_hms(2026, 11, 30, 10, 0, 0)
        .single()
        .expect("valid");

    let mut overall = Tally::default();
    // The intent alone, as a second figure: how far the rules get before the details.
    let mut intents = Tally::default();
    let mut by_language: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut by_intent: BTreeMap<String, Tally> = BTreeMap::new();
    let mut ids = BTreeSet::new();
    for language in LANGUAGES {
        let exchanges = load(&dir, language);
        for x in &exchanges {
            assert!(ids.insert(x.id.clone()), "{} appears twice", x.id);
            let mut chat = Chat {
                catalog: &catalog,
                state: ConversationState::default(),
                now: start,
                language: x.language_code.clone(),
            };
            let trace = std::env::var("CORPUS_ID").is_ok_and(|id| id == x.id);
            for earlier in &x.before {
                let d = chat.send(earlier);
                if trace {
                    println!("> {earlier}\n{}\n  {:?}", d.reply.text, d.understood);
                }
            }
            let decision = chat.send(&x.message);
            if trace {
                println!(
                    "> {}\n{}\n  {:?}",
                    x.message, decision.reply.text, decision.understood
                );
            }
            let observed = observe(&decision);
            let diff = differences(x, language, &observed);
            overall.add(diff.is_empty());
            intents.add(x.intent == observed.intent);
            by_language
                .entry(language)
                .or_default()
                .add(diff.is_empty());
            by_intent
                .entry(x.intent.clone())
                .or_default()
                .add(diff.is_empty());
            if show && !diff.is_empty() {
                println!("{} {:?}\n    {}", x.id, x.message, diff.join("\n    "));
            }
        }
    }

    let set = if heldout { "held-out" } else { "development" };
    println!("corpus, {set} set: {}", overall.show());
    println!("  the intent alone: {}", intents.show());
    for (language, tally) in &by_language {
        println!("  {language}: {}", tally.show());
    }
    for (intent, tally) in &by_intent {
        println!("  {intent}: {}", tally.show());
    }
    if heldout {
        return;
    }

    let floor_path = corpus_dir().join("floor.toml");
    let floor: Floor = toml::from_str(
        &std::fs::read_to_string(&floor_path).expect("tests/corpus/floor.toml is readable"),
    )
    .expect("floor.toml parses");
    assert!(
        overall.share() >= floor.overall,
        "overall accuracy {} is below the floor {:.3}",
        overall.show(),
        floor.overall
    );
    for (language, tally) in &by_language {
        let min = floor.languages.get(*language).copied().unwrap_or(0.0);
        assert!(
            tally.share() >= min,
            "{language} accuracy {} is below the floor {min:.3}",
            tally.show()
        );
    }
}
