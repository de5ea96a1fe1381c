//! Deciding: given what the bot remembers of a shopper and their new message, which events
//! happened and what to answer. A pure function (no clock, no I/O, no randomness), so every
//! conversation can be replayed and tested given/when/then.

use chrono::{DateTime, Utc};
use events_schema::{
    BotReplied, Channel, ConversationStarted, Event, Intent, InvoiceIssued, MessageKind,
    MessageReceived, Money, OrderLine, OrderPlaced, PaymentMethod, PreferenceStated, PriceInquired,
    ProductViewed, PurchaseIntended, ReplyButton, SpecsRequested, ViewSource,
};
use uuid::Uuid;

use super::reply::{button, list_line, money, product_card};
use super::state::{Awaiting, ConversationState};
use super::understand::{Reference, Understanding, sentiment, understand};
use crate::catalog::{Catalog, Product};

/// Silence after which a message starts a new session.
pub const SESSION_GAP: chrono::Duration = chrono::Duration::minutes(30);
/// Products listed in one reply at most.
const LIST_LIMIT: usize = 6;

/// One inbound message, from any channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub channel: Channel,
    pub kind: MessageKind,
    /// The text, or for a button press the button's data.
    pub text: Option<String>,
    pub message_id: Option<String>,
    /// Where a Telegram reply goes (the private chat or the group).
    pub chat_id: Option<i64>,
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub language: Option<String>,
    pub at: DateTime<Utc>,
    /// Confirmed purchases are paid by invoice (Telegram Payments) rather than confirmed in
    /// chat.
    pub payments: bool,
}

/// The bot's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub text: String,
    pub buttons: Vec<ReplyButton>,
    /// Products offered, in order.
    pub products: Vec<String>,
}

/// What happened: the events to append (the reply's `BotReplied` last) and the reply.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub reply: Reply,
    /// What the rules made of the message (after the conversation so far), for the corpus and
    /// the tests to check beyond the events.
    pub understood: Understanding,
}

/// Decides the answer to `inbound`. `None` means the message is to be ignored on purpose and
/// nothing is appended (a button press with data the bot never produces).
pub fn decide(
    state: &ConversationState,
    inbound: &Inbound,
    catalog: &Catalog,
    order_id: &str,
) -> Option<Decision> {
    let mut events = Vec::new();
    let new_session = state
        .last_activity
        .is_none_or(|last| inbound.at.signed_duration_since(last) > SESSION_GAP);
    if new_session {
        events.push(Event::ConversationStarted(ConversationStarted {
            channel: inbound.channel,
            username: inbound.username.clone(),
            display_name: inbound.display_name.clone(),
            language: inbound.language.clone(),
            returning: state.sessions > 0,
        }));
    }
    let name = inbound
        .display_name
        .clone()
        .or_else(|| state.display_name.clone());
    let text = inbound
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());

    let mut understood = match (inbound.kind, text) {
        (MessageKind::Button, Some(data)) => button_meaning(data, catalog, state)?,
        // A purchase left unconfirmed in an earlier session is not confirmed by today's "ok".
        (_, Some(text)) => understand(text, catalog, state.pending.is_some() && !new_session),
        (_, None) => Understanding {
            intent: Intent::NonText,
            products: Vec::new(),
            reference: None,
            quantity: None,
            budget: None,
            category: None,
            states_preference: false,
            affirmative: false,
        },
    };
    if let Some(awaiting) = &state.awaiting {
        answer_to_question(&mut understood, awaiting);
    }
    let sentiment = text.map_or(events_schema::Sentiment::Neutral, sentiment);
    let ctx = Ctx {
        state,
        catalog,
        name: name.as_deref(),
        new_session,
        invoice_to: inbound.payments.then_some(inbound.chat_id),
    };
    let (mut more, reply) = ctx.respond(&understood, order_id);
    let product_id = more
        .iter()
        .find_map(product_of)
        .or_else(|| understood.products.first().cloned());
    events.push(Event::MessageReceived(MessageReceived {
        kind: inbound.kind,
        message_id: inbound.message_id.clone(),
        // What the user wrote, as they wrote it: the trimmed text is only for understanding.
        text: inbound.text.clone(),
        intent: understood.intent,
        sentiment,
        product_id,
        // The rules speak English only so far.
        language: Some("en".to_owned()),
        understood_by: match understood.intent {
            Intent::Unknown | Intent::NonText => events_schema::UnderstoodBy::Nobody,
            _ => events_schema::UnderstoodBy::Rules,
        },
    }));
    events.append(&mut more);
    events.push(Event::BotReplied(BotReplied {
        channel: inbound.channel,
        in_reply_to: None,
        chat_id: inbound.chat_id,
        text: Some(reply.text.clone()),
        buttons: reply.buttons.clone(),
        products: reply.products.clone(),
    }));
    Some(Decision {
        events,
        reply,
        understood,
    })
}

/// A deterministic order id for the order placed at `stream_version` of `stream`.
pub fn order_id(stream: &str, stream_version: i64) -> String {
    let id = Uuid::new_v5(
        &Uuid::NAMESPACE_OID,
        format!("order:{stream}:{stream_version}").as_bytes(),
    );
    format!("ord-{}", &id.simple().to_string()[..10])
}

fn product_of(event: &Event) -> Option<String> {
    match event {
        Event::ProductViewed(e) => Some(e.product_id.clone()),
        Event::PriceInquired(e) => Some(e.product_id.clone()),
        Event::SpecsRequested(e) => Some(e.product_id.clone()),
        Event::PurchaseIntended(e) => Some(e.product_id.clone()),
        Event::OrderPlaced(e) => e.lines.first().map(|l| l.product_id.clone()),
        _ => None,
    }
}

/// The meaning of a button the bot produced; `None` for data it never produces.
fn button_meaning(
    data: &str,
    catalog: &Catalog,
    state: &ConversationState,
) -> Option<Understanding> {
    let known = |id: &str| catalog.product(id).map(|p| vec![p.id.clone()]);
    let (intent, products, quantity, category) = match data.split(':').collect::<Vec<_>>()[..] {
        ["view", id] => (Intent::ProductInfo, known(id)?, None, None),
        ["price", id] | ["pick", "price", id] => (Intent::PriceInquiry, known(id)?, None, None),
        ["specs", id] | ["pick", "specs", id] => (Intent::SpecsRequest, known(id)?, None, None),
        ["buy", id] => (Intent::Purchase, known(id)?, Some(1), None),
        ["pick", qty, id] if qty.starts_with("buy") => {
            let q = qty
                .trim_start_matches("buy")
                .parse::<u32>()
                .ok()
                .filter(|q| (1..=99).contains(q))?;
            (Intent::Purchase, known(id)?, Some(q), None)
        }
        ["browse", category] => {
            catalog.category(category)?;
            (Intent::Browse, Vec::new(), None, Some(category.to_owned()))
        }
        ["confirm"] if state.pending.is_some() => (Intent::Confirm, Vec::new(), None, None),
        ["cancel"] if state.pending.is_some() => (Intent::Cancel, Vec::new(), None, None),
        _ => return None,
    };
    Some(Understanding {
        intent,
        products,
        reference: None,
        quantity,
        budget: None,
        category,
        states_preference: false,
        affirmative: false,
    })
}

/// After "which one do you mean?", a message naming or pointing at a product answers it.
fn answer_to_question(u: &mut Understanding, awaiting: &Awaiting) {
    let points = !u.products.is_empty() || u.reference.is_some_and(|r| r != Reference::It);
    let neutral = matches!(
        u.intent,
        Intent::ProductInfo | Intent::Unknown | Intent::Confirm
    );
    if let Awaiting::Purchase {
        quantity,
        product: Some(product),
    } = awaiting
        && u.affirmative
        && !points
        && neutral
    {
        // "Would you like 2?" — "yes".
        u.intent = Intent::Purchase;
        u.products = vec![product.clone()];
        u.quantity = Some(*quantity);
        return;
    }
    if points && neutral {
        match awaiting {
            Awaiting::Price => u.intent = Intent::PriceInquiry,
            Awaiting::Specs => u.intent = Intent::SpecsRequest,
            Awaiting::Purchase { quantity, .. } => {
                u.intent = Intent::Purchase;
                u.quantity = u.quantity.or(Some(*quantity));
            }
        }
    }
}

enum Resolved<'a> {
    One(&'a Product),
    Ambiguous(Vec<&'a Product>),
    Nothing,
}

struct Ctx<'a> {
    state: &'a ConversationState,
    catalog: &'a Catalog,
    name: Option<&'a str>,
    new_session: bool,
    /// `Some(chat)` when purchases are paid by an invoice sent to that chat.
    invoice_to: Option<Option<i64>>,
}

impl<'a> Ctx<'a> {
    fn product(&self, id: &str) -> Option<&'a Product> {
        self.catalog.product(id)
    }

    fn offered(&self) -> Vec<&'a Product> {
        self.state
            .offered
            .iter()
            .filter_map(|id| self.product(id))
            .collect()
    }

    /// Which product the message is about.
    fn resolve(&self, u: &Understanding) -> Resolved<'a> {
        let named: Vec<&Product> = u
            .products
            .iter()
            .filter_map(|id| self.product(id))
            .collect();
        match named.len() {
            1 => return Resolved::One(named[0]),
            n if n > 1 => return Resolved::Ambiguous(named),
            _ => {}
        }
        let offered = self.offered();
        let focus = self.state.focus.as_deref().and_then(|id| self.product(id));
        let by_price = |cheapest: bool| {
            let pool: Vec<&Product> = if offered.len() >= 2 {
                offered.clone()
            } else {
                offered.iter().copied().chain(focus).collect()
            };
            let pick = if cheapest {
                pool.into_iter().min_by_key(|p| p.price.amount_minor)
            } else {
                pool.into_iter().max_by_key(|p| p.price.amount_minor)
            };
            pick.map_or(Resolved::Nothing, Resolved::One)
        };
        match u.reference {
            Some(Reference::Position(n)) => offered
                .get(n)
                .copied()
                .map_or(Resolved::Nothing, Resolved::One),
            Some(Reference::Last) => offered
                .last()
                .copied()
                .map_or(Resolved::Nothing, Resolved::One),
            Some(Reference::Cheaper) => by_price(true),
            Some(Reference::Pricier) => by_price(false),
            Some(Reference::It) | None => match focus {
                Some(p) if self.state.focus_latest || offered.is_empty() => Resolved::One(p),
                _ if offered.len() == 1 => Resolved::One(offered[0]),
                _ if offered.len() > 1 => Resolved::Ambiguous(offered),
                Some(p) => Resolved::One(p),
                None => Resolved::Nothing,
            },
        }
    }

    fn respond(&self, u: &Understanding, order_id: &str) -> (Vec<Event>, Reply) {
        let mut events = Vec::new();
        if u.states_preference {
            let category = u
                .category
                .clone()
                .filter(|c| Some(c) != self.state.category.as_ref());
            let budget = u
                .budget
                .clone()
                .filter(|b| Some(b) != self.state.budget.as_ref());
            if category.is_some() || budget.is_some() {
                events.push(Event::PreferenceStated(PreferenceStated {
                    budget,
                    category,
                    budget_min: None,
                    use_case: None,
                }));
            }
        }
        let reply = match u.intent {
            Intent::Greeting => self.greeting(),
            Intent::Help => self.help(),
            Intent::Browse | Intent::Preference => self.browse(u),
            Intent::ProductInfo => self.about_product(u, &mut events, Show::Card),
            Intent::PriceInquiry => self.about_product(u, &mut events, Show::Price),
            Intent::SpecsRequest => self.about_product(u, &mut events, Show::Specs),
            Intent::Compare => self.compare(u, &mut events),
            Intent::Purchase => self.purchase(u, &mut events),
            Intent::Confirm => self.confirm(&mut events, order_id),
            Intent::Cancel => self.cancel(),
            Intent::Thanks => plain("You're welcome! Anything else I can help you find?"),
            Intent::Goodbye => plain("Bye! Come back any time, I'll remember where we left off."),
            Intent::NonText => plain(
                "I can only read text for now. Tell me what you're looking for, e.g. \"show me phones\".",
            ),
            // Not produced by these rules yet.
            Intent::Unknown
            | Intent::CartAdd
            | Intent::CartRemove
            | Intent::CartUpdate
            | Intent::CartView
            | Intent::Checkout
            | Intent::ShopQuestion => self.fallback(),
        };
        (events, reply)
    }

    fn category_buttons(&self) -> Vec<ReplyButton> {
        self.catalog
            .categories()
            .iter()
            .map(|c| button(&c.name, &format!("browse:{}", c.id)))
            .collect()
    }

    fn greeting(&self) -> Reply {
        let hello = match (self.name, self.new_session && self.state.sessions > 0) {
            (Some(n), true) => format!("Welcome back, {n}!"),
            (Some(n), false) => format!("Hi {n}!"),
            (None, true) => "Welcome back!".to_owned(),
            (None, false) => "Hi!".to_owned(),
        };
        let categories: Vec<&str> = self
            .catalog
            .categories()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        Reply {
            text: format!(
                "{hello} I'm the shop's assistant. I can show you our {} , tell you prices and specs, compare two products and take your order. What are you looking for?",
                categories.join(", ")
            )
            .replace(" ,", ","),
            buttons: self.category_buttons(),
            products: Vec::new(),
        }
    }

    fn help(&self) -> Reply {
        Reply {
            text: "Here's what I can do:\n• browse: \"what phones do you have?\", \"laptops under $800\"\n• prices and specs: \"how much is it?\", \"specs of the second one\"\n• compare: \"compare the first and the second\"\n• buy: \"I'll take two\", then confirm\nAsk away!".to_owned(),
            buttons: self.category_buttons(),
            products: Vec::new(),
        }
    }

    fn fallback(&self) -> Reply {
        Reply {
            text: "Sorry, I didn't get that. I can show products (\"what laptops do you have?\"), tell prices and specs, compare two products, and take your order (\"I'll take it\").".to_owned(),
            buttons: self.category_buttons(),
            products: Vec::new(),
        }
    }

    fn browse(&self, u: &Understanding) -> Reply {
        let category = u
            .category
            .clone()
            .or_else(|| self.state.category.clone().filter(|_| u.budget.is_some()));
        let budget = u.budget.clone().or_else(|| {
            self.state
                .budget
                .clone()
                .filter(|_| u.category.is_none() || u.category == self.state.category)
        });
        let Some(category) = category.and_then(|c| self.catalog.category(&c)) else {
            let lines: Vec<String> = self
                .catalog
                .categories()
                .iter()
                .map(|c| format!("• {} ({})", c.name, self.catalog.in_category(&c.id).count()))
                .collect();
            return Reply {
                text: format!(
                    "We have:\n{}\nWhich would you like to see?",
                    lines.join("\n")
                ),
                buttons: self.category_buttons(),
                products: Vec::new(),
            };
        };
        let mut all: Vec<&Product> = self.catalog.in_category(&category.id).collect();
        all.sort_by_key(|p| p.price.amount_minor);
        let fitting: Vec<&Product> = all
            .iter()
            .copied()
            .filter(|p| {
                budget
                    .as_ref()
                    .is_none_or(|b| p.price.amount_minor <= b.amount_minor)
            })
            .take(LIST_LIMIT)
            .collect();
        let name = category.name.to_lowercase();
        if fitting.is_empty() {
            let Some(cheapest) = all.first() else {
                return plain(&format!("We have no {name} at the moment."));
            };
            let limit = budget.as_ref().map(money).unwrap_or_default();
            return Reply {
                text: format!(
                    "Nothing in {name} under {limit}, sorry. The most affordable is the {} at {}.",
                    cheapest.name,
                    money(&cheapest.price)
                ),
                buttons: vec![button(
                    &format!("View {}", cheapest.name),
                    &format!("view:{}", cheapest.id),
                )],
                products: vec![cheapest.id.clone()],
            };
        }
        let heading = match &budget {
            Some(b) => format!("Here are our {name} under {}:", money(b)),
            None => format!("Here are our {name}:"),
        };
        let lines: Vec<String> = fitting
            .iter()
            .enumerate()
            .map(|(i, p)| list_line(i + 1, p))
            .collect();
        Reply {
            text: format!(
                "{heading}\n{}\nAsk me about any of them, e.g. \"how much is the second one?\"",
                lines.join("\n")
            ),
            buttons: fitting
                .iter()
                .map(|p| button(&p.name, &format!("view:{}", p.id)))
                .collect(),
            products: fitting.iter().map(|p| p.id.clone()).collect(),
        }
    }

    fn which_one(&self, candidates: &[&Product], what: &str, question: &str) -> Reply {
        let lines: Vec<String> = candidates
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}. {}", i + 1, p.name))
            .collect();
        Reply {
            text: format!("{question}\n{}", lines.join("\n")),
            buttons: candidates
                .iter()
                .map(|p| button(&p.name, &format!("pick:{what}:{}", p.id)))
                .collect(),
            products: candidates.iter().map(|p| p.id.clone()).collect(),
        }
    }

    fn about_product(&self, u: &Understanding, events: &mut Vec<Event>, show: Show) -> Reply {
        let product = match self.resolve(u) {
            Resolved::One(p) => p,
            Resolved::Ambiguous(candidates) => {
                let (what, question) = match show {
                    Show::Price => (
                        "price",
                        "Which one do you mean? Here's what we talked about:",
                    ),
                    Show::Specs => ("specs", "The specs of which one?"),
                    Show::Card => ("price", "Which one would you like to know about?"),
                };
                return self.which_one(&candidates, what, question);
            }
            Resolved::Nothing => {
                return Reply {
                    text: "Which product do you mean? Tell me its name, or ask \"what phones do you have?\"".to_owned(),
                    buttons: self.category_buttons(),
                    products: Vec::new(),
                };
            }
        };
        let source = if !u.products.is_empty() {
            ViewSource::Mention
        } else {
            ViewSource::Reference
        };
        let buttons = vec![
            button("Price", &format!("price:{}", product.id)),
            button("Specs", &format!("specs:{}", product.id)),
            button("Buy", &format!("buy:{}", product.id)),
        ];
        let text = match show {
            Show::Card => {
                events.push(Event::ProductViewed(ProductViewed {
                    product_id: product.id.clone(),
                    source: if u.products.is_empty() && u.reference.is_none() {
                        ViewSource::Button
                    } else {
                        source
                    },
                }));
                product_card(product)
            }
            Show::Price => {
                if self.state.focus.as_deref() != Some(&product.id) {
                    events.push(Event::ProductViewed(ProductViewed {
                        product_id: product.id.clone(),
                        source,
                    }));
                }
                events.push(Event::PriceInquired(PriceInquired {
                    product_id: product.id.clone(),
                    price: product.price.clone(),
                }));
                let mut text = format!(
                    "The {} costs {}. {}",
                    product.name,
                    money(&product.price),
                    stock_line(product)
                );
                if let Some(b) = self
                    .state
                    .budget
                    .as_ref()
                    .filter(|b| product.price.amount_minor > b.amount_minor)
                {
                    text.push_str(&format!(" That's above your {} budget.", money(b)));
                }
                text
            }
            Show::Specs => {
                if self.state.focus.as_deref() != Some(&product.id) {
                    events.push(Event::ProductViewed(ProductViewed {
                        product_id: product.id.clone(),
                        source,
                    }));
                }
                events.push(Event::SpecsRequested(SpecsRequested {
                    product_id: product.id.clone(),
                }));
                let specs: Vec<String> = product
                    .specs
                    .iter()
                    .map(|s| format!("• {}: {}", s.name, s.value))
                    .collect();
                format!(
                    "{} ({}):\n{}",
                    product.name,
                    money(&product.price),
                    specs.join("\n")
                )
            }
        };
        Reply {
            text,
            buttons,
            products: vec![product.id.clone()],
        }
    }

    fn compare(&self, u: &Understanding, events: &mut Vec<Event>) -> Reply {
        let mut pair: Vec<&Product> = u
            .products
            .iter()
            .filter_map(|id| self.product(id))
            .collect();
        if pair.len() < 2 {
            let extra = self
                .state
                .focus
                .as_deref()
                .and_then(|id| self.product(id))
                .into_iter()
                .chain(self.offered());
            for p in extra {
                if pair.len() >= 2 {
                    break;
                }
                if !pair.iter().any(|q| q.id == p.id) {
                    pair.push(p);
                }
            }
        }
        let [a, b] = pair[..] else {
            if let [a, b, ..] = pair[..] {
                return self.compare_two(a, b, events);
            }
            return plain(
                "Which two products should I compare? E.g. \"compare the first and the second\".",
            );
        };
        self.compare_two(a, b, events)
    }

    fn compare_two(&self, a: &Product, b: &Product, events: &mut Vec<Event>) -> Reply {
        for p in [a, b] {
            events.push(Event::ProductViewed(ProductViewed {
                product_id: p.id.clone(),
                source: ViewSource::Comparison,
            }));
        }
        let mut lines = vec![format!(
            "• price: {} vs {}",
            money(&a.price),
            money(&b.price)
        )];
        for spec in &a.specs {
            if let Some(other) = b.specs.iter().find(|s| s.name == spec.name) {
                lines.push(format!(
                    "• {}: {} vs {}",
                    spec.name, spec.value, other.value
                ));
            }
        }
        let cheaper = if a.price.amount_minor <= b.price.amount_minor {
            a
        } else {
            b
        };
        Reply {
            text: format!(
                "{} vs {}:\n{}\nThe {} is the cheaper one.",
                a.name,
                b.name,
                lines.join("\n"),
                cheaper.name
            ),
            buttons: vec![
                button(&format!("Buy {}", a.name), &format!("buy:{}", a.id)),
                button(&format!("Buy {}", b.name), &format!("buy:{}", b.id)),
            ],
            products: vec![a.id.clone(), b.id.clone()],
        }
    }

    fn purchase(&self, u: &Understanding, events: &mut Vec<Event>) -> Reply {
        let quantity = u.quantity.unwrap_or(1).clamp(1, 99);
        let product = match self.resolve(u) {
            Resolved::One(p) => p,
            Resolved::Ambiguous(candidates) => {
                return self.which_one(
                    &candidates,
                    &format!("buy{quantity}"),
                    "Which one would you like?",
                );
            }
            Resolved::Nothing => {
                return Reply {
                    text: "What would you like to buy? Tell me the product's name, or browse:"
                        .to_owned(),
                    buttons: self.category_buttons(),
                    products: Vec::new(),
                };
            }
        };
        if product.stock == 0 {
            let alternatives: Vec<&Product> = self
                .catalog
                .in_category(&product.category)
                .filter(|p| p.stock > 0 && p.id != product.id)
                .take(3)
                .collect();
            return Reply {
                text: format!(
                    "Sorry, the {} is out of stock.{}",
                    product.name,
                    if alternatives.is_empty() {
                        String::new()
                    } else {
                        " You might like:".to_owned()
                    }
                ),
                buttons: alternatives
                    .iter()
                    .map(|p| button(&p.name, &format!("view:{}", p.id)))
                    .collect(),
                products: alternatives.iter().map(|p| p.id.clone()).collect(),
            };
        }
        if quantity > product.stock {
            return Reply {
                text: format!(
                    "We only have {} of the {} in stock. Would you like {}?",
                    product.stock, product.name, product.stock
                ),
                buttons: vec![button(
                    &format!("Buy {}", product.stock),
                    &format!("pick:buy{}:{}", product.stock, product.id),
                )],
                products: vec![product.id.clone()],
            };
        }
        events.push(Event::PurchaseIntended(PurchaseIntended {
            product_id: product.id.clone(),
            quantity,
            unit_price: product.price.clone(),
        }));
        let total = Money::new(
            product.price.amount_minor * i64::from(quantity),
            product.price.currency.clone(),
        );
        Reply {
            text: format!(
                "{quantity} × {} at {} = {}. Shall I place the order?",
                product.name,
                money(&product.price),
                money(&total)
            ),
            buttons: vec![
                button("Confirm order", "confirm"),
                button("Cancel", "cancel"),
            ],
            products: vec![product.id.clone()],
        }
    }

    fn confirm(&self, events: &mut Vec<Event>, order_id: &str) -> Reply {
        let Some(pending) = &self.state.pending else {
            return plain("There's nothing to confirm yet. Tell me what you'd like to buy.");
        };
        let Some(product) = self.product(&pending.product_id) else {
            return plain(
                "That product is no longer in our catalog, sorry. Can I show you something else?",
            );
        };
        if pending.quantity > product.stock {
            return plain(&format!(
                "Sorry, we now have only {} of the {} in stock.",
                product.stock, product.name
            ));
        }
        let total = Money::new(
            pending.unit_price.amount_minor * i64::from(pending.quantity),
            pending.unit_price.currency.clone(),
        );
        let lines = vec![OrderLine {
            product_id: pending.product_id.clone(),
            quantity: pending.quantity,
            unit_price: pending.unit_price.clone(),
        }];
        if let Some(chat_id) = self.invoice_to {
            events.push(Event::InvoiceIssued(InvoiceIssued {
                invoice_id: order_id.to_owned(),
                lines,
                total: total.clone(),
                chat_id,
            }));
            return Reply {
                text: format!(
                    "I've sent you the invoice for {} × {}, {}. Tap Pay to complete your order.",
                    pending.quantity,
                    product.name,
                    money(&total)
                ),
                buttons: Vec::new(),
                products: vec![product.id.clone()],
            };
        }
        events.push(Event::OrderPlaced(OrderPlaced {
            order_id: order_id.to_owned(),
            lines,
            total: total.clone(),
            payment: PaymentMethod::ChatConfirmation,
            contact: None,
        }));
        Reply {
            text: format!(
                "Order {order_id} placed: {} × {}, total {}. Thank you! We'll be in touch about delivery.",
                pending.quantity,
                product.name,
                money(&total)
            ),
            buttons: Vec::new(),
            products: vec![product.id.clone()],
        }
    }

    fn cancel(&self) -> Reply {
        if self.state.pending.is_some() {
            plain("Okay, I've cancelled that. Anything else?")
        } else {
            plain("Okay. Anything else I can help with?")
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Show {
    Card,
    Price,
    Specs,
}

fn plain(text: &str) -> Reply {
    Reply {
        text: text.to_owned(),
        buttons: Vec::new(),
        products: Vec::new(),
    }
}

fn stock_line(p: &Product) -> String {
    match p.stock {
        0 => "It's out of stock right now.".to_owned(),
        1 => "Only 1 left!".to_owned(),
        n if n <= 5 => format!("Only {n} left."),
        _ => "In stock.".to_owned(),
    }
}
