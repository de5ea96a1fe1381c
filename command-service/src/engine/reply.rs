//! How replies read: money, one-line list entries, product cards, buttons.

use events_schema::{Money, ReplyButton};

use crate::catalog::Product;

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

/// `2. Nova X1 — $799.00 (6.1" OLED, 128 GB)`.
pub fn list_line(n: usize, p: &Product) -> String {
    let specs: Vec<&str> = p.specs.iter().take(2).map(|s| s.value.as_str()).collect();
    let stock = if p.stock == 0 { ", out of stock" } else { "" };
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

/// Name, price, description, key specs, stock.
pub fn product_card(p: &Product) -> String {
    let specs: Vec<String> = p
        .specs
        .iter()
        .take(3)
        .map(|s| format!("{}: {}", s.name, s.value))
        .collect();
    let stock = match p.stock {
        0 => "Out of stock.".to_owned(),
        n if n <= 5 => format!("Only {n} left."),
        _ => "In stock.".to_owned(),
    };
    format!(
        "{} — {}\n{}\n{}\n{stock}",
        p.name,
        money(&p.price),
        p.description,
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
    use events_schema::Currency;

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
