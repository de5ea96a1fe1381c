//! Lists: a category, everything within a budget, what serves a need, or the categories.

use super::{LIST_LIMIT, Reply, Turn};
use crate::catalog::Product;
use crate::engine::reply::{button, list_line, money};
use crate::engine::understand::Understanding;

impl Turn<'_> {
    pub(super) fn browse(&self, u: &Understanding) -> Reply {
        let state = self.state;
        // A budget or need said earlier carries over to a list of the same category.
        let carried = u.category.is_none() || u.category == state.category;
        let category = u.category.clone().or_else(|| {
            state
                .category
                .clone()
                .filter(|_| u.budget.is_some() || u.budget_min.is_some())
        });
        let budget = u.budget.clone().or_else(|| {
            state
                .budget
                .clone()
                .filter(|_| carried && u.budget_min.is_none())
        });
        let budget_min = u.budget_min.clone().or_else(|| {
            state
                .budget_min
                .clone()
                .filter(|_| carried && u.budget.is_none())
        });
        let use_case = u.use_case.clone();
        if category.is_none() && budget.is_none() && budget_min.is_none() && use_case.is_none() {
            return self.categories();
        }
        let category = category.and_then(|c| self.catalog.category(&c));
        let mut pool: Vec<&Product> = match (category, &use_case) {
            (Some(c), _) => self.catalog.in_category(&c.id).collect(),
            (None, Some(need)) => self
                .catalog
                .products()
                .iter()
                .filter(|p| self.catalog.serves(p, need))
                .collect(),
            (None, None) => self.catalog.products().iter().collect(),
        };
        if let (Some(_), Some(need)) = (category, &use_case) {
            // Within a category, what serves the need comes first, each part by price.
            pool.sort_by_key(|p| (!self.catalog.serves(p, need), p.price.amount_minor));
        }
        let fits = |p: &&Product| {
            budget
                .as_ref()
                .is_none_or(|b| p.price.amount_minor <= b.amount_minor)
                && budget_min
                    .as_ref()
                    .is_none_or(|b| p.price.amount_minor >= b.amount_minor)
        };
        let mut fitting: Vec<&Product> = pool.iter().copied().filter(fits).collect();
        if use_case.is_none() || category.is_none() {
            fitting.sort_by_key(|p| p.price.amount_minor);
        }
        if category.is_none() {
            // Across the catalog, what is in stock first.
            fitting.sort_by_key(|p| p.stock == 0);
        }
        fitting.truncate(LIST_LIMIT);
        let category_name = category.map(|c| self.category_name(&c.id));
        let limit = match (&budget_min, &budget) {
            (Some(min), Some(max)) => {
                Some(self.say("between", &[("min", &money(min)), ("max", &money(max))]))
            }
            (None, Some(max)) => Some(self.say("under", &[("budget", &money(max))])),
            (Some(min), None) => Some(self.say("over", &[("budget", &money(min))])),
            (None, None) => None,
        };
        if fitting.is_empty() {
            let mut all = pool.clone();
            all.sort_by_key(|p| p.price.amount_minor);
            let Some(cheapest) = all.first() else {
                return Reply::text(self.say(
                    "none_in",
                    &[("category", category_name.as_deref().unwrap_or_default())],
                ));
            };
            let limit = limit.unwrap_or_default();
            let price = money(&cheapest.price);
            let values = [
                ("category", category_name.as_deref().unwrap_or_default()),
                ("limit", limit.as_str()),
                ("name", cheapest.name.as_str()),
                ("price", price.as_str()),
            ];
            let key = if category.is_some() {
                "nothing_fits"
            } else {
                "nothing_fits_anywhere"
            };
            return Reply {
                text: self.say(key, &values),
                buttons: vec![button(
                    &self.say("view", &[("name", &cheapest.name)]),
                    &format!("view:{}", cheapest.id),
                )],
                products: vec![cheapest.id.clone()],
            };
        }
        let need_name = use_case
            .as_deref()
            .and_then(|u| self.catalog.use_named(u))
            .map(|u| u.names.exactly(self.language).unwrap_or(&u.id).to_owned());
        let heading = match (&category_name, &need_name, &limit) {
            (Some(c), _, None) => self.say("list_heading", &[("category", c)]),
            (Some(c), _, Some(l)) => {
                self.say("list_heading_limit", &[("category", c), ("limit", l)])
            }
            (None, Some(n), None) => self.say("list_heading_use", &[("use", n)]),
            (None, Some(n), Some(l)) => {
                self.say("list_heading_use_limit", &[("use", n), ("limit", l)])
            }
            (None, None, Some(l)) => self.say("list_heading_everything_limit", &[("limit", l)]),
            (None, None, None) => self.say("list_heading_everything_limit", &[("limit", "")]),
        };
        let lines: Vec<String> = fitting
            .iter()
            .enumerate()
            .map(|(i, p)| list_line(i + 1, p, self.language))
            .collect();
        Reply {
            text: format!(
                "{heading}\n{}\n{}",
                lines.join("\n"),
                self.say("list_footer", &[])
            ),
            buttons: fitting
                .iter()
                .map(|p| button(&p.name, &format!("view:{}", p.id)))
                .collect(),
            products: fitting.iter().map(|p| p.id.clone()).collect(),
        }
    }

    /// The categories with how many products each has.
    fn categories(&self) -> Reply {
        let lines: Vec<String> = self
            .catalog
            .categories()
            .iter()
            .map(|c| {
                let name = c.names.exactly(self.language).unwrap_or(&c.name);
                let count = self.catalog.in_category(&c.id).count().to_string();
                self.say("category_count", &[("category", name), ("count", &count)])
            })
            .collect();
        Reply {
            text: self.say("we_have", &[("lines", &lines.join("\n"))]),
            buttons: self.category_buttons(),
            products: Vec::new(),
        }
    }
}
