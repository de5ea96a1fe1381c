//! Each read table as a row type that owns its columns and values together: the column list,
//! how each column merges into an existing row, and the values in that order all come from one
//! declaration, so a column-order slip cannot compile. [`upserts`] turns a batch's [`Changes`]
//! into one [`Upsert`] per table.

use chrono::NaiveDate;
use event_store::db::Value;

use super::Merge::{self, Add, FirstSeenDay, Key, Latest, Max, Min, Replace};
use super::Upsert;
use crate::model::{self, Changes};

/// A row of one read table.
pub(crate) trait TableRow {
    const TABLE: &'static str;
    /// Every column, in the order of [`TableRow::values`], with how it merges.
    const COLUMNS: &'static [(&'static str, Merge)];
    fn values(self) -> Vec<Value>;
}

/// `table! { Name in "table" { column: Type = Merge, … } }` declares the row type `Name` of
/// `table` and its [`TableRow`] impl.
macro_rules! table {
    ($(#[$doc:meta])* $name:ident in $table:literal { $($column:ident: $ty:ty = $merge:ident),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) struct $name {
            $(pub $column: $ty,)+
        }

        impl TableRow for $name {
            const TABLE: &'static str = $table;
            const COLUMNS: &'static [(&'static str, Merge)] = &[$((stringify!($column), $merge)),+];
            fn values(self) -> Vec<Value> {
                vec![$(Value::from(self.$column)),+]
            }
        }
    };
}

table! { FunnelDayRow in "funnel_user_days" {
    user_id: String = Key,
    day: NaiveDate = Key,
    first_message_us: Option<i64> = Min,
    first_view_us: Option<i64> = Min,
    first_consider_us: Option<i64> = Min,
    first_intent_us: Option<i64> = Min,
    first_order_us: Option<i64> = Min,
} }

table! { FunnelValueRow in "funnel_value_days" {
    user_id: String = Key,
    day: NaiveDate = Key,
    currency: String = Key,
    intent_value_minor: i64 = Add,
    order_value_minor: i64 = Add,
} }

table! {
    /// Counters shared by every user carry a shard (the event's partition) in their key, so
    /// that partitions never write the same row.
    ProductDayRow in "product_days" {
        product_id: String = Key,
        day: NaiveDate = Key,
        shard: i64 = Key,
        views: i64 = Add,
        price_inquiries: i64 = Add,
        spec_requests: i64 = Add,
        purchase_intents: i64 = Add,
    }
}

table! { ProductSalesRow in "product_sales_days" {
    product_id: String = Key,
    day: NaiveDate = Key,
    currency: String = Key,
    shard: i64 = Key,
    orders: i64 = Add,
    units: i64 = Add,
    revenue_minor: i64 = Add,
} }

table! { ProductUserRow in "product_user_days" {
    product_id: String = Key,
    day: NaiveDate = Key,
    user_id: String = Key,
    viewed: i64 = Max,
    intended: i64 = Max,
} }

table! {
    /// `first_seen_day` comes before `first_seen_us`: SET expressions all see the old row, so
    /// the order is only for whoever reads this.
    UserRow in "users" {
        user_id: String = Key,
        channel: String = Latest,
        username: Option<String> = Latest,
        display_name: Option<String> = Latest,
        name_hashes: Option<String> = Latest,
        first_seen_day: NaiveDate = FirstSeenDay,
        first_seen_us: i64 = Min,
        last_seen_us: i64 = Max,
        messages: i64 = Add,
        sessions: i64 = Add,
        product_views: i64 = Add,
        stage: i64 = Max,
        budget_minor: Option<i64> = Latest,
        budget_currency: Option<String> = Latest,
        category: Option<String> = Latest,
        orders: i64 = Add,
        last_position: i64 = Max,
    }
}

table! { UserProductRow in "user_products" {
    user_id: String = Key,
    product_id: String = Key,
    views: i64 = Add,
    intents: i64 = Add,
    units: i64 = Add,
} }

table! { UserSalesRow in "user_sales" {
    user_id: String = Key,
    currency: String = Key,
    orders: i64 = Add,
    revenue_minor: i64 = Add,
} }

table! { MessageRow in "conversation_messages" {
    user_id: String = Key,
    global_position: i64 = Key,
    occurred_us: i64 = Latest,
    direction: String = Latest,
    text: Option<String> = Latest,
    intent: Option<String> = Latest,
    sentiment: Option<String> = Latest,
    product_id: Option<String> = Latest,
} }

table! { BusinessDayRow in "business_days" {
    day: NaiveDate = Key,
    shard: i64 = Key,
    messages: i64 = Add,
    sessions: i64 = Add,
    replies: i64 = Add,
} }

table! { SalesDayRow in "sales_days" {
    day: NaiveDate = Key,
    currency: String = Key,
    shard: i64 = Key,
    orders: i64 = Add,
    revenue_minor: i64 = Add,
} }

table! {
    /// A user's cart, a running state written whole.
    CartUserRow in "cart_users" {
        user_id: String = Key,
        session_start_us: Option<i64> = Replace,
        last_activity_us: i64 = Replace,
        carted: i64 = Replace,
        ordered: i64 = Replace,
        lines: String = Replace,
    }
}

table! { CartSessionRow in "cart_sessions" {
    user_id: String = Key,
    started_us: i64 = Key,
    day: NaiveDate = Replace,
    last_activity_us: i64 = Max,
    ordered: i64 = Max,
    ended_us: Option<i64> = Latest,
    items: i64 = Replace,
    lines: String = Replace,
} }

table! { ShopQuestionDayRow in "shop_question_days" {
    topic: String = Key,
    day: NaiveDate = Key,
    shard: i64 = Key,
    questions: i64 = Add,
} }

table! { ShopQuestionUserRow in "shop_question_users" {
    user_id: String = Key,
    first_asked_us: i64 = Min,
} }

/// Tables whose rows of a user go when the user is erased (the user-level ones).
pub(crate) const USER_TABLES: &[&str] = &[
    UserRow::TABLE,
    UserProductRow::TABLE,
    UserSalesRow::TABLE,
    MessageRow::TABLE,
];

impl Upsert {
    /// The upsert of `rows` into their table.
    pub(crate) fn of<R: TableRow>(rows: impl IntoIterator<Item = R>) -> Upsert {
        Upsert {
            table: R::TABLE,
            columns: R::COLUMNS,
            rows: rows.into_iter().map(TableRow::values).collect(),
            insert_only: false,
            new_rows: Vec::new(),
        }
    }
}

/// A table's rows in key order: the index is written in order, and two transactions writing
/// the same rows take their locks in the same order.
fn sorted<K: Ord, V>(rows: model::Rows<K, V>) -> impl Iterator<Item = (K, V)> {
    let mut rows: Vec<(K, V)> = rows.into_iter().collect();
    rows.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    rows.into_iter()
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// How personal text goes into the read tables (docs/architecture.md, invariant 8): sealed
/// under its user's live key (`None` without one: nothing is written in plain instead), and
/// names also as keyed hashes for search.
pub(crate) struct Sealing<'a> {
    pub keys: &'a event_store::ReadKeys,
    pub names: event_store::NameIndex,
}

impl Sealing<'_> {
    fn seal(
        &self,
        table: &str,
        column: &str,
        user_id: &str,
        text: Option<String>,
    ) -> Option<String> {
        self.keys.seal(table, column, user_id, &text?)
    }
}

/// The upserts that write `changes`, one per table that has rows.
pub(crate) fn upserts(changes: Changes, sealing: &Sealing<'_>) -> Vec<Upsert> {
    let Changes {
        funnel_days,
        funnel_values,
        product_days,
        product_sales,
        product_users,
        erased_users: _,
        users,
        user_products,
        user_sales,
        messages,
        business_days,
        sales_days,
        cart_users,
        cart_sessions,
        questions,
        question_users,
    } = changes;
    let upserts = [
        Upsert::of(sorted(funnel_days).map(|((user_id, day), f)| {
            let [message, view, consider, intent, order] = f.first;
            FunnelDayRow {
                user_id,
                day,
                first_message_us: message,
                first_view_us: view,
                first_consider_us: consider,
                first_intent_us: intent,
                first_order_us: order,
            }
        })),
        Upsert::of(
            sorted(funnel_values).map(|((user_id, day, currency), v)| FunnelValueRow {
                user_id,
                day,
                currency,
                intent_value_minor: v.intent_minor,
                order_value_minor: v.order_minor,
            }),
        ),
        Upsert::of(
            sorted(product_days).map(|((product_id, day, shard), c)| ProductDayRow {
                product_id,
                day,
                shard: shard.into(),
                views: c.views,
                price_inquiries: c.price_inquiries,
                spec_requests: c.spec_requests,
                purchase_intents: c.purchase_intents,
            }),
        ),
        Upsert::of(
            sorted(product_sales).map(|((product_id, day, currency, shard), s)| ProductSalesRow {
                product_id,
                day,
                currency,
                shard: shard.into(),
                orders: s.orders,
                units: s.units,
                revenue_minor: s.revenue_minor,
            }),
        ),
        Upsert::of(
            sorted(product_users).map(|((product_id, day, user_id), f)| ProductUserRow {
                product_id,
                day,
                user_id,
                viewed: flag(f.viewed),
                intended: flag(f.intended),
            }),
        ),
        Upsert::of(sorted(users).map(|(user_id, r)| {
            let (budget_minor, budget_currency) = r.budget.unzip();
            // Hashed only for a user with a live key: an erased user's names are not indexed.
            let name_hashes = if sealing.keys.has(&user_id) {
                sealing
                    .names
                    .hashes(r.username.iter().chain(&r.display_name).map(String::as_str))
            } else {
                None
            };
            UserRow {
                username: sealing.seal(UserRow::TABLE, "username", &user_id, r.username),
                display_name: sealing.seal(
                    UserRow::TABLE,
                    "display_name",
                    &user_id,
                    r.display_name,
                ),
                name_hashes,
                user_id,
                channel: r.channel,
                first_seen_day: r.first_seen_day.unwrap_or_default(),
                first_seen_us: r.first_seen_us,
                last_seen_us: r.last_seen_us,
                messages: r.messages,
                sessions: r.sessions,
                product_views: r.product_views,
                stage: r.stage.unwrap_or(0),
                budget_minor,
                budget_currency,
                category: r.category,
                orders: r.orders,
                last_position: r.last_position,
            }
        })),
        Upsert::of(
            sorted(user_products).map(|((user_id, product_id), c)| UserProductRow {
                user_id,
                product_id,
                views: c.views,
                intents: c.intents,
                units: c.units,
            }),
        ),
        Upsert::of(
            sorted(user_sales).map(|((user_id, currency), s)| UserSalesRow {
                user_id,
                currency,
                orders: s.orders,
                revenue_minor: s.revenue_minor,
            }),
        ),
        Upsert::of(
            sorted(messages).map(|((user_id, global_position), m)| MessageRow {
                text: sealing.seal(MessageRow::TABLE, "text", &user_id, m.text),
                user_id,
                global_position,
                occurred_us: m.occurred_us,
                direction: m.direction.to_owned(),
                intent: m.intent,
                sentiment: m.sentiment,
                product_id: m.product_id,
            }),
        ),
        Upsert::of(
            sorted(business_days).map(|((day, shard), b)| BusinessDayRow {
                day,
                shard: shard.into(),
                messages: b.messages,
                sessions: b.sessions,
                replies: b.replies,
            }),
        ),
        Upsert::of(sorted(cart_users).map(|(user_id, c)| CartUserRow {
            user_id,
            session_start_us: c.session_start_us,
            last_activity_us: c.last_activity_us,
            carted: flag(c.carted),
            ordered: flag(c.ordered),
            lines: model::lines_json(&c.lines),
        })),
        Upsert::of(
            sorted(cart_sessions).map(|((user_id, started_us), s)| CartSessionRow {
                user_id,
                started_us,
                day: s.day,
                last_activity_us: s.last_activity_us,
                ordered: flag(s.ordered),
                ended_us: s.ended_us,
                items: s.lines.iter().map(|l| l.quantity).sum(),
                lines: model::lines_json(&s.lines),
            }),
        ),
        Upsert::of(
            sorted(questions).map(|((topic, day, shard), questions)| ShopQuestionDayRow {
                topic,
                day,
                shard: shard.into(),
                questions,
            }),
        ),
        Upsert::of(
            sorted(question_users).map(|(user_id, first_asked_us)| ShopQuestionUserRow {
                user_id,
                first_asked_us,
            }),
        ),
        Upsert::of(
            sorted(sales_days).map(|((day, currency, shard), s)| SalesDayRow {
                day,
                currency,
                shard: shard.into(),
                orders: s.orders,
                revenue_minor: s.revenue_minor,
            }),
        ),
    ];
    upserts.into_iter().filter(|u| !u.rows.is_empty()).collect()
}
