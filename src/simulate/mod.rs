//! `salesbot simulate`: realistic shoppers driven through the real command path. Each shopper
//! speaks one of the bot's languages (English for about half, Spanish, German or Russian for the
//! rest) and follows a persona (browser, price-checker, buyer, cart buyer, one who leaves at
//! checkout, returning buyer, bouncer) with messages drawn from the catalog, asking the shop's
//! questions on the way, all from a seeded generator, so the same `--seed` gives the same
//! conversations. In-process, messages are back-dated over `--days`
//! (occurred_at; the log records them now); with `--target URL` they are sent live over HTTP.

mod drive;
mod script;
mod talk;

pub use drive::{Summary, run_http, run_in_process, service};
pub use script::{Line, Persona, Shopper, scripts};

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use command_service::catalog::Catalog;

    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_shoppers_and_another_seed_others() {
        let catalog = Catalog::demo().expect("demo");
        let end = DateTime::parse_from_rfc3339("2026-11-25T00:00:00Z")
            .expect("time")
            .to_utc();
        let a = scripts(&catalog, 50, 7, 30, end);
        let b = scripts(&catalog, 50, 7, 30, end);
        let c = scripts(&catalog, 50, 8, 30, end);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let start = end - chrono::Duration::days(30);
        for shopper in &a {
            assert!(!shopper.lines.is_empty());
            assert!(
                shopper.lines.windows(2).all(|w| w[0].at <= w[1].at),
                "time moves forward"
            );
            assert!(shopper.lines.iter().all(|l| l.at >= start && l.at <= end));
        }
        let personas: std::collections::HashSet<_> =
            a.iter().map(|s| format!("{:?}", s.persona)).collect();
        assert!(personas.len() >= 5, "a realistic mix: {personas:?}");
    }
}
