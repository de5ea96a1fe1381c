//! The examples the spec shows for each schema (poem-openapi's `Example`).

use chrono::{DateTime, NaiveDate, Utc};
use poem_openapi::types::Example;

use crate::live::LiveEvent;
use crate::types::*;

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap_or_default()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap_or_default()
}

fn usd(amount_minor: i64) -> Money {
    Money {
        currency: "USD".into(),
        amount_minor,
    }
}

impl Example for PeriodInfo {
    fn example() -> Self {
        PeriodInfo {
            from: day("2026-10-27"),
            to: day("2026-11-25"),
            days: 30,
            timezone: "Europe/Berlin".into(),
        }
    }
}

impl Example for Money {
    fn example() -> Self {
        usd(129_900)
    }
}

impl Example for CountKpi {
    fn example() -> Self {
        CountKpi {
            value: 1_240,
            previous: 1_100,
            change_pct: Some(12.73),
        }
    }
}

impl Example for RateKpi {
    fn example() -> Self {
        RateKpi {
            value: 0.0842,
            previous: 0.0791,
            change_pct: Some(6.45),
        }
    }
}

impl Example for MoneyKpi {
    fn example() -> Self {
        MoneyKpi {
            currency: "USD".into(),
            value_minor: 4_518_200,
            previous_minor: 3_920_000,
            change_pct: Some(15.26),
        }
    }
}

impl Example for FunnelStage {
    fn example() -> Self {
        FunnelStage {
            stage: "purchase_intent".into(),
            users: 212,
            of_greeting_pct: Some(17.1),
            drop_off_pct: Some(48.29),
            open: None,
            value: vec![usd(9_840_500)],
        }
    }
}

impl Example for ProductFigures {
    fn example() -> Self {
        ProductFigures {
            product_id: "corvid-go-14".into(),
            name: Some("Corvid Go 14".into()),
            views: 381,
            price_inquiries: 140,
            spec_requests: 96,
            purchase_intents: 41,
            orders: 29,
            units: 31,
            revenue: vec![usd(1_546_900)],
            viewers: 274,
            intenders: 38,
            conversion_pct: Some(13.87),
        }
    }
}

impl Example for DayFigures {
    fn example() -> Self {
        DayFigures {
            day: day("2026-11-24"),
            active_users: 57,
            new_users: 21,
            messages: 412,
            conversations: 63,
            orders: 5,
            revenue: vec![usd(259_500)],
        }
    }
}

impl Example for LagSummary {
    fn example() -> Self {
        LagSummary {
            head: 1_048_576,
            applied: 1_048_570,
            lag_events: 6,
            lag_seconds: 0.04,
            stalled_partitions: 0,
        }
    }
}

impl Example for UserSummary {
    fn example() -> Self {
        UserSummary {
            user_id: "telegram:424242001".into(),
            channel: "telegram".into(),
            username: Some("ana_shop".into()),
            display_name: Some("Ana".into()),
            first_seen: at("2026-11-02T09:14:00Z"),
            last_seen: at("2026-11-24T18:03:12Z"),
            messages: 23,
            sessions: 3,
            product_views: 9,
            stage: "ordered".into(),
            orders: 1,
            revenue: vec![usd(49_900)],
            engagement_score: 71,
        }
    }
}

impl Example for UserProduct {
    fn example() -> Self {
        UserProduct {
            product_id: "corvid-go-14".into(),
            name: Some("Corvid Go 14".into()),
            views: 4,
            intents: 1,
            units: 1,
        }
    }
}

impl Example for TimelineMessage {
    fn example() -> Self {
        TimelineMessage {
            position: 88_231,
            at: at("2026-11-24T18:03:12Z"),
            direction: "in".into(),
            text: Some("what laptops do you have under $800?".into()),
            intent: Some("browse".into()),
            sentiment: Some("neutral".into()),
            product_id: None,
        }
    }
}

impl Example for ProjectionHealth {
    fn example() -> Self {
        ProjectionHealth {
            projection: "funnel".into(),
            partition: 3,
            checkpoint: 1_048_570,
            lag_events: 0,
            lag_seconds: 0.0,
            worker: Some("host-a-4121-9f2c1e".into()),
            heartbeat_at: Some(at("2026-11-25T09:00:01Z")),
            stalled: false,
            fault: None,
            parked: 0,
        }
    }
}

impl Example for PartHealth {
    fn example() -> Self {
        PartHealth {
            ok: true,
            message: "reachable".into(),
        }
    }
}

impl Example for ErasedUser {
    fn example() -> Self {
        ErasedUser {
            user_id: "telegram:424242001".into(),
            position: 1_048_577,
            key_destroyed: true,
        }
    }
}

impl Example for LiveEvent {
    fn example() -> Self {
        LiveEvent {
            position: 1_048_576,
            event_type: "MessageReceived".into(),
            user_id: Some("web:ana".into()),
            occurred_at: at("2026-11-25T09:00:00Z"),
        }
    }
}

impl Example for CartFigures {
    fn example() -> Self {
        CartFigures {
            sessions_with_cart: 120,
            ordered: 41,
            abandoned: 63,
            emptied: 9,
            open: 7,
            abandonment_rate: 0.5575,
            abandoned_units: 88,
            abandoned_value: vec![usd(5_412_300)],
        }
    }
}

impl Example for AbandonedProduct {
    fn example() -> Self {
        AbandonedProduct {
            product_id: "phone-x1".into(),
            name: Some("Phone X1".into()),
            carts: 17,
            units: 19,
            value: vec![usd(1_518_100)],
        }
    }
}

impl Example for TopicCount {
    fn example() -> Self {
        TopicCount {
            topic: "shipping".into(),
            questions: 52,
        }
    }
}

impl Example for ShopQuestionFigures {
    fn example() -> Self {
        ShopQuestionFigures {
            questions: 96,
            topics: vec![
                TopicCount::example(),
                TopicCount {
                    topic: "returns".into(),
                    questions: 44,
                },
            ],
            ordering_users: 41,
            asked_before_ordering: 12,
            asked_before_ordering_share: 0.2927,
        }
    }
}
