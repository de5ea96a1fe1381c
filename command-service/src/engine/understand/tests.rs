//! Tests of reading messages: amounts, selectors, positions, values, names in Cyrillic.

use super::numbers::amount;
use super::*;

fn read(text: &str) -> Understanding {
    understand(text, &Catalog::demo().expect("demo"), Context::default())
}

#[test]
fn amounts_read_thousands_cents_and_words() {
    assert_eq!(amount("$1,200", false), Some(120_000));
    assert_eq!(amount("1.200", false), Some(120_000));
    assert_eq!(amount("799.99", false), Some(79_999));
    assert_eq!(amount("1k", false), Some(100_000));
    assert_eq!(amount("2", true), Some(200_000));
    assert_eq!(amount("abc", false), None);
    let u = read("phones for under five hundred bucks?");
    assert_eq!(u.budget.map(|b| b.amount_minor), Some(50_000));
    let u = read("looking for a phone between 300 and 600");
    assert_eq!(
        (
            u.budget_min.map(|b| b.amount_minor),
            u.budget.map(|b| b.amount_minor)
        ),
        (Some(30_000), Some(60_000))
    );
}

#[test]
fn counts_of_what_was_offered_are_no_quantities() {
    assert_eq!(
        read("put the cheaper of the two in my basket").quantity,
        Some(1)
    );
    assert_eq!(read("me llevo el más barato de los dos").quantity, Some(1));
    let u = read("сравни первые два");
    assert_eq!(
        (u.intent, u.positions.clone()),
        (Intent::Compare, vec![0, 1])
    );
    assert_eq!(u.quantity, None);
    let u = read("compare the first and the last");
    assert_eq!((u.positions.clone(), u.last), (vec![0], true));
}

#[test]
fn brands_written_in_cyrillic_are_named() {
    assert_eq!(read("скока стоит хаш 700?").products, vec!["hush-700"]);
    assert_eq!(
        read("чем хаш 700 отличается от hush buds?").products,
        vec!["hush-700", "hush-buds"]
    );
    assert_eq!(
        read("какой экран у нова таб 11").products,
        vec!["nova-tab-11"]
    );
}

#[test]
fn a_spec_word_that_is_also_a_category_names_the_spec() {
    let u = read("cual tiene mejor camara de los dos");
    assert_eq!((u.category.clone(), u.of_two), (None, true));
    let u = read("the phone with the best camera");
    assert_eq!(u.category.as_deref(), Some("phones"));
    assert_eq!(
        read("the cheapest camera").category.as_deref(),
        Some("cameras")
    );
}

#[test]
fn a_value_with_its_unit_picks_a_product() {
    let u = read("no, the 16 inch one");
    assert_eq!(
        u.selector,
        Some(Selector::Value {
            kinds: vec!["screen".into()],
            thousandths: 16_000
        })
    );
    assert_ne!(u.quantity, Some(16));
    assert!(read("el de 256gb").selector.is_some());
    // Asking for a list with a spec is no pick; asking which one is.
    assert_eq!(read("show me laptops with 16 gb").selector, None);
    assert!(read("which laptop has 32gb of ram").selector.is_some());
    // A time is a spec's value only beside the spec's word.
    assert!(read("the one with 14 days of battery").selector.is_some());
    assert_eq!(read("can it be here in 3 days").selector, None);
}

#[test]
fn ordering_in_a_question_about_delivery_buys_nothing() {
    for text in [
        "how many days till my order gets here?",
        "wann kommt mein paket an wenn ich heute bestelle",
        "если закажу сегодня, когда придёт?",
    ] {
        let u = read(text);
        assert_eq!(
            (u.intent, u.also.clone()),
            (Intent::ShopQuestion, vec![]),
            "{text}"
        );
    }
}

#[test]
fn superlatives_and_comparatives_become_selectors() {
    let u = read("which one has the best zoom?");
    assert_eq!(
        u.selector,
        Some(Selector::Extreme(
            Measure::Spec(vec!["zoom".into()]),
            Direction::More
        ))
    );
    let u = read("anything lighter than that?");
    assert_eq!(
        u.selector,
        Some(Selector::Relative(
            Measure::Spec(vec!["weight".into()]),
            Direction::Less
        ))
    );
    let u = read("whats the cheapest camera you have");
    assert_eq!(
        u.selector,
        Some(Selector::Extreme(Measure::Price, Direction::Less))
    );
    assert_eq!(u.category.as_deref(), Some("cameras"));
}

#[test]
fn a_country_asks_about_shipping_also_without_umlauts() {
    let u = read("gibts das auch in Oesterreich geliefert?");
    assert_eq!(
        (u.intent, u.topic.as_deref()),
        (Intent::ShopQuestion, Some("shipping"))
    );
}
