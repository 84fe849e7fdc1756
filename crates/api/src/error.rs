//! The API crate's errors: what the HTTP side itself can fail at, and what a state read reports.

use std::net::SocketAddr;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Our config: the listen address is taken or not ours.
    #[error(
        "cannot listen for the HTTP API on {addr}: {source} \
         (another program has the port? set [api] listen to a free address, or enabled = false)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("HTTP API server: {0}")]
    Serve(std::io::Error),
    /// A read behind the API failed (the store, the voicemail directory).
    #[error("store: {0}")]
    Store(#[from] store::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
