//! Which keys a rebuild has written, so rows under keys never written go in with `COPY`.

use event_store::db::Value;
use rustc_hash::FxBuildHasher;

use super::{Merge, Upsert};

/// The keys a rebuild has written so far, per table, as 64-bit hashes. A row whose key hash was
/// never written cannot be in the table yet, so it goes in with `COPY` (a third of the work of
/// an upsert for Postgres) instead of an upsert. Almost every row of a rebuild is such a row: a
/// user's rows of a day are written by one flush. A hash seen before, or a collision, takes the
/// upsert, which is right either way. Past [`FRESH_KEYS_LIMIT`] keys, a table's new keys are
/// no longer remembered and its rows are all upserted.
#[derive(Debug, Default)]
pub(crate) struct FreshKeys(std::sync::Mutex<FreshTables>);

type FreshTables =
    std::collections::HashMap<&'static str, Option<hashbrown::HashSet<u64, FxBuildHasher>>>;

/// Keys remembered per table at most (about 10 bytes each).
const FRESH_KEYS_LIMIT: usize = 1_000_000;

impl FreshKeys {
    /// Moves the rows of `upsert` whose keys were never written into `new_rows`, and remembers
    /// their keys.
    pub(crate) fn split(&self, upsert: &mut Upsert) {
        let keys: Vec<usize> = (0..upsert.columns.len())
            .filter(|&i| upsert.columns[i].1 == Merge::Key)
            .collect();
        let mut tables = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let Some(seen) = tables
            .entry(upsert.table)
            .or_insert_with(|| Some(hashbrown::HashSet::default()))
        else {
            return;
        };
        if seen.len() + upsert.rows.len() > FRESH_KEYS_LIMIT {
            tables.insert(upsert.table, None);
            return;
        }
        let (new, old): (Vec<_>, Vec<_>) = std::mem::take(&mut upsert.rows)
            .into_iter()
            .partition(|row| seen.insert(key_hash(row, &keys)));
        upsert.new_rows = new;
        upsert.rows = old;
    }
}

fn key_hash(row: &[Value], keys: &[usize]) -> u64 {
    use std::hash::{BuildHasher as _, Hash as _, Hasher as _};
    let mut h = FxBuildHasher.build_hasher();
    for &i in keys {
        match &row[i] {
            Value::Int(Some(x)) => (0u8, x).hash(&mut h),
            Value::Text(Some(t)) => (1u8, t).hash(&mut h),
            Value::Date(Some(d)) => (2u8, d).hash(&mut h),
            // Keys are never null, nor of other kinds; should one be, it hashes alike and so
            // takes the upsert, which is right whatever the row holds.
            _ => 3u8.hash(&mut h),
        }
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::sql::tables::{FunnelDayRow, TableRow as _};

    #[test]
    fn only_keys_never_written_before_skip_the_upsert() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 7).expect("a date");
        let upsert = |users: &[&str]| Upsert {
            table: "funnel_user_days",
            columns: FunnelDayRow::COLUMNS,
            rows: users
                .iter()
                .map(|u| {
                    let mut row = vec![Value::from(*u), Value::from(day)];
                    row.extend((0..5).map(|_| Value::Int(None)));
                    row
                })
                .collect(),
            insert_only: false,
            new_rows: Vec::new(),
        };
        let user = |row: &Vec<Value>| match &row[0] {
            Value::Text(Some(u)) => u.clone(),
            other => panic!("{other:?}"),
        };
        let fresh = FreshKeys::default();
        let mut first = upsert(&["web:a", "web:b"]);
        fresh.split(&mut first);
        assert!(first.rows.is_empty());
        assert_eq!(first.new_rows.len(), 2);
        let mut second = upsert(&["web:b", "web:c"]);
        fresh.split(&mut second);
        assert_eq!(second.rows.iter().map(user).collect::<Vec<_>>(), ["web:b"]);
        assert_eq!(
            second.new_rows.iter().map(user).collect::<Vec<_>>(),
            ["web:c"]
        );
    }
}
