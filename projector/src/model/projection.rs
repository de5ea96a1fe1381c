//! The projections: their names and the read tables each owns.

/// The projections: each owns its tables and checkpoints, and is rebuilt on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Projection {
    Funnel,
    Products,
    Users,
    Conversations,
    Business,
    Carts,
    Questions,
}

impl Projection {
    pub const ALL: [Projection; 7] = [
        Projection::Funnel,
        Projection::Products,
        Projection::Users,
        Projection::Conversations,
        Projection::Business,
        Projection::Carts,
        Projection::Questions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Projection::Funnel => "funnel",
            Projection::Products => "products",
            Projection::Users => "users",
            Projection::Conversations => "conversations",
            Projection::Business => "business",
            Projection::Carts => "carts",
            Projection::Questions => "questions",
        }
    }

    pub fn parse(name: &str) -> Option<Projection> {
        Projection::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The tables this projection owns (what a rebuild replaces).
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Projection::Funnel => &["funnel_user_days", "funnel_value_days"],
            Projection::Products => &["product_days", "product_sales_days", "product_user_days"],
            Projection::Users => &["users", "user_products", "user_sales"],
            Projection::Conversations => &["conversation_messages"],
            Projection::Business => &["business_days", "sales_days"],
            Projection::Carts => &["cart_users", "cart_sessions"],
            Projection::Questions => &["shop_question_days", "shop_question_users"],
        }
    }
}

impl std::fmt::Display for Projection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
