//! Counters every user adds to (the product, business and question sums): two batches' changes
//! to them merge by adding up, in any order.

use super::Changes;
use super::key::Rows;
use super::rows::{BusinessDay, ProductDay, Sales};

impl Changes {
    /// Moves the counters every user adds to (sums of the product and business tables, which
    /// merge in any order) from `other` into these.
    pub(crate) fn absorb_counters(&mut self, other: &mut Changes) {
        absorb(&mut self.product_days, &mut other.product_days);
        absorb(&mut self.product_sales, &mut other.product_sales);
        absorb(&mut self.business_days, &mut other.business_days);
        absorb(&mut self.sales_days, &mut other.sales_days);
        absorb(&mut self.questions, &mut other.questions);
    }

    /// How many counter rows [`Changes::absorb_counters`] would move.
    pub(crate) fn counter_rows(&self) -> usize {
        self.product_days.len()
            + self.product_sales.len()
            + self.business_days.len()
            + self.sales_days.len()
            + self.questions.len()
    }
}

/// A row of sums: two changes to it add up.
trait Counter: Default {
    fn add(&mut self, other: Self);
}

impl Counter for ProductDay {
    fn add(&mut self, other: Self) {
        self.views += other.views;
        self.price_inquiries += other.price_inquiries;
        self.spec_requests += other.spec_requests;
        self.purchase_intents += other.purchase_intents;
    }
}

impl Counter for Sales {
    fn add(&mut self, other: Self) {
        self.orders += other.orders;
        self.units += other.units;
        self.revenue_minor += other.revenue_minor;
    }
}

impl Counter for BusinessDay {
    fn add(&mut self, other: Self) {
        self.messages += other.messages;
        self.sessions += other.sessions;
        self.replies += other.replies;
    }
}

impl Counter for i64 {
    fn add(&mut self, other: Self) {
        *self += other;
    }
}

fn absorb<K: std::hash::Hash + Eq, V: Counter>(into: &mut Rows<K, V>, from: &mut Rows<K, V>) {
    if into.is_empty() {
        std::mem::swap(into, from);
        return;
    }
    for (key, value) in from.drain() {
        into.entry(key).or_default().add(value);
    }
}
