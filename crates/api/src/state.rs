//! What the API reads: the [`ApiState`] the server implements, and the plain values it hands over.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::Error;

/// The server's side of the API. Implementations keep no lock across an `.await`: live figures
/// come from a snapshot the signalling task publishes, reads of the store run on blocking threads
/// (the handlers call the blocking methods through `spawn_blocking`).
pub trait ApiState: Send + Sync + 'static {
    /// The latest snapshot of the running switch.
    fn live(&self) -> Arc<Live>;

    /// The latest `limit` call records, newest first. Blocking.
    fn recent_calls(&self, limit: usize) -> Result<Vec<store::CallRecord>, Error>;

    /// Loads, validates and (when good) applies the config now; resolves to the outcome.
    fn reload(&self) -> Pin<Box<dyn Future<Output = ReloadOutcome> + Send + '_>>;

    /// The last reload's outcome and the counters.
    fn reload_status(&self) -> ReloadStatus;

    /// Voicemail messages, newest first. Blocking.
    fn voicemails(&self) -> Result<Vec<Voicemail>, Error>;

    /// The WAV file of message `id` (as listed by [`ApiState::voicemails`]); `None` if there is
    /// no such message. Blocking.
    fn voicemail_audio(&self, id: &str) -> Result<Option<Vec<u8>>, Error>;
}

/// A snapshot of the running switch, published by the signalling task after each batch of work.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Live {
    pub active_calls: usize,
    /// Registered operator contacts.
    pub registrations: Vec<store::Registration>,
    /// Calls finished since the process started, by disposition.
    pub calls_finished: HashMap<store::Disposition, u64>,
    /// When the process started, Unix milliseconds.
    pub started_at_unix_ms: i64,
}

/// What set a reload off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReloadTrigger {
    /// The first load, when the switch started.
    Startup,
    /// A config file changed on disk.
    FileChange,
    /// SIGHUP.
    Signal,
    /// `POST /api/reload`.
    Api,
}

impl ReloadTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            ReloadTrigger::Startup => "startup",
            ReloadTrigger::FileChange => "file change",
            ReloadTrigger::Signal => "SIGHUP",
            ReloadTrigger::Api => "api",
        }
    }
}

/// How one reload went. A failed one changed nothing: the old plan keeps serving.
#[derive(Debug, Clone, PartialEq)]
pub struct ReloadOutcome {
    pub at_unix_ms: i64,
    pub trigger: ReloadTrigger,
    /// The main config file.
    pub file: String,
    /// Whether the new plan replaced the running one.
    pub ok: bool,
    /// Every error and warning found, positioned as file:line:column.
    pub diagnostics: Vec<dialplan::Diagnostic>,
    /// Settings that changed but take effect only after a restart (sockets, directories).
    pub restart_needed: Vec<String>,
}

/// The last reload and the counts since start (the startup load not counted).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReloadStatus {
    pub last: Option<ReloadOutcome>,
    pub succeeded: u64,
    pub failed: u64,
}

/// One voicemail message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voicemail {
    /// Stable, URL-safe: `GET /api/voicemail/{id}/audio` plays it.
    pub id: String,
    /// The voicemail box (`[[voicemail]] name`).
    pub mailbox: String,
    pub caller: Option<String>,
    /// The virtual number called, its landing page, when known.
    pub number: Option<String>,
    pub landing_page: Option<String>,
    /// When recording started, Unix milliseconds.
    pub recorded_at_unix_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    /// WAV size in bytes.
    pub size: u64,
}
