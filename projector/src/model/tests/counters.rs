//! Counters every user adds to: two batches' changes to them merge by adding up
//! ([`Changes::absorb_counters`]).

use super::*;

#[test]
fn absorbed_counters_add_up_to_those_of_one_batch_and_leave_the_user_rows_alone() {
    let ana = [
        (ANA, "10:00", message("hi")),
        (ANA, "10:01", viewed("phone")),
        (
            ANA,
            "10:02",
            order(vec![line("phone", 1, usd(79_900))], usd(79_900)),
        ),
    ];
    let ben = [
        (BEN, "10:00", message("hello")),
        (BEN, "10:01", viewed("phone")),
        (BEN, "10:02", question("returns")),
    ];
    let mut into = given(ana.clone()).when_folded_into(&Projection::ALL);
    let mut from = given(ben.clone()).when_folded_into(&Projection::ALL);
    let ben_users = from.users.clone();

    into.absorb_counters(&mut from);

    let one_batch = given(ana.into_iter().chain(ben)).when_folded_into(&Projection::ALL);
    assert_eq!(into.product_days, one_batch.product_days);
    assert_eq!(into.product_sales, one_batch.product_sales);
    assert_eq!(into.business_days, one_batch.business_days);
    assert_eq!(into.sales_days, one_batch.sales_days);
    assert_eq!(into.questions, one_batch.questions);
    assert_eq!(from.counter_rows(), 0);
    assert_eq!(into.counter_rows(), one_batch.counter_rows());
    assert_eq!(keys(&into.users), [key(ANA)]);
    assert_eq!(from.users, ben_users);
}
