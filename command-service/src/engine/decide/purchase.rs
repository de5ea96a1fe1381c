//! Buying one product outside the cart: the intent ("I'll take two"), the confirmation ("yes")
//! and cancelling. "Yes" orders the pending line alone, or the cart after "checkout".

use events_schema::{
    Event, InvoiceIssued, Money, OrderLine, OrderPlaced, PaymentMethod, PurchaseIntended,
    PurchaseQuantityChanged,
};

use super::{Reply, Turn};
use crate::catalog::Product;
use crate::engine::reply::{button, money};
use crate::engine::resolve::Resolved;
use crate::engine::state::Awaiting;
use crate::engine::understand::Understanding;

impl Turn<'_> {
    pub(super) fn purchase(&self, u: &Understanding, events: &mut Vec<Event>) -> Reply {
        let quantity = u.quantity.unwrap_or(1).clamp(1, 99);
        // "Actually make it 3" while a purchase waits: the same product, a new quantity.
        let pending = self
            .state
            .pending
            .as_ref()
            .filter(|_| u.products.is_empty() && u.reference.is_none() && u.selector.is_none())
            .filter(|_| u.quantity.is_some())
            .and_then(|p| self.catalog.product(&p.product_id));
        let product = match pending {
            Some(p) => p,
            None => match self.scene.resolve(u) {
                Resolved::One { product, .. } => product,
                Resolved::Ambiguous(candidates) => {
                    // Only what can be bought is offered to pick.
                    let in_stock: Vec<_> =
                        candidates.iter().copied().filter(|p| p.stock > 0).collect();
                    let candidates = if in_stock.is_empty() {
                        candidates
                    } else {
                        in_stock
                    };
                    return self.which_one(
                        &candidates,
                        &format!("buy{quantity}"),
                        &self.say("which_buy", &[]),
                    );
                }
                Resolved::NoneBetter(_) | Resolved::Nothing => {
                    return Reply {
                        text: self.say("buy_what", &[]),
                        buttons: self.category_buttons(),
                        products: Vec::new(),
                    };
                }
            },
        };
        self.about(product);
        if let Some(reply) = self.unavailable(product, quantity) {
            return reply;
        }
        // A new quantity for the pending line records the difference it adds.
        let already = self
            .state
            .pending
            .as_ref()
            .filter(|p| p.product_id == product.id)
            .map_or(0, |p| p.quantity);
        if quantity < already {
            // "Actually just 2": the line shrinks; intents already counted stay.
            events.push(Event::PurchaseQuantityChanged(PurchaseQuantityChanged {
                product_id: product.id.clone(),
                from: already,
                to: quantity,
            }));
        }
        let added = quantity.saturating_sub(already);
        if added > 0 {
            events.push(Event::PurchaseIntended(PurchaseIntended {
                product_id: product.id.clone(),
                quantity: added,
                unit_price: product.price.clone(),
            }));
        }
        let total = times(&product.price, quantity);
        Reply {
            text: self.say(
                "confirm_question",
                &[
                    ("quantity", &quantity.to_string()),
                    ("name", &product.name),
                    ("price", &money(&product.price)),
                    ("total", &money(&total)),
                ],
            ),
            buttons: vec![
                button(&self.say("confirm_button", &[]), "confirm"),
                button(&self.say("cancel_button", &[]), "cancel"),
            ],
            products: vec![product.id.clone()],
        }
    }

    /// Why `quantity` of `product` cannot be bought now, if it cannot: sold out (with
    /// alternatives) or fewer in stock (with an offer of what there is).
    pub(super) fn unavailable(&self, product: &Product, quantity: u32) -> Option<Reply> {
        if product.stock == 0 {
            let alternatives: Vec<&Product> = self
                .catalog
                .in_category(&product.category)
                .filter(|p| p.stock > 0 && p.id != product.id)
                .take(3)
                .collect();
            let mut text = self.say("out_of_stock", &[("name", &product.name)]);
            if !alternatives.is_empty() {
                text.push(' ');
                text.push_str(&self.say("you_might_like", &[]));
            }
            return Some(Reply {
                text,
                buttons: alternatives
                    .iter()
                    .map(|p| button(&p.name, &format!("view:{}", p.id)))
                    .collect(),
                products: alternatives.iter().map(|p| p.id.clone()).collect(),
            });
        }
        if quantity > product.stock {
            let stock = product.stock.to_string();
            return Some(Reply {
                text: self.say("only_have", &[("stock", &stock), ("name", &product.name)]),
                buttons: vec![button(
                    &self.say("buy_count", &[("count", &stock)]),
                    &format!("pick:buy{}:{}", product.stock, product.id),
                )],
                products: vec![product.id.clone()],
            });
        }
        None
    }

    pub(super) fn confirm(&self, events: &mut Vec<Event>, order_id: &str) -> Reply {
        if self.state.awaiting == Some(Awaiting::Checkout) && !self.state.cart.is_empty() {
            return self.order_cart(events, order_id);
        }
        let Some(pending) = &self.state.pending else {
            return Reply::text(self.say("nothing_to_confirm", &[]));
        };
        let Some(product) = self.catalog.product(&pending.product_id) else {
            return Reply::text(self.say("gone", &[]));
        };
        if pending.quantity > product.stock {
            return Reply::text(self.say(
                "now_only",
                &[
                    ("stock", &product.stock.to_string()),
                    ("name", &product.name),
                ],
            ));
        }
        let total = times(&pending.unit_price, pending.quantity);
        let lines = vec![OrderLine {
            product_id: pending.product_id.clone(),
            quantity: pending.quantity,
            unit_price: pending.unit_price.clone(),
        }];
        let values = [
            ("quantity", pending.quantity.to_string()),
            ("name", product.name.clone()),
            ("total", money(&total)),
            ("order", order_id.to_owned()),
        ];
        let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
        if let Some(chat_id) = self.invoice_to {
            events.push(Event::InvoiceIssued(InvoiceIssued {
                invoice_id: order_id.to_owned(),
                lines,
                total,
                chat_id,
            }));
            return Reply {
                text: self.say("invoice_sent", &values),
                buttons: Vec::new(),
                products: vec![product.id.clone()],
            };
        }
        events.push(Event::OrderPlaced(OrderPlaced {
            order_id: order_id.to_owned(),
            lines,
            total,
            payment: PaymentMethod::ChatConfirmation,
            contact: None,
        }));
        Reply {
            text: self.say("order_placed", &values),
            buttons: Vec::new(),
            products: vec![product.id.clone()],
        }
    }

    pub(super) fn cancel(&self) -> Reply {
        if self.state.pending.is_some() || self.state.awaiting == Some(Awaiting::Checkout) {
            Reply::text(self.say("cancelled", &[]))
        } else {
            Reply::text(self.say("nothing_to_cancel", &[]))
        }
    }
}

/// `price` × `quantity`.
pub(super) fn times(price: &Money, quantity: u32) -> Money {
    Money::new(
        price.amount_minor * i64::from(quantity),
        price.currency.clone(),
    )
}
