//! switchboard's persistent state: operator registrations (so a restart keeps them), call
//! records (what the reports are made of) and voicemail messages.
//!
//! The switch talks to the [`Store`] traits; [`SqliteStore`] is the embedded implementation (one
//! file under the data directory). A PostgreSQL implementation for multi-node setups can come later
//! behind the same traits, which is why every call record carries a `node_id`.
//!
//! Writes are queued to a writer thread and return at once, so async code never waits on the disk;
//! [`Store::flush`] waits until everything queued is committed. Reads run on the caller's thread
//! (use `spawn_blocking` from async code). See [`sqlite`] for durability.

mod error;
mod model;
mod rows;
mod schema;
pub mod sqlite;
mod voicemail;
mod writer;

pub use error::Error;
pub use model::{
    CallMedia, CallRecord, Direction, Disposition, HangupBy, LegQuality, Registration, Transport,
    UnixMillis, UnixSeconds,
};
pub use sqlite::SqliteStore;
pub use voicemail::VoicemailMessage;

/// Operators' registered contacts.
pub trait RegistrationStore: Send + Sync {
    /// Inserts or replaces the contact identified by (`username`, `contact`). Queued.
    fn upsert_registration(&self, registration: Registration) -> Result<(), Error>;
    /// Removes one contact (unregister, or expiry noticed by the registrar). Queued.
    fn remove_registration(&self, username: &str, contact: &str) -> Result<(), Error>;
    /// Marks a contact reachable or not (keepalive outcome). Queued.
    fn set_reachable(&self, username: &str, contact: &str, reachable: bool) -> Result<(), Error>;
    /// Every contact still registered at `now` (committed state: flush first to include queued
    /// writes). Expired contacts are left out and deleted.
    fn load_registrations(&self, now: UnixSeconds) -> Result<Vec<Registration>, Error>;
}

/// Finished calls.
pub trait CallStore: Send + Sync {
    /// Queues a finished call's record. It is committed in its own transaction when the writer
    /// reaches it; [`Store::flush`] waits for that and reports failures.
    fn insert_call_record(&self, record: CallRecord) -> Result<(), Error>;
    /// Queues media figures for the stored record (`node_id`, `id`): each `Some` replaces the
    /// stored value, each `None` keeps it, so the recording and each leg may report separately.
    /// A record not (yet) stored is left alone. Queued after the insert, it always finds it.
    fn update_call_media(
        &self,
        node_id: &str,
        id: &str,
        recording_duration_ms: Option<i64>,
        caller: Option<LegQuality>,
        operator: Option<LegQuality>,
    ) -> Result<(), Error>;
    /// The latest `limit` committed records, newest first (by `started_at`).
    fn recent_calls(&self, limit: usize) -> Result<Vec<CallRecord>, Error>;
}

/// Voicemail messages (the files themselves live under the data directory).
pub trait VoicemailStore: Send + Sync {
    /// Queues a message's details once its file is complete.
    fn insert_voicemail(&self, message: VoicemailMessage) -> Result<(), Error>;
    /// The latest `limit` committed messages, newest first (by `started_at`).
    fn recent_voicemails(&self, limit: usize) -> Result<Vec<VoicemailMessage>, Error>;
}

/// Everything the switch persists.
pub trait Store: RegistrationStore + CallStore + VoicemailStore {
    /// Returns once every write queued before the call is committed; `Err` if any write since the
    /// previous flush failed.
    fn flush(&self) -> Result<(), Error>;
}
