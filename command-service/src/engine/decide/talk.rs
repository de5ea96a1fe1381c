//! Small talk and the conversation's mechanics: greetings, help, the fallback, what a button
//! means, and how an answer to the bot's own question is read.

use events_schema::Intent;

use super::{Reply, Turn};
use crate::catalog::Catalog;
use crate::engine::state::{Awaiting, ConversationState};
use crate::engine::understand::{Reference, Understanding};
use crate::language::Language;

impl Turn<'_> {
    pub(super) fn greeting(&self) -> Reply {
        let back = self.new_session && self.state.sessions > 0;
        let hello = match (self.name, back) {
            (Some(n), true) => self.say("hello_back_name", &[("name", n)]),
            (Some(n), false) => self.say("hello_name", &[("name", n)]),
            (None, true) => self.say("hello_back", &[]),
            (None, false) => self.say("hello", &[]),
        };
        let categories: Vec<String> = self
            .catalog
            .categories()
            .iter()
            .map(|c| self.category_name(&c.id))
            .collect();
        Reply {
            text: self.say(
                "greeting",
                &[("hello", &hello), ("categories", &categories.join(", "))],
            ),
            buttons: self.category_buttons(),
            products: Vec::new(),
        }
    }

    pub(super) fn help(&self) -> Reply {
        Reply {
            text: self.say("help", &[]),
            buttons: self.category_buttons(),
            products: Vec::new(),
        }
    }

    pub(super) fn fallback(&self) -> Reply {
        Reply {
            text: self.say("fallback", &[]),
            buttons: self.category_buttons(),
            products: Vec::new(),
        }
    }
}

/// The meaning of a button the bot produced; `None` for data it never produces.
pub(super) fn button_meaning(
    data: &str,
    catalog: &Catalog,
    state: &ConversationState,
    language: Language,
) -> Option<Understanding> {
    let known = |id: &str| catalog.product(id).map(|p| vec![p.id.clone()]);
    let (intent, products, quantity, category) = match data.split(':').collect::<Vec<_>>()[..] {
        ["view", id] => (Intent::ProductInfo, known(id)?, None, None),
        ["price", id] | ["pick", "price", id] => (Intent::PriceInquiry, known(id)?, None, None),
        ["specs", id] | ["pick", "specs", id] => (Intent::SpecsRequest, known(id)?, None, None),
        ["buy", id] => (Intent::Purchase, known(id)?, Some(1), None),
        ["cart", id] | ["pick", "cart", id] => (Intent::CartAdd, known(id)?, None, None),
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
        ["checkout"] => (Intent::Checkout, Vec::new(), None, None),
        ["pick", "checkout", "confirm"] if state.awaiting == Some(Awaiting::Checkout) => {
            (Intent::Confirm, Vec::new(), None, None)
        }
        ["pick", "checkout", "cancel"] if state.awaiting == Some(Awaiting::Checkout) => {
            (Intent::Cancel, Vec::new(), None, None)
        }
        ["confirm"] if state.pending.is_some() => (Intent::Confirm, Vec::new(), None, None),
        ["cancel"] if state.pending.is_some() => (Intent::Cancel, Vec::new(), None, None),
        _ => return None,
    };
    let mut u = Understanding::bare(intent, language);
    u.products = products;
    u.quantity = quantity;
    u.category = category;
    Some(u)
}

/// After "which one do you mean?", a message naming or pointing at a product answers it.
pub(super) fn answer_to_question(u: &mut Understanding, awaiting: &Awaiting) {
    let points = !u.products.is_empty()
        || u.reference.is_some_and(|r| r != Reference::It)
        || u.selector.is_some();
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
            Awaiting::Checkout => {}
        }
    }
}
