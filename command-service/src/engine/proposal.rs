//! What an LLM may propose when the rules do not understand a message: an intent and slots
//! naming catalog ids, through a JSON-schema tool call. The rules check every part against the
//! catalog and decide the events as for any message; a proposal with anything they cannot
//! check is ignored whole ([decision 0011](../../../docs/decisions/0011-the-model-may-propose-what-the-rules-check.md)).

use events_schema::{Intent, Money};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::understand::Understanding;
use crate::catalog::{Catalog, Topic};
use crate::language::Language;

/// The intents a model may propose: everything a message can ask, but never a yes or a no
/// (confirming an order or cancelling is the shopper's own word, read by the rules).
const PROPOSABLE: &[Intent] = &[
    Intent::Greeting,
    Intent::Help,
    Intent::Browse,
    Intent::Preference,
    Intent::ProductInfo,
    Intent::PriceInquiry,
    Intent::SpecsRequest,
    Intent::Compare,
    Intent::Purchase,
    Intent::CartAdd,
    Intent::CartRemove,
    Intent::CartView,
    Intent::Checkout,
    Intent::ShopQuestion,
    Intent::Thanks,
    Intent::Goodbye,
];

/// A model's reading of a message, as its tool call's arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    pub intent: String,
    #[serde(default)]
    pub product_ids: Vec<String>,
    #[serde(default)]
    pub quantity: Option<u32>,
    #[serde(default)]
    pub category: Option<String>,
    /// The most the shopper wants to spend, in major units of the shop's currency.
    #[serde(default)]
    pub budget: Option<f64>,
    #[serde(default)]
    pub use_case: Option<String>,
    #[serde(default)]
    pub topic: Option<String>,
}

/// The tool the model is asked to call: its JSON Schema lists the catalog's own ids, so a
/// well-behaved model can only name what exists (and the rules check anyway).
pub fn tool(catalog: &Catalog) -> Value {
    let ids = |it: &mut dyn Iterator<Item = String>| it.collect::<Vec<String>>();
    let intents: Vec<&str> = PROPOSABLE.iter().map(|i| i.as_str()).collect();
    let products = ids(&mut catalog.products().iter().map(|p| p.id.clone()));
    let categories = ids(&mut catalog.categories().iter().map(|c| c.id.clone()));
    let uses = ids(&mut catalog.uses().iter().map(|u| u.id.clone()));
    let topics = ids(&mut Topic::ALL
        .iter()
        .map(|t| t.as_str().to_owned())
        .chain(catalog.shop().faq.iter().map(|f| f.id.clone())));
    json!({
        "type": "function",
        "function": {
            "name": "understand",
            "description": "Say what the shopper's last message asks, naming catalog ids only.",
            "parameters": {
                "type": "object",
                "additionalProperties": false,
                "required": ["intent"],
                "properties": {
                    "intent": {"type": "string", "enum": intents},
                    "product_ids": {"type": "array", "items": {"type": "string", "enum": products}},
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 99},
                    "category": {"type": "string", "enum": categories},
                    "budget": {"type": "number", "exclusiveMinimum": 0},
                    "use_case": {"type": "string", "enum": uses},
                    "topic": {"type": "string", "enum": topics}
                }
            }
        }
    })
}

/// The proposal as an understanding the rules can decide on, or `None` when any part of it is
/// not something the catalog has or the intent needs.
pub fn accept(proposal: &Proposal, catalog: &Catalog, language: Language) -> Option<Understanding> {
    let intent = *PROPOSABLE.iter().find(|i| i.as_str() == proposal.intent)?;
    if proposal
        .product_ids
        .iter()
        .any(|id| catalog.product(id).is_none())
        || proposal.product_ids.len() > 4
        || proposal
            .category
            .as_deref()
            .is_some_and(|c| catalog.category(c).is_none())
        || proposal
            .use_case
            .as_deref()
            .is_some_and(|u| catalog.use_named(u).is_none())
        || proposal.quantity.is_some_and(|q| !(1..=99).contains(&q))
    {
        return None;
    }
    let budget = match proposal.budget {
        None => None,
        Some(b) if b.is_finite() && b > 0.0 && b < 1e9 => Some(Money::new(
            (b * 100.0).round() as i64,
            catalog.currency().clone(),
        )),
        Some(_) => return None,
    };
    let topic = match &proposal.topic {
        None => None,
        Some(t) if Topic::parse(t).is_some() || catalog.shop().faq.iter().any(|f| &f.id == t) => {
            Some(t.clone())
        }
        Some(_) => return None,
    };
    let needs = match intent {
        Intent::ShopQuestion => topic.is_some(),
        Intent::Compare => !proposal.product_ids.is_empty(),
        _ => true,
    };
    if !needs {
        return None;
    }
    let mut u = Understanding::bare(intent, language);
    u.products = proposal.product_ids.clone();
    u.quantity = proposal.quantity;
    u.category = proposal.category.clone();
    u.budget = budget;
    u.use_case = proposal.use_case.clone();
    u.topic = topic;
    u.states_preference = matches!(intent, Intent::Preference)
        || (intent == Intent::Browse && (u.budget.is_some() || u.use_case.is_some()));
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(json: Value) -> Proposal {
        serde_json::from_value(json).expect("a proposal")
    }

    #[test]
    fn only_what_the_catalog_has_is_accepted() {
        let catalog = Catalog::demo().expect("demo");
        let ok = accept(
            &proposal(json!({"intent": "price_inquiry", "product_ids": ["nova-x1"]})),
            &catalog,
            Language::Es,
        )
        .expect("accepted");
        assert_eq!(
            (ok.intent, ok.products.clone()),
            (Intent::PriceInquiry, vec!["nova-x1".to_owned()])
        );
        assert_eq!(ok.language, Language::Es);
        for bad in [
            json!({"intent": "price_inquiry", "product_ids": ["iphone-15"]}),
            json!({"intent": "confirm"}),
            json!({"intent": "unknown"}),
            json!({"intent": "browse", "category": "cars"}),
            json!({"intent": "purchase", "product_ids": ["nova-x1"], "quantity": 500}),
            json!({"intent": "shop_question", "topic": "discounts"}),
            json!({"intent": "shop_question"}),
            json!({"intent": "preference", "budget": -5}),
        ] {
            assert_eq!(
                accept(&proposal(bad.clone()), &catalog, Language::En),
                None,
                "{bad}"
            );
        }
        let tool = tool(&catalog);
        assert_eq!(tool["function"]["name"], "understand");
        assert!(
            tool["function"]["parameters"]["properties"]["product_ids"]["items"]["enum"]
                .as_array()
                .is_some_and(|ids| ids.len() == catalog.products().len())
        );
    }
}
