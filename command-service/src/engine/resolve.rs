//! Which product a message is about: named, pointed at ("it", "the second one", "the other
//! one"), or chosen by a measure ("the cheapest camera", "the one with the best zoom", "lighter
//! than that"). Superlatives pick among products in stock and say when a sold-out one would have
//! won; specs compare only values of one kind (one unit).

use super::state::ConversationState;
use super::understand::{Direction, Measure, Reference, Selector, Understanding};
use crate::catalog::{Catalog, Product};

/// The outcome of resolving.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Resolved<'a> {
    One {
        product: &'a Product,
        /// A sold-out product that a superlative would have picked.
        sold_out: Option<&'a Product>,
    },
    /// Several fit: ask which.
    Ambiguous(Vec<&'a Product>),
    /// "A cheaper one" when there is none: the product in focus is already the best.
    NoneBetter(&'a Product),
    Nothing,
}

impl<'a> Resolved<'a> {
    fn one(product: &'a Product) -> Resolved<'a> {
        Resolved::One {
            product,
            sold_out: None,
        }
    }
}

/// What the resolver reads of the conversation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scene<'a> {
    pub catalog: &'a Catalog,
    pub state: &'a ConversationState,
}

impl<'a> Scene<'a> {
    fn product(&self, id: &str) -> Option<&'a Product> {
        self.catalog.product(id)
    }

    /// The products of the last list, in order.
    pub fn offered(&self) -> Vec<&'a Product> {
        self.state
            .offered
            .iter()
            .filter_map(|id| self.product(id))
            .collect()
    }

    pub fn focus(&self) -> Option<&'a Product> {
        self.state.focus.as_deref().and_then(|id| self.product(id))
    }

    /// Which product the message is about.
    pub fn resolve(&self, u: &Understanding) -> Resolved<'a> {
        let named: Vec<&Product> = u
            .products
            .iter()
            .filter_map(|id| self.product(id))
            .collect();
        match named.len() {
            1 => return Resolved::one(named[0]),
            n if n > 1 => return Resolved::Ambiguous(named),
            _ => {}
        }
        let offered = self.offered();
        let focus = self.focus();
        if let Some(selector) = &u.selector {
            return self.select(selector, u, &offered, focus);
        }
        match u.reference {
            Some(Reference::Position(n)) => offered
                .get(n)
                .copied()
                .map_or(Resolved::Nothing, Resolved::one),
            Some(Reference::Last) => offered
                .last()
                .copied()
                .map_or(Resolved::Nothing, Resolved::one),
            Some(Reference::Other) => match (focus, &offered[..]) {
                (Some(f), [a, b]) if f.id == a.id => Resolved::one(b),
                (Some(f), [a, b]) if f.id == b.id => Resolved::one(a),
                (_, [a, b]) => Resolved::Ambiguous(vec![a, b]),
                // Two products talked about one after the other: the one before.
                _ => self
                    .state
                    .previous_focus
                    .as_deref()
                    .and_then(|id| self.product(id))
                    .map_or(Resolved::Nothing, Resolved::one),
            },
            Some(Reference::It) | None => match focus {
                Some(p) if self.state.focus_latest || offered.is_empty() => Resolved::one(p),
                _ if offered.len() == 1 => Resolved::one(offered[0]),
                _ if offered.len() > 1 => Resolved::Ambiguous(offered),
                Some(p) => Resolved::one(p),
                None => Resolved::Nothing,
            },
        }
    }

    fn select(
        &self,
        selector: &Selector,
        u: &Understanding,
        offered: &[&'a Product],
        focus: Option<&'a Product>,
    ) -> Resolved<'a> {
        let category_pool = |c: &str| -> Vec<&'a Product> { self.catalog.in_category(c).collect() };
        // "The cheaper of the two" after two products talked about one after the other.
        if u.of_two
            && offered.len() != 2
            && let Selector::Extreme(measure, direction) | Selector::Relative(measure, direction) =
                selector
            && let Some(previous) = self
                .state
                .previous_focus
                .as_deref()
                .and_then(|id| self.product(id))
            && let Some(f) = focus.filter(|f| f.id != previous.id)
        {
            return extreme(&[previous, f], measure, *direction);
        }
        // What a superlative or a value picks among: the category named, else the list just
        // offered, else the focus's category, else the whole catalog.
        let pool = || -> Vec<&'a Product> {
            if let Some(c) = &u.category {
                category_pool(c)
            } else if offered.len() >= 2 {
                offered.to_vec()
            } else if let Some(f) = focus {
                category_pool(&f.category)
            } else {
                self.catalog.products().iter().collect()
            }
        };
        match selector {
            Selector::Extreme(measure, direction) => extreme(&pool(), measure, *direction),
            Selector::Value { kinds, thousandths } => nearest(&pool(), kinds, *thousandths),
            // "The most expensive watch" written as "el reloj más caro": a comparative about
            // a category the focus is not in picks the extreme of that category.
            Selector::Relative(measure, direction)
                if u.category
                    .as_ref()
                    .is_some_and(|c| focus.is_none_or(|f| &f.category != c)) =>
            {
                let pool = category_pool(u.category.as_deref().unwrap_or_default());
                extreme(&pool, measure, *direction)
            }
            Selector::Relative(measure, direction) => {
                // After a list or a comparison ("the cheaper one"), the best of what was offered.
                if offered.len() >= 2 && (!self.state.focus_latest || focus.is_none()) {
                    return extreme(offered, measure, *direction);
                }
                let Some(f) = focus else {
                    let pool: Vec<&Product> = match &u.category {
                        Some(c) => category_pool(c),
                        None => self.catalog.products().iter().collect(),
                    };
                    return extreme(&pool, measure, *direction);
                };
                let pool = category_pool(&f.category);
                let Some(kind) = kind_for(&pool, measure) else {
                    return Resolved::Nothing;
                };
                let Some(base) = value(f, &kind) else {
                    return Resolved::Nothing;
                };
                let better = |v: i64| match direction {
                    Direction::More => v > base,
                    Direction::Less => v < base,
                };
                pool.into_iter()
                    .filter(|p| p.id != f.id && p.stock > 0)
                    .filter_map(|p| value(p, &kind).filter(|&v| better(v)).map(|v| (p, v)))
                    .min_by_key(|&(_, v)| (v - base).abs())
                    .map_or(Resolved::NoneBetter(f), |(p, _)| Resolved::one(p))
            }
        }
    }
}

/// The product of `pool` whose value of one of `kinds` is nearest `target`, within 8 % of it
/// ("the 16-inch one" is the 16.2-inch laptop); several equally near are asked about.
fn nearest<'a>(pool: &[&'a Product], kinds: &[String], target: i64) -> Resolved<'a> {
    let distance = |p: &Product| {
        kinds
            .iter()
            .filter_map(|k| p.measure(k))
            .map(|v| (v - target).abs())
            .min()
    };
    let close: Vec<(&'a Product, i64)> = pool
        .iter()
        .filter_map(|&p| distance(p).map(|d| (p, d)))
        .filter(|&(_, d)| d * 100 <= target.abs() * 8)
        .collect();
    let Some(best) = close.iter().map(|&(_, d)| d).min() else {
        return Resolved::Nothing;
    };
    let winners: Vec<&'a Product> = close
        .into_iter()
        .filter(|&(_, d)| d == best)
        .map(|(p, _)| p)
        .collect();
    match winners[..] {
        [one] => Resolved::one(one),
        _ => Resolved::Ambiguous(winners),
    }
}

/// The measure to compare by, as a key: the price, or the one spec kind most products of the
/// pool have.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Price,
    Spec(String),
}

fn kind_for(pool: &[&Product], measure: &Measure) -> Option<Key> {
    match measure {
        Measure::Price => Some(Key::Price),
        Measure::Spec(kinds) => kinds
            .iter()
            .map(|k| (pool.iter().filter(|p| p.measure(k).is_some()).count(), k))
            .filter(|(n, _)| *n > 0)
            .max_by_key(|(n, _)| *n)
            .map(|(_, k)| Key::Spec(k.clone())),
    }
}

fn value(p: &Product, key: &Key) -> Option<i64> {
    match key {
        Key::Price => Some(p.price.amount_minor),
        Key::Spec(kind) => p.measure(kind),
    }
}

/// The most or least of `pool` by `measure`, among products in stock; notes a sold-out product
/// that would have won.
fn extreme<'a>(pool: &[&'a Product], measure: &Measure, direction: Direction) -> Resolved<'a> {
    let Some(key) = kind_for(pool, measure) else {
        return Resolved::Nothing;
    };
    let best = |products: &mut dyn Iterator<Item = &'a Product>| -> Option<&'a Product> {
        let mut with: Vec<(&Product, i64)> = products
            .filter_map(|p| value(p, &key).map(|v| (p, v)))
            .collect();
        with.sort_by_key(|&(_, v)| v);
        match direction {
            Direction::Less => with.first().map(|&(p, _)| p),
            Direction::More => with.last().map(|&(p, _)| p),
        }
    };
    let in_stock = best(&mut pool.iter().copied().filter(|p| p.stock > 0));
    let overall = best(&mut pool.iter().copied());
    match in_stock {
        Some(product) => Resolved::One {
            product,
            sold_out: overall.filter(|o| o.id != product.id && o.stock == 0),
        },
        None => overall.map_or(Resolved::Nothing, Resolved::one),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::understand::{Context, understand};

    fn pick(state: &ConversationState, text: &str) -> Option<String> {
        let catalog = Catalog::demo().expect("demo");
        let u = understand(text, &catalog, Context::default());
        match (Scene {
            catalog: &catalog,
            state,
        })
        .resolve(&u)
        {
            Resolved::One { product, .. } => Some(product.id.clone()),
            _ => None,
        }
    }

    #[test]
    fn superlatives_pick_in_stock_within_one_unit() {
        let fresh = ConversationState::default();
        assert_eq!(
            pick(&fresh, "the cheapest camera").as_deref(),
            Some("snapwell-action-4")
        );
        assert_eq!(
            pick(&fresh, "lightest laptop").as_deref(),
            Some("aero-book-13")
        );
        assert_eq!(
            pick(&fresh, "the camera with the best zoom").as_deref(),
            Some("focale-z40")
        );
        assert_eq!(
            pick(&fresh, "which watch has the longest battery").as_deref(),
            Some("stride-band")
        );
    }

    #[test]
    fn comparatives_pick_the_nearest_better_than_the_focus() {
        let state = ConversationState {
            focus: Some("nova-x1".into()),
            focus_latest: true,
            ..ConversationState::default()
        };
        assert_eq!(
            pick(&state, "got a cheaper one?").as_deref(),
            Some("pixelon-8")
        );
        let state = ConversationState {
            focus: Some("vertex-15-plus".into()),
            focus_latest: true,
            ..ConversationState::default()
        };
        assert_eq!(
            pick(&state, "anything lighter than that?").as_deref(),
            Some("corvid-go-14")
        );
        let state = ConversationState {
            offered: vec!["hush-700".into(), "hush-buds".into()],
            ..ConversationState::default()
        };
        assert_eq!(
            pick(&state, "the cheaper one").as_deref(),
            Some("hush-buds")
        );
    }

    #[test]
    fn of_the_two_picks_between_the_last_two_talked_about() {
        let state = ConversationState {
            previous_focus: Some("vertex-15-plus".into()),
            focus: Some("aero-book-13".into()),
            focus_latest: true,
            ..ConversationState::default()
        };
        assert_eq!(
            pick(&state, "the more expensive of the two").as_deref(),
            Some("vertex-15-plus")
        );
        assert_eq!(
            pick(&state, "cual tiene mas memoria de los dos").as_deref(),
            Some("vertex-15-plus")
        );
        assert_eq!(
            pick(&state, "the lighter of the two").as_deref(),
            Some("aero-book-13")
        );
    }
}
