//! The store's error type.

use std::path::PathBuf;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The database failed: disk full, corrupt file, locked beyond the busy timeout.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file was written by a newer switchboard; running old code on it could corrupt it.
    #[error("database schema version {found} is newer than this build understands ({supported}); upgrade switchboard")]
    SchemaTooNew { found: i64, supported: i64 },
    /// One or more queued writes failed in the writer thread since the last flush. The count
    /// includes the first failure's message.
    #[error("{failed} queued write(s) failed; first: {first}")]
    WriteFailed { failed: usize, first: String },
    /// The writer thread is gone (it panicked, or the store is shutting down).
    #[error("the store's writer thread has stopped")]
    WriterStopped,
    /// A row holds a value this build cannot read (e.g. an unknown disposition).
    #[error("unreadable row in {table}: {detail}")]
    BadRow { table: &'static str, detail: String },
}
