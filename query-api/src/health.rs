//! `/admin/health`: the database, NATS, the outbox relay, and every projection partition. Open to anyone, so it
//! says whether a part is up, never why not (the log does).

use std::time::Duration;

use crate::state::State;
use crate::types::{Health, PartHealth, ProjectionHealth};

/// The state of every part; `status` is `degraded` when one is down, or a partition stalled,
/// reports a fault or has parked events.
pub async fn check(state: &State, stale_after: Duration) -> Health {
    let mut ok = true;
    let mut relay_stalled = None;
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
            relay_stalled = Some(progress.relay_stalled);
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
    // The relay runs inside command-service: when every instance is down, events wait in the
    // store and nothing else would say why (docs/architecture.md, "Faults and bugs").
    let relay = state.nats.as_ref().map(|_| {
        let publishing = relay_stalled == Some(false);
        ok &= publishing;
        PartHealth {
            ok: publishing,
            message: match relay_stalled {
                Some(false) => "publishing",
                Some(true) => "behind",
                None => "unknown",
            }
            .into(),
        }
    });
    Health {
        status: if ok { "ok" } else { "degraded" }.into(),
        database,
        nats,
        relay,
        head,
        projections,
    }
}
