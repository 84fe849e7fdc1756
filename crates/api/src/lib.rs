//! switchboard's HTTP API: health, Prometheus metrics, call records, registrations, config
//! reload and voicemail, served by axum.
//!
//! No business logic lives here. The server hands the router an [`ApiState`]: live figures the
//! signalling task publishes, store reads, and a handle that runs a config reload. Handlers turn
//! those into HTTP: JSON for `/api/*`, Prometheus text for `/metrics`.
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /health` | 200 `ok switchboard <version>` |
//! | `GET /metrics` | Prometheus text: active calls, registered contacts, finished calls by disposition, reloads |
//! | `GET /api/calls?limit=N` | latest call records, newest first (default 50, at most 1000) |
//! | `GET /api/registrations` | operators' registered contacts |
//! | `POST /api/reload` | reloads the config: 200 with the outcome, or 422 with its diagnostics |
//! | `GET /api/reload` | the last reload's outcome and the reload counters |
//! | `GET /api/voicemail` | voicemail messages, newest first |
//! | `GET /api/voicemail/{id}/audio` | one message as `audio/wav` |

mod error;
mod metrics;
mod routes;
mod state;
mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub use error::Error;
pub use routes::router;
pub use state::{ApiState, Live, ReloadOutcome, ReloadStatus, ReloadTrigger, Voicemail};

/// This crate's version, the workspace's: `/health` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Binds the API's TCP listener. Done before the switch starts, so a port already in use stops
/// the start with a clear message instead of leaving a switch without its API.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, Error> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })
}

/// Serves the API on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<dyn ApiState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(Error::Serve)
}
