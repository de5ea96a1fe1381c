//! One product: its card, its price, its specs; two products side by side.

use events_schema::{Event, PriceInquired, ProductViewed, SpecsRequested, ViewSource};

use super::{Reply, Turn};
use crate::catalog::Product;
use crate::engine::reply::{button, money, product_card};
use crate::engine::resolve::Resolved;
use crate::engine::understand::{Direction, Measure, Selector, Understanding};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Show {
    Card,
    Price,
    Specs,
}

impl Turn<'_> {
    pub(super) fn which_one(&self, candidates: &[&Product], what: &str, question: &str) -> Reply {
        let lines: Vec<String> = candidates
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}. {} — {}", i + 1, p.name, money(&p.price)))
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

    /// What a superlative or comparative picked by, in words ("cheapest", "lightest").
    fn picked_by(&self, selector: &Selector) -> String {
        let (measure, direction) = match selector {
            Selector::Extreme(m, d) | Selector::Relative(m, d) => (m, *d),
            Selector::Value { .. } => return String::new(),
        };
        match (measure, direction) {
            (Measure::Price, Direction::Less) => self.say("cheapest", &[]),
            (Measure::Price, Direction::More) => self.say("priciest", &[]),
            (Measure::Spec(kinds), direction) => {
                let kind = kinds.first().and_then(|k| self.catalog.spec_kind(k));
                let spec = kind.map_or_else(String::new, |k| {
                    k.names.exactly(self.language).unwrap_or(&k.name).to_owned()
                });
                let key = match direction {
                    Direction::More => "most",
                    Direction::Less => "least",
                };
                self.say(key, &[("spec", &spec)])
            }
        }
    }

    pub(super) fn about_product(
        &self,
        u: &Understanding,
        events: &mut Vec<Event>,
        show: Show,
    ) -> Reply {
        let (product, sold_out) = match self.scene.resolve(u) {
            Resolved::One { product, sold_out } => (product, sold_out),
            Resolved::Ambiguous(candidates) => {
                let (what, question) = match show {
                    Show::Price => ("price", self.say("which_price", &[])),
                    Show::Specs => ("specs", self.say("which_specs", &[])),
                    Show::Card => ("price", self.say("which_card", &[])),
                };
                return self.which_one(&candidates, what, &question);
            }
            Resolved::NoneBetter(focus) => {
                let what = u
                    .selector
                    .as_ref()
                    .map(|s| self.picked_by(s))
                    .unwrap_or_default();
                let category = self.category_name(&focus.category);
                return Reply::text(self.say(
                    "none_better",
                    &[
                        ("name", &focus.name),
                        ("what", &what),
                        ("category", &category),
                    ],
                ));
            }
            Resolved::Nothing => {
                return Reply {
                    text: self.say("which_product", &[]),
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
            button(
                &self.say("price_button", &[]),
                &format!("price:{}", product.id),
            ),
            button(
                &self.say("specs_button", &[]),
                &format!("specs:{}", product.id),
            ),
            button(&self.say("buy_button", &[]), &format!("buy:{}", product.id)),
            button(
                &self.say("add_to_cart_button", &[]),
                &format!("cart:{}", product.id),
            ),
        ];
        // "The cheapest camera is the …" first, when a measure picked it.
        let mut intro = String::new();
        if let Some(Selector::Extreme(..)) = &u.selector
            && u.products.is_empty()
        {
            let what = u
                .selector
                .as_ref()
                .map(|s| self.picked_by(s))
                .unwrap_or_default();
            intro = self.say("picked_by", &[("what", &what), ("name", &product.name)]);
            if let Some(s) = sold_out {
                intro.push(' ');
                intro.push_str(&self.say(
                    "sold_out_winner",
                    &[("name", &s.name), ("price", &money(&s.price))],
                ));
            }
            intro.push('\n');
        }
        let viewed = |events: &mut Vec<Event>, source| {
            if self.state.focus.as_deref() != Some(&product.id) {
                events.push(Event::ProductViewed(ProductViewed {
                    product_id: product.id.clone(),
                    source,
                }));
            }
        };
        let text = match show {
            Show::Card => {
                events.push(Event::ProductViewed(ProductViewed {
                    product_id: product.id.clone(),
                    source: if u.products.is_empty()
                        && u.reference.is_none()
                        && u.selector.is_none()
                    {
                        ViewSource::Button
                    } else {
                        source
                    },
                }));
                product_card(product, self.language, self.catalog)
            }
            Show::Price => {
                viewed(events, source);
                events.push(Event::PriceInquired(PriceInquired {
                    product_id: product.id.clone(),
                    price: product.price.clone(),
                }));
                let mut text = format!(
                    "{} {}",
                    self.say(
                        "price",
                        &[("name", &product.name), ("price", &money(&product.price))]
                    ),
                    self.stock_line(product)
                );
                if let Some(b) = self
                    .state
                    .budget
                    .as_ref()
                    .filter(|b| product.price.amount_minor > b.amount_minor)
                {
                    text.push(' ');
                    text.push_str(&self.say("above_budget", &[("budget", &money(b))]));
                }
                text
            }
            Show::Specs => {
                viewed(events, source);
                if !events
                    .iter()
                    .any(|e| matches!(e, Event::SpecsRequested(s) if s.product_id == product.id))
                {
                    events.push(Event::SpecsRequested(SpecsRequested {
                        product_id: product.id.clone(),
                    }));
                }
                // "How heavy is it?": the weight alone, when the product lists it; else
                // what it does list.
                let asked = |name: &str| u.asked_specs.iter().any(|a| a == name);
                let lines = |all: bool| -> String {
                    product
                        .specs
                        .iter()
                        .filter(|s| all || asked(&s.name))
                        .map(|s| format!("• {}: {}", self.spec_name(&s.name), s.value))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                let listed = product.specs.iter().any(|s| asked(&s.name));
                let heading = self.say(
                    "specs_heading",
                    &[
                        ("name", &product.name),
                        ("price", &money(&product.price)),
                        ("lines", &lines(u.asked_specs.is_empty() || !listed)),
                    ],
                );
                match u.asked_specs.first() {
                    Some(spec) if !listed => {
                        let spec = self.catalog.spec_label(spec, self.language).to_lowercase();
                        let missing =
                            self.say("spec_missing", &[("name", &product.name), ("spec", &spec)]);
                        format!("{missing}\n{heading}")
                    }
                    _ => heading,
                }
            }
        };
        Reply {
            text: format!("{intro}{text}"),
            buttons,
            products: vec![product.id.clone()],
        }
    }

    /// A spec's name in the conversation's language, when the catalog gives one.
    pub(super) fn spec_name<'s>(&'s self, name: &'s str) -> &'s str {
        self.catalog.spec_label(name, self.language)
    }

    pub(super) fn stock_line(&self, p: &Product) -> String {
        match p.stock {
            0 => self.say("stock_out", &[]),
            1 => self.say("stock_one", &[]),
            n if n <= 5 => self.say("stock_few", &[("count", &n.to_string())]),
            _ => self.say("stock_in", &[]),
        }
    }

    pub(super) fn compare(&self, u: &Understanding, events: &mut Vec<Event>) -> Reply {
        let mut pair: Vec<&Product> = u
            .products
            .iter()
            .filter_map(|id| self.catalog.product(id))
            .collect();
        if pair.len() < 2 {
            // "the third and the fourth": those of the list; one position: it and the focus.
            let offered = self.scene.offered();
            let positioned: Vec<&Product> = u
                .positions
                .iter()
                .filter_map(|&n| offered.get(n).copied())
                .chain(u.last.then(|| offered.last().copied()).flatten())
                .collect();
            let extra = positioned
                .into_iter()
                .chain(self.scene.focus())
                .chain(self.scene.offered());
            for p in extra {
                if pair.len() >= 2 {
                    break;
                }
                if !pair.iter().any(|q| q.id == p.id) {
                    pair.push(p);
                }
            }
        }
        match pair[..] {
            [a, b, ..] => self.compare_two(a, b, events),
            _ => Reply::text(self.say("which_compare", &[])),
        }
    }

    fn compare_two(&self, a: &Product, b: &Product, events: &mut Vec<Event>) -> Reply {
        for p in [a, b] {
            events.push(Event::ProductViewed(ProductViewed {
                product_id: p.id.clone(),
                source: ViewSource::Comparison,
            }));
        }
        let mut lines = vec![format!(
            "• {}: {} vs {}",
            self.say("price_label", &[]),
            money(&a.price),
            money(&b.price)
        )];
        for spec in &a.specs {
            if let Some(other) = b.specs.iter().find(|s| s.name == spec.name) {
                lines.push(format!(
                    "• {}: {} vs {}",
                    self.spec_name(&spec.name),
                    spec.value,
                    other.value
                ));
            }
        }
        let cheaper = if a.price.amount_minor <= b.price.amount_minor {
            a
        } else {
            b
        };
        Reply {
            text: self.say(
                "compare_heading",
                &[
                    ("a", &a.name),
                    ("b", &b.name),
                    ("lines", &lines.join("\n")),
                    ("cheaper", &cheaper.name),
                ],
            ),
            buttons: vec![
                button(
                    &self.say("buy_named", &[("name", &a.name)]),
                    &format!("buy:{}", a.id),
                ),
                button(
                    &self.say("buy_named", &[("name", &b.name)]),
                    &format!("buy:{}", b.id),
                ),
            ],
            products: vec![a.id.clone(), b.id.clone()],
        }
    }
}
