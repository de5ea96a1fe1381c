//! How replies read: money, one-line list entries, product cards, buttons.

use events_schema::{Money, ReplyButton};

use super::say::say;
use crate::catalog::{Catalog, Product};
use crate::language::Language;

/// `$1,598.00`, `€12.50`, `£3.00`, or `1,598.00 CHF`.
pub fn money(m: &Money) -> String {
    let negative = m.amount_minor < 0;
    let abs = m.amount_minor.unsigned_abs();
    let major = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in major.chars().enumerate() {
        if i > 0 && (major.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    let number = format!(
        "{}{grouped}.{:02}",
        if negative { "-" } else { "" },
        abs % 100
    );
    match m.currency.as_str() {
        "USD" => format!("${number}"),
        "EUR" => format!("€{number}"),
        "GBP" => format!("£{number}"),
        other => format!("{number} {other}"),
    }
}

/// `2. Nova X1 — $799.00 (6.1" OLED, 128 GB)`, and `, out of stock` in `language` when it is.
pub(crate) fn list_line(n: usize, p: &Product, language: Language) -> String {
    // A yes/no spec reads as its name ("noise cancelling"), a "no" not at all.
    let specs: Vec<&str> = p
        .specs
        .iter()
        .filter(|s| !s.value.eq_ignore_ascii_case("no"))
        .take(2)
        .map(|s| {
            if s.value.eq_ignore_ascii_case("yes") {
                s.name.as_str()
            } else {
                s.value.as_str()
            }
        })
        .collect();
    let stock = if p.stock == 0 {
        format!(", {}", say(language, "list_stock_out", &[]))
    } else {
        String::new()
    };
    if specs.is_empty() {
        format!("{n}. {} — {}{stock}", p.name, money(&p.price))
    } else {
        format!(
            "{n}. {} — {} ({}){stock}",
            p.name,
            money(&p.price),
            specs.join(", ")
        )
    }
}

/// Name, price, description, key specs, stock, in `language` where the catalog has it.
pub(crate) fn product_card(p: &Product, language: Language, catalog: &Catalog) -> String {
    let specs: Vec<String> = p
        .specs
        .iter()
        .take(3)
        .map(|s| format!("{}: {}", catalog.spec_label(&s.name, language), s.value))
        .collect();
    let stock = match p.stock {
        0 => say(language, "card_stock_out", &[]),
        n if n <= 5 => say(language, "stock_few", &[("count", &n.to_string())]),
        _ => say(language, "stock_in", &[]),
    };
    format!(
        "{} — {}\n{}\n{}\n{stock}",
        p.name,
        money(&p.price),
        p.description(language),
        specs.join(" · ")
    )
}

pub fn button(label: &str, data: &str) -> ReplyButton {
    ReplyButton {
        label: label.to_owned(),
        data: data.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Spec;
    use events_schema::Currency;

    #[test]
    fn list_lines_read_yes_no_specs_by_name() {
        let spec = |name: &str, value: &str| Spec {
            name: name.into(),
            value: value.into(),
        };
        let product = Product {
            id: "hush-buds".into(),
            name: "Hush Buds".into(),
            category: "headphones".into(),
            price: Money::new(19_900, Currency::new("USD").expect("valid")),
            description: "Quiet.".into(),
            specs: vec![
                spec("wireless", "no"),
                spec("noise cancelling", "yes"),
                spec("battery", "8 h"),
            ],
            aliases: Vec::new(),
            stock: 3,
            uses: Vec::new(),
            measures: Vec::new(),
            names: Default::default(),
            descriptions: Default::default(),
        };
        assert_eq!(
            list_line(3, &product, Language::En),
            "3. Hush Buds — $199.00 (noise cancelling, 8 h)"
        );
        let sold_out = Product {
            stock: 0,
            ..product
        };
        for (language, line) in [
            (
                Language::En,
                "3. Hush Buds — $199.00 (noise cancelling, 8 h), out of stock",
            ),
            (
                Language::Ru,
                "3. Hush Buds — $199.00 (noise cancelling, 8 h), нет в наличии",
            ),
            (
                Language::Es,
                "3. Hush Buds — $199.00 (noise cancelling, 8 h), agotado",
            ),
            (
                Language::De,
                "3. Hush Buds — $199.00 (noise cancelling, 8 h), ausverkauft",
            ),
        ] {
            assert_eq!(list_line(3, &sold_out, language), line);
        }
    }

    #[test]
    fn money_reads_like_a_price_tag() {
        let usd = |m| Money::new(m, Currency::new("USD").expect("valid"));
        assert_eq!(money(&usd(159_800)), "$1,598.00");
        assert_eq!(money(&usd(5)), "$0.05");
        assert_eq!(money(&usd(100_000_000)), "$1,000,000.00");
        assert_eq!(
            money(&Money::new(1250, Currency::new("CHF").expect("valid"))),
            "12.50 CHF"
        );
    }
}
