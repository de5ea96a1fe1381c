//! What the bot remembers of one shopper, folded from their own stream of events. Because it
//! is rebuilt from the log (or a snapshot of it), it survives restarts.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use events_schema::{Event, Money, RecordedEvent};
use serde::{Deserialize, Serialize};

/// The most recent messages kept for context (the LLM prompt carries them).
pub(crate) const HISTORY: usize = 20;

/// A purchase the bot has asked the shopper to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub product_id: String,
    pub quantity: u32,
    pub unit_price: Money,
}

/// One line of the shopper's cart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CartLine {
    pub product_id: String,
    pub quantity: u32,
    /// The price when it was added or last changed; checkout checks it again.
    pub unit_price: Money,
}

/// Who said a line of the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Speaker {
    Shopper,
    Bot,
}

/// A question that waits for the shopper to pick a product ("which one do you mean?").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Awaiting {
    Price,
    Specs,
    /// The cart was shown for checkout: "yes" orders it.
    Checkout,
    Purchase {
        quantity: u32,
        /// The one product offered ("we only have 2, would you like 2?"), so "yes" buys it.
        #[serde(default)]
        product: Option<String>,
    },
}

/// The folded state of one user's stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConversationState {
    /// The stream version this state includes (0: no events yet).
    pub version: i64,
    pub last_activity: Option<DateTime<Utc>>,
    pub sessions: u32,
    pub display_name: Option<String>,
    /// Products the last list offered, in order ("the second one").
    pub offered: Vec<String>,
    /// The product the conversation is about ("how much is it?").
    pub focus: Option<String>,
    /// The product in focus before the current one ("no, the other one").
    #[serde(default)]
    pub previous_focus: Option<String>,
    /// Whether the focus product came up after the last list (then "it" means the focus; else
    /// "it" after a list is ambiguous).
    #[serde(default)]
    pub focus_latest: bool,
    pub budget: Option<Money>,
    pub category: Option<String>,
    /// The least the shopper said they would spend.
    #[serde(default)]
    pub budget_min: Option<Money>,
    /// The need the shopper stated (one of the catalog's uses).
    #[serde(default)]
    pub use_case: Option<String>,
    pub pending: Option<Pending>,
    pub awaiting: Option<Awaiting>,
    pub orders: u32,
    /// Invoices sent and not paid yet (Telegram Payments).
    #[serde(default)]
    pub invoices: Vec<events_schema::InvoiceIssued>,
    /// The user was erased: personal fields of earlier events read as `null`.
    pub erased: bool,
    pub history: VecDeque<(Speaker, String)>,
    /// The cart, in the order lines were added. It outlives sessions; checkout empties it.
    #[serde(default)]
    pub cart: Vec<CartLine>,
    /// The language of the conversation so far (ISO 639-1), from the last message read.
    #[serde(default)]
    pub language: Option<String>,
    /// The intent of the last message read ("and the X1 Pro?" after a price question asks
    /// its price).
    #[serde(default)]
    pub last_intent: Option<events_schema::Intent>,
    /// The product of a cart event just applied: the `PurchaseIntended` that follows a cart
    /// add or increase counts the cart's intent and leaves no purchase pending.
    #[serde(skip)]
    pub(crate) cart_intent: Option<String>,
}

impl ConversationState {
    /// Folds one event of the user's stream into the state.
    pub fn apply(&mut self, event: &RecordedEvent) {
        self.version = event.stream_version;
        self.erased |= event.erased;
        let cart_intent = self.cart_intent.take();
        match &event.event {
            Event::ConversationStarted(e) => {
                self.sessions += 1;
                // A purchase left unconfirmed lapses with its session (the cart stays).
                self.pending = None;
                if e.display_name.is_some() {
                    self.display_name.clone_from(&e.display_name);
                }
                self.last_activity = Some(event.occurred_at);
            }
            Event::MessageReceived(m) => {
                self.last_activity = Some(event.occurred_at);
                if m.intent == events_schema::Intent::Cancel {
                    self.pending = None;
                }
                if m.language.is_some() {
                    self.language.clone_from(&m.language);
                }
                self.last_intent = Some(m.intent);
                if let Some(text) = &m.text {
                    self.remember(Speaker::Shopper, text);
                }
            }
            Event::BotReplied(r) => {
                // A reply about one product moves the focus (below); only a list replaces the
                // list that "the second one" refers to.
                if r.products.len() >= 2 {
                    self.offered.clone_from(&r.products);
                    self.focus_latest = false;
                }
                if let Some(text) = &r.text {
                    self.remember(Speaker::Bot, text);
                }
            }
            Event::ProductViewed(v) => self.set_focus(&v.product_id),
            Event::PriceInquired(p) => self.set_focus(&p.product_id),
            Event::SpecsRequested(s) => self.set_focus(&s.product_id),
            Event::PreferenceStated(p) => {
                if p.budget.is_some() {
                    self.budget.clone_from(&p.budget);
                }
                if p.category.is_some() {
                    self.category.clone_from(&p.category);
                }
                if p.budget_min.is_some() {
                    self.budget_min.clone_from(&p.budget_min);
                }
                if p.use_case.is_some() {
                    self.use_case.clone_from(&p.use_case);
                }
            }
            Event::PurchaseIntended(p) if cart_intent.as_deref() == Some(p.product_id.as_str()) => {
            }
            Event::PurchaseIntended(p) => {
                self.set_focus(&p.product_id);
                match &mut self.pending {
                    // "Actually make it 3": the intent of the difference, added to the line.
                    Some(line) if line.product_id == p.product_id => {
                        line.quantity += p.quantity;
                        line.unit_price.clone_from(&p.unit_price);
                    }
                    _ => {
                        self.pending = Some(Pending {
                            product_id: p.product_id.clone(),
                            quantity: p.quantity,
                            unit_price: p.unit_price.clone(),
                        })
                    }
                }
            }
            Event::PurchaseQuantityChanged(c) => {
                if let Some(line) = self
                    .pending
                    .as_mut()
                    .filter(|l| l.product_id == c.product_id)
                {
                    line.quantity = c.to;
                }
            }
            Event::OrderPlaced(o) => {
                self.orders += 1;
                self.pending = None;
                self.invoices.retain(|i| i.invoice_id != o.order_id);
            }
            Event::InvoiceIssued(i) => {
                self.pending = None;
                self.invoices.push(i.clone());
            }
            Event::UserErased(_) => {
                self.erased = true;
                self.display_name = None;
                self.history.clear();
            }
            Event::CartItemAdded(a) => {
                self.set_focus(&a.product_id);
                match self.cart.iter_mut().find(|l| l.product_id == a.product_id) {
                    Some(line) => {
                        line.quantity += a.quantity;
                        line.unit_price.clone_from(&a.unit_price);
                    }
                    None => self.cart.push(CartLine {
                        product_id: a.product_id.clone(),
                        quantity: a.quantity,
                        unit_price: a.unit_price.clone(),
                    }),
                }
                self.cart_intent = Some(a.product_id.clone());
            }
            Event::CartQuantityChanged(c) => {
                self.set_focus(&c.product_id);
                if let Some(line) = self.cart.iter_mut().find(|l| l.product_id == c.product_id) {
                    line.quantity = c.to;
                    line.unit_price.clone_from(&c.unit_price);
                }
                self.cart_intent = Some(c.product_id.clone());
            }
            Event::CartItemRemoved(r) => self.cart.retain(|l| l.product_id != r.product_id),
            Event::CartCheckedOut(_) => self.cart.clear(),
            Event::ShopQuestionAsked(_) => {}
        }
        self.awaiting = awaiting_after(&event.event, self.awaiting.take());
    }

    /// An estimate of the heap this state holds (its strings, lists and invoices), for the
    /// byte budget of the state cache: capacities rather than lengths, each block rounded up
    /// as an allocator does and with its bookkeeping. The state's own inline size is the
    /// cache's to count.
    pub(crate) fn heap_bytes(&self) -> usize {
        let text = |s: &str| block(s.len());
        let string = |s: &String| block(s.capacity());
        let money = |m: &Money| text(m.currency.as_str());
        let option = |s: &Option<String>| s.as_ref().map_or(0, string);
        let offered = block(self.offered.capacity() * size_of::<String>())
            + self.offered.iter().map(string).sum::<usize>();
        let pending = self
            .pending
            .as_ref()
            .map_or(0, |p| string(&p.product_id) + money(&p.unit_price));
        let awaiting = match &self.awaiting {
            Some(Awaiting::Purchase { product, .. }) => option(product),
            _ => 0,
        };
        let invoices = block(self.invoices.capacity() * size_of::<events_schema::InvoiceIssued>())
            + self
                .invoices
                .iter()
                .map(|i| {
                    string(&i.invoice_id)
                        + money(&i.total)
                        + block(i.lines.capacity() * size_of::<events_schema::OrderLine>())
                        + i.lines
                            .iter()
                            .map(|l| string(&l.product_id) + money(&l.unit_price))
                            .sum::<usize>()
                })
                .sum::<usize>();
        let history = block(self.history.capacity() * size_of::<(Speaker, String)>())
            + self.history.iter().map(|(_, t)| string(t)).sum::<usize>();
        let cart = block(self.cart.capacity() * size_of::<CartLine>())
            + self
                .cart
                .iter()
                .map(|l| string(&l.product_id) + money(&l.unit_price))
                .sum::<usize>();
        option(&self.display_name)
            + offered
            + option(&self.focus)
            + option(&self.previous_focus)
            + self.budget.as_ref().map_or(0, money)
            + option(&self.category)
            + self.budget_min.as_ref().map_or(0, money)
            + option(&self.use_case)
            + pending
            + awaiting
            + invoices
            + history
            + cart
            + option(&self.language)
            + option(&self.cart_intent)
    }

    fn set_focus(&mut self, product_id: &str) {
        if self.focus.as_deref() != Some(product_id) {
            self.previous_focus = self.focus.take();
        }
        self.focus = Some(product_id.to_owned());
        self.focus_latest = true;
    }

    fn remember(&mut self, who: Speaker, text: &str) {
        self.history.push_back((who, text.to_owned()));
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
    }
}

/// The heap a block of `bytes` takes: nothing when empty, else rounded up to 16 bytes plus 16
/// of the allocator's bookkeeping (glibc's malloc on 64-bit; others are close).
pub fn block(bytes: usize) -> usize {
    match bytes {
        0 => 0,
        n => n.next_multiple_of(16) + 16,
    }
}

/// The "which one?" question survives only until the next shopper message is answered; the
/// bot's reply records a new one by offering products with the `Awaiting` marker in its
/// buttons (`pick:<what>:<product>`).
fn awaiting_after(event: &Event, current: Option<Awaiting>) -> Option<Awaiting> {
    match event {
        Event::MessageReceived(_) => None,
        Event::BotReplied(r) => {
            let marker = r.buttons.first().and_then(|b| b.data.strip_prefix("pick:"));
            match marker.and_then(|m| m.split(':').next()) {
                Some("checkout") => Some(Awaiting::Checkout),
                Some("price") => Some(Awaiting::Price),
                Some("specs") => Some(Awaiting::Specs),
                Some(q) if q.starts_with("buy") => Some(Awaiting::Purchase {
                    quantity: q.trim_start_matches("buy").parse().unwrap_or(1),
                    product: match &r.buttons[..] {
                        [only] => only.data.rsplit(':').next().map(str::to_owned),
                        _ => None,
                    },
                }),
                _ => current,
            }
        }
        _ => current,
    }
}
