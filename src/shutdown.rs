//! The shutdown signal every long-running part takes as an argument: a [`CancellationToken`],
//! cancelled on SIGINT or SIGTERM. Each part is given a child of it (or of a token cancelled
//! after it, when the part must outlive the HTTP server's drain), waits on `cancelled()`,
//! and finishes its batch in flight before it returns.

use tokio_util::sync::CancellationToken;

/// The root token: cancelled on the first SIGINT (Ctrl-C) or SIGTERM. Call it inside the
/// runtime; the signals are listened for from then on.
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        signal().await;
        cancel.cancel();
    });
    token
}

/// Resolves on the first SIGINT (Ctrl-C) or SIGTERM.
async fn signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT received, shutting down"),
        () = term => tracing::info!("SIGTERM received, shutting down"),
    }
}
