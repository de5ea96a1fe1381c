//! The cart: adding (a purchase intent too), changing a quantity, removing, showing it, and
//! checking it out. Checkout checks prices and stock again and shows a changed price before the
//! shopper confirms; "yes" then orders the whole cart.

use events_schema::{
    CartCheckedOut, CartItemAdded, CartItemRemoved, CartQuantityChanged, Event, InvoiceIssued,
    OrderLine, OrderPlaced, PaymentMethod, PurchaseIntended,
};

use super::purchase::times;
use super::{Reply, Turn};
use crate::catalog::Product;
use crate::engine::reply::{button, money};
use crate::engine::resolve::Resolved;
use crate::engine::state::CartLine;
use crate::engine::understand::Understanding;

impl Turn<'_> {
    /// The cart line of `product`, if it is in the cart.
    fn line(&self, product: &str) -> Option<&CartLine> {
        self.state.cart.iter().find(|l| l.product_id == product)
    }

    /// The product a cart message is about: named, pointed at, or (for a change) the only line
    /// or the one in focus.
    fn cart_product(&self, u: &Understanding) -> Result<&Product, Reply> {
        let in_cart: Vec<&Product> = self
            .state
            .cart
            .iter()
            .filter_map(|l| self.catalog.product(&l.product_id))
            .collect();
        if u.products.is_empty()
            && u.reference.is_none()
            && u.selector.is_none()
            && let Some(c) = &u.category
        {
            // "remove the headphones": the cart's line of that category.
            let of_category: Vec<&Product> = in_cart
                .iter()
                .copied()
                .filter(|p| &p.category == c)
                .collect();
            match of_category[..] {
                [one] => return Ok(one),
                [_, _, ..] => {
                    return Err(self.which_one(&of_category, "cart", &self.say("which_cart", &[])));
                }
                [] => {}
            }
        }
        match self.scene.resolve(u) {
            Resolved::One { product, .. } => Ok(product),
            Resolved::Ambiguous(candidates) => {
                Err(self.which_one(&candidates, "cart", &self.say("which_cart", &[])))
            }
            Resolved::NoneBetter(_) | Resolved::Nothing => match in_cart[..] {
                [one] => Ok(one),
                _ => Err(Reply {
                    text: self.say("which_cart", &[]),
                    buttons: self.category_buttons(),
                    products: Vec::new(),
                }),
            },
        }
    }

    /// "Add it to my cart", "add another", "make it 3".
    pub(super) fn cart_add(&self, u: &Understanding, events: &mut Vec<Event>) -> Reply {
        let product = match self.cart_product(u) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        self.about(product);
        let line = self.line(&product.id);
        let current = line.map_or(0, |l| l.quantity);
        let wanted = match (line, u.quantity) {
            // "one more", "another two": added to the line.
            (Some(_), Some(q)) if u.increase => current + q,
            (Some(_), None) => current + 1,
            (_, Some(q)) => q,
            (None, None) => 1,
        }
        .clamp(1, 99);
        if wanted == current {
            return self.cart_summary(self.say(
                "cart_changed",
                &[("quantity", &current.to_string()), ("name", &product.name)],
            ));
        }
        if let Some(reply) = self.unavailable(product, wanted) {
            return reply;
        }
        let added = wanted.saturating_sub(current);
        match line {
            None => events.push(Event::CartItemAdded(CartItemAdded {
                product_id: product.id.clone(),
                quantity: wanted,
                unit_price: product.price.clone(),
            })),
            Some(_) => events.push(Event::CartQuantityChanged(CartQuantityChanged {
                product_id: product.id.clone(),
                from: current,
                to: wanted,
                unit_price: product.price.clone(),
            })),
        }
        // Adding to the cart is a purchase intent; so is an increase, for the difference.
        if added > 0 {
            events.push(Event::PurchaseIntended(PurchaseIntended {
                product_id: product.id.clone(),
                quantity: added,
                unit_price: product.price.clone(),
            }));
        }
        let text = if line.is_none() {
            self.say(
                "cart_added",
                &[("quantity", &wanted.to_string()), ("name", &product.name)],
            )
        } else {
            self.say(
                "cart_changed",
                &[("quantity", &wanted.to_string()), ("name", &product.name)],
            )
        };
        let mut lines = self.state.cart.clone();
        match lines.iter_mut().find(|l| l.product_id == product.id) {
            Some(l) => l.quantity = wanted,
            None => lines.push(CartLine {
                product_id: product.id.clone(),
                quantity: wanted,
                unit_price: product.price.clone(),
            }),
        }
        let total = self.total(&lines);
        Reply {
            text: format!(
                "{text} {}",
                self.say("cart_total", &[("total", &money(&total))])
            ),
            buttons: vec![button(&self.say("checkout_button", &[]), "checkout")],
            products: vec![product.id.clone()],
        }
    }

    pub(super) fn cart_remove(&self, u: &Understanding, events: &mut Vec<Event>) -> Reply {
        if self.state.cart.is_empty() {
            return Reply::text(self.say("cart_empty", &[]));
        }
        let product = match self.cart_product(u) {
            Ok(p) => p,
            Err(reply) => return reply,
        };
        let Some(line) = self.line(&product.id) else {
            return self.cart_summary(self.say("cart_not_in", &[("name", &product.name)]));
        };
        events.push(Event::CartItemRemoved(CartItemRemoved {
            product_id: product.id.clone(),
            quantity: line.quantity,
        }));
        let rest: Vec<CartLine> = self
            .state
            .cart
            .iter()
            .filter(|l| l.product_id != product.id)
            .cloned()
            .collect();
        let removed = self.say("cart_removed", &[("name", &product.name)]);
        if rest.is_empty() {
            return Reply::text(format!("{removed} {}", self.say("cart_empty", &[])));
        }
        Reply {
            text: format!("{removed}\n{}", self.cart_text(&rest, "cart_view")),
            buttons: vec![button(&self.say("checkout_button", &[]), "checkout")],
            products: Vec::new(),
        }
    }

    pub(super) fn cart_view(&self) -> Reply {
        if self.state.cart.is_empty() {
            return Reply::text(self.say("cart_empty", &[]));
        }
        Reply {
            text: self.cart_text(&self.state.cart, "cart_view"),
            buttons: vec![button(&self.say("checkout_button", &[]), "checkout")],
            products: Vec::new(),
        }
    }

    /// Shows the cart at today's prices and stock and asks to confirm.
    pub(super) fn checkout(&self) -> Reply {
        if self.state.cart.is_empty() {
            return Reply::text(self.say("cart_empty", &[]));
        }
        let mut notes = Vec::new();
        for line in &self.state.cart {
            let Some(product) = self.catalog.product(&line.product_id) else {
                continue;
            };
            if product.stock == 0 {
                return Reply::text(self.say("cart_out", &[("name", &product.name)]));
            }
            if line.quantity > product.stock {
                return Reply::text(self.say(
                    "cart_now_only",
                    &[
                        ("stock", &product.stock.to_string()),
                        ("name", &product.name),
                    ],
                ));
            }
            if product.price != line.unit_price {
                notes.push(self.say(
                    "price_changed",
                    &[
                        ("name", &product.name),
                        ("price", &money(&product.price)),
                        ("old", &money(&line.unit_price)),
                    ],
                ));
            }
        }
        let lines = self.priced_now(&self.state.cart);
        let mut text = self.cart_text(&lines, "checkout_question");
        if !notes.is_empty() {
            text = format!("{}\n{text}", notes.join("\n"));
        }
        Reply {
            text,
            buttons: vec![
                button(&self.say("confirm_button", &[]), "pick:checkout:confirm"),
                button(&self.say("cancel_button", &[]), "pick:checkout:cancel"),
            ],
            products: Vec::new(),
        }
    }

    /// "Yes" after checkout: the whole cart, at today's prices, as one order (or one invoice).
    pub(super) fn order_cart(&self, events: &mut Vec<Event>, order_id: &str) -> Reply {
        for line in &self.state.cart {
            if let Some(product) = self.catalog.product(&line.product_id)
                && line.quantity > product.stock
            {
                return Reply::text(self.say(
                    "cart_now_only",
                    &[
                        ("stock", &product.stock.to_string()),
                        ("name", &product.name),
                    ],
                ));
            }
        }
        let priced = self.priced_now(&self.state.cart);
        let lines: Vec<OrderLine> = priced
            .iter()
            .map(|l| OrderLine {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
                unit_price: l.unit_price.clone(),
            })
            .collect();
        let total = self.total(&priced);
        let items = self.items(&priced);
        let values = [
            ("order", order_id),
            ("items", items.as_str()),
            ("total", &money(&total)),
        ];
        let key = match self.invoice_to {
            Some(chat_id) => {
                events.push(Event::InvoiceIssued(InvoiceIssued {
                    invoice_id: order_id.to_owned(),
                    lines: lines.clone(),
                    total: total.clone(),
                    chat_id,
                }));
                "cart_invoice"
            }
            None => {
                events.push(Event::OrderPlaced(OrderPlaced {
                    order_id: order_id.to_owned(),
                    lines: lines.clone(),
                    total: total.clone(),
                    payment: PaymentMethod::ChatConfirmation,
                    contact: None,
                }));
                "cart_ordered"
            }
        };
        events.push(Event::CartCheckedOut(CartCheckedOut {
            order_id: order_id.to_owned(),
            lines,
            total,
        }));
        Reply {
            text: self.say(key, &values),
            buttons: Vec::new(),
            products: priced.iter().map(|l| l.product_id.clone()).collect(),
        }
    }

    /// The cart's lines at the catalog's prices now.
    fn priced_now(&self, lines: &[CartLine]) -> Vec<CartLine> {
        lines
            .iter()
            .map(|l| CartLine {
                product_id: l.product_id.clone(),
                quantity: l.quantity,
                unit_price: self
                    .catalog
                    .product(&l.product_id)
                    .map_or_else(|| l.unit_price.clone(), |p| p.price.clone()),
            })
            .collect()
    }

    fn total(&self, lines: &[CartLine]) -> events_schema::Money {
        let minor = lines
            .iter()
            .map(|l| l.unit_price.amount_minor * i64::from(l.quantity))
            .sum();
        events_schema::Money::new(minor, self.catalog.currency().clone())
    }

    fn name_of<'p>(&'p self, id: &'p str) -> &'p str {
        self.catalog.product(id).map_or(id, |p| p.name.as_str())
    }

    /// "2 × Glide Mouse and 1 × Tether USB-C Cable 2 m".
    fn items(&self, lines: &[CartLine]) -> String {
        let items: Vec<String> = lines
            .iter()
            .map(|l| {
                self.say(
                    "item",
                    &[
                        ("quantity", &l.quantity.to_string()),
                        ("name", self.name_of(&l.product_id)),
                    ],
                )
            })
            .collect();
        match items.split_last() {
            Some((last, first)) if !first.is_empty() => {
                format!("{} {} {last}", first.join(", "), self.say("and", &[]))
            }
            _ => items.concat(),
        }
    }

    /// The cart's lines and total in the template `key` (`cart_view`, `checkout_question`).
    fn cart_text(&self, lines: &[CartLine], key: &str) -> String {
        let shown: Vec<String> = lines
            .iter()
            .map(|l| {
                self.say(
                    "cart_line",
                    &[
                        ("quantity", &l.quantity.to_string()),
                        ("name", self.name_of(&l.product_id)),
                        ("total", &money(&times(&l.unit_price, l.quantity))),
                    ],
                )
            })
            .collect();
        self.say(
            key,
            &[
                ("lines", &shown.join("\n")),
                ("total", &money(&self.total(lines))),
            ],
        )
    }

    /// `first` and then the cart as it stands.
    fn cart_summary(&self, first: String) -> Reply {
        if self.state.cart.is_empty() {
            return Reply::text(first);
        }
        Reply {
            text: format!("{first}\n{}", self.cart_text(&self.state.cart, "cart_view")),
            buttons: vec![button(&self.say("checkout_button", &[]), "checkout")],
            products: Vec::new(),
        }
    }
}
