//! The status of the log's leased followers (the Telegram outbox sender): which instance holds
//! the lease under which epoch, in which state, failing since when and why. Only the holder
//! writes its row, and every write but the claim is guarded by the holder's epoch, so a holder
//! that lost its lease can never overwrite its successor's status. Read by `salesbot check`,
//! and by the next holder, which must wait out the previous holder's last send unless that one
//! released the lease cleanly (docs/architecture.md, "The Telegram outbox sender").

use chrono::{DateTime, Utc};

use crate::{EventStore, StoreError, db};

/// What a follower's holder last said of itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HolderState {
    /// Holding the lease and following the log.
    Holding,
    /// Holding the lease (or last holding it) and failing: see the error.
    Failing,
    /// Let the lease go after its last send: a new holder need not wait for it.
    Released,
}

impl HolderState {
    pub fn as_str(self) -> &'static str {
        match self {
            HolderState::Holding => "holding",
            HolderState::Failing => "failing",
            HolderState::Released => "released",
        }
    }

    fn parse(s: &str) -> HolderState {
        match s {
            "holding" => HolderState::Holding,
            "released" => HolderState::Released,
            _ => HolderState::Failing,
        }
    }
}

/// One follower's row.
#[derive(Debug, Clone, PartialEq)]
pub struct FollowerStatus {
    pub follower: String,
    /// The process (and start) that holds or last held the lease.
    pub instance: String,
    /// Raised by one at every claim of the lease.
    pub epoch: i64,
    pub state: HolderState,
    /// The last error while failing (internal text: for operators, never for public health).
    pub error: Option<String>,
    pub failing_since: Option<DateTime<Utc>>,
    /// In this state since.
    pub since: DateTime<Utc>,
    /// The holder's last word (it writes at least every few seconds while holding).
    pub updated_at: DateTime<Utc>,
}

type StatusRow = (
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<i64>,
    i64,
    i64,
);

fn at(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

impl EventStore {
    /// The status row of `follower`, if any holder ever claimed it.
    pub async fn follower_status(
        &self,
        follower: &str,
    ) -> Result<Option<FollowerStatus>, StoreError> {
        let row: Option<StatusRow> = db::query(
            "SELECT follower, instance, epoch, state, error, failing_since_us, since_us, \
               updated_us FROM follower_status WHERE follower = $1",
        )
        .bind(follower)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(
            |(follower, instance, epoch, state, error, failing_since, since, updated)| {
                FollowerStatus {
                    follower,
                    instance,
                    epoch,
                    state: HolderState::parse(&state),
                    error,
                    failing_since: failing_since.map(at),
                    since: at(since),
                    updated_at: at(updated),
                }
            },
        ))
    }

    /// `instance` has just taken the lease of `follower`: its row says so under a new epoch.
    /// Returns what the row said before (the previous holder's last word) and the new epoch.
    /// A claim by the last holder itself (retrying after a failure) keeps its failing state,
    /// so "failing since" spans the retries. Call it only while holding the lease, so claims
    /// never race.
    pub async fn claim_follower(
        &self,
        follower: &str,
        instance: &str,
    ) -> Result<(Option<FollowerStatus>, i64), StoreError> {
        let previous = self.follower_status(follower).await?;
        let epoch = previous.as_ref().map_or(1, |p| p.epoch + 1);
        let now = Utc::now();
        let (state, error, failing_since, since) = match &previous {
            Some(p) if p.instance == instance && p.state == HolderState::Failing => {
                (p.state, p.error.clone(), p.failing_since, p.since)
            }
            _ => (HolderState::Holding, None, None, now),
        };
        db::query(
            "INSERT INTO follower_status \
               (follower, instance, epoch, state, error, failing_since_us, since_us, updated_us) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (follower) DO UPDATE SET instance = excluded.instance, \
               epoch = excluded.epoch, state = excluded.state, error = excluded.error, \
               failing_since_us = excluded.failing_since_us, since_us = excluded.since_us, \
               updated_us = excluded.updated_us",
        )
        .bind(follower)
        .bind(instance)
        .bind(epoch)
        .bind(state.as_str())
        .bind(error)
        .bind(failing_since.map(|t| t.timestamp_micros()))
        .bind(since.timestamp_micros())
        .bind(now.timestamp_micros())
        .execute(self.pool())
        .await?;
        Ok((previous, epoch))
    }

    /// The holder of `epoch` reports `state` (with the error when failing). `false` when a newer
    /// holder has claimed the follower since: the caller has lost its lease and must stop.
    pub async fn report_follower(
        &self,
        follower: &str,
        epoch: i64,
        state: HolderState,
        error: Option<&str>,
    ) -> Result<bool, StoreError> {
        let now = Utc::now().timestamp_micros();
        let failing = state == HolderState::Failing;
        let changed = db::query(
            "UPDATE follower_status SET \
               since_us = CASE WHEN state = $3 THEN since_us ELSE $6 END, \
               state = $3, error = $4, \
               failing_since_us = CASE WHEN $5 THEN COALESCE(failing_since_us, $6) END, \
               updated_us = $6 \
             WHERE follower = $1 AND epoch = $2",
        )
        .bind(follower)
        .bind(epoch)
        .bind(state.as_str())
        .bind(error.map(str::to_owned))
        .bind(failing)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(changed == 1)
    }
}
