//! Products: views, price inquiries, spec requests and intents per product and day
//! (`product_days`), who viewed and who intended (`product_user_days`), and units and revenue
//! per product, day and currency (`product_sales_days`).

use std::collections::BTreeSet;

use chrono::NaiveDate;
use events_schema::Event;

use super::Changes;
use super::key::{Ref, Shard};
use super::rows::ProductDay;

impl Changes {
    pub(super) fn add_products(&mut self, user: &str, day: NaiveDate, shard: Shard, event: &Event) {
        let mut count = |product: &str, f: fn(&mut ProductDay)| {
            f(self
                .product_days
                .entry_ref(&Ref((product, day, shard)))
                .or_default());
        };
        match event {
            Event::ProductViewed(p) => count(&p.product_id, |d| d.views += 1),
            Event::PriceInquired(p) => count(&p.product_id, |d| d.price_inquiries += 1),
            Event::SpecsRequested(p) => count(&p.product_id, |d| d.spec_requests += 1),
            Event::PurchaseIntended(p) => count(&p.product_id, |d| d.purchase_intents += 1),
            _ => {}
        }
        match event {
            Event::ProductViewed(p) => {
                self.product_users
                    .entry_ref(&Ref((p.product_id.as_str(), day, user)))
                    .or_default()
                    .viewed = true;
            }
            Event::PurchaseIntended(p) => {
                self.product_users
                    .entry_ref(&Ref((p.product_id.as_str(), day, user)))
                    .or_default()
                    .intended = true;
            }
            Event::OrderPlaced(o) => {
                // An order counts once per product it contains.
                let mut seen = BTreeSet::new();
                for line in &o.lines {
                    let sales = self
                        .product_sales
                        .entry_ref(&Ref((
                            line.product_id.as_str(),
                            day,
                            line.unit_price.currency.as_str(),
                            shard,
                        )))
                        .or_default();
                    if seen.insert(line.product_id.as_str()) {
                        sales.orders += 1;
                    }
                    sales.units += i64::from(line.quantity);
                    sales.revenue_minor += line.unit_price.amount_minor * i64::from(line.quantity);
                }
            }
            _ => {}
        }
    }
}
