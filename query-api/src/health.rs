//! `/admin/health`: the database, NATS, and every projection partition. Open to anyone, so it
//! says whether a part is up, never why not (the log does).

use std::time::Duration;

use crate::state::State;
use crate::types::{Health, PartHealth, ProjectionHealth};

/// The state of every part; `status` is `degraded` when one is down, or a partition stalled,
/// reports a fault or has parked events.
pub async fn check(state: &State, stale_after: Duration) -> Health {
    let mut ok = true;
    let (database, head, projections) = match state.store.progress(stale_after).await {
        Ok(progress) => {
            let projections: Vec<ProjectionHealth> = progress
                .partitions
                .iter()
                .map(|p| ProjectionHealth {
                    projection: p.projection.clone(),
                    partition: p.partition,
                    checkpoint: p.checkpoint,
                    lag_events: p.lag_events,
                    lag_seconds: crate::types::round2(p.lag_seconds),
                    worker: p.worker.clone(),
                    heartbeat_at: p.heartbeat_at,
                    stalled: p.stalled,
                    fault: p.fault.clone(),
                    parked: p.parked,
                })
                .collect();
            if progress.degraded().next().is_some() {
                ok = false;
            }
            let database = PartHealth {
                ok: true,
                message: "reachable".into(),
            };
            (database, progress.head, projections)
        }
        Err(error) => {
            ok = false;
            // The error names tables and servers: the log's, not an open route's.
            tracing::warn!(%error, "admin health: database unavailable");
            let database = PartHealth {
                ok: false,
                message: "unreachable".into(),
            };
            (database, 0, Vec::new())
        }
    };
    let nats = state.nats.as_ref().map(|nats| {
        let connected = nats.is_connected();
        ok &= connected;
        PartHealth {
            ok: connected,
            message: if connected {
                "connected"
            } else {
                "disconnected"
            }
            .into(),
        }
    });
    Health {
        status: if ok { "ok" } else { "degraded" }.into(),
        database,
        nats,
        head,
        projections,
    }
}
