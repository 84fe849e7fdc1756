//! The SQLite store: one file under the data directory, a writer thread, a reader connection.
//!
//! # Durability
//! The database runs in WAL mode with `synchronous = NORMAL`. Every op is its own transaction, and
//! a commit is in the WAL file as soon as the writer thread executes it, so it survives the
//! *process* dying at any point after that (panic, `kill -9`, abort): the next open replays the
//! WAL. What `NORMAL` gives up against `FULL` is the last commits before an *OS crash or power
//! loss*, since the WAL is fsynced at checkpoints rather than at each commit. That trade keeps
//! registration refreshes (one write per phone every few minutes) and call records off the fsync
//! path. [`SqliteStore::flush`] returns once everything queued before it is committed.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::model::{CallMedia, CallRecord, LegQuality, Registration, UnixSeconds};
use crate::voicemail::{self, VoicemailMessage};
use crate::writer::{self, Op};
use crate::{rows, schema, CallStore, Error, RegistrationStore, Store, VoicemailStore};

/// The database file name inside the data directory.
pub const DB_FILE: &str = "switchboard.db";

/// How long a connection waits on the other's lock before failing (checkpoints, migrations).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    path: PathBuf,
    /// `None` once closed; dropping it ends the writer thread's loop.
    ops: Mutex<Option<Sender<Op>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Reads block the calling thread; async callers should use `spawn_blocking`.
    reader: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) `<data_dir>/switchboard.db`, creating `data_dir` too.
    pub fn open(data_dir: impl AsRef<Path>) -> Result<Self, Error> {
        let dir = data_dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Error::DataDir {
            path: dir.to_owned(),
            source,
        })?;
        Self::open_file(dir.join(DB_FILE))
    }

    /// Opens (creating if needed) the database file at `path`, migrating its schema.
    pub fn open_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_owned();
        let mut conn = Connection::open(&path)?;
        configure(&conn)?;
        schema::migrate(&mut conn)?;
        let reader = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        reader.busy_timeout(BUSY_TIMEOUT)?;
        let (tx, rx) = mpsc::channel();
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || writer::run(conn, rx))
            .map_err(|source| Error::DataDir {
                path: path.clone(),
                source,
            })?;
        Ok(SqliteStore {
            path,
            ops: Mutex::new(Some(tx)),
            writer: Mutex::new(Some(handle)),
            reader: Mutex::new(reader),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the writer to commit every queued op, then stops it. Later writes fail with
    /// [`Error::WriterStopped`]. Dropping the store does the same, without reporting errors.
    pub fn close(&self) -> Result<(), Error> {
        let flushed = self.flush();
        let sender = self.ops.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(sender);
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            handle.join().map_err(|_| Error::WriterStopped)?;
        }
        match flushed {
            Err(Error::WriterStopped) => Ok(()), // already closed
            other => other,
        }
    }

    fn send(&self, op: Op) -> Result<(), Error> {
        let guard = self.ops.lock().unwrap_or_else(|p| p.into_inner());
        let sender = guard.as_ref().ok_or(Error::WriterStopped)?;
        sender.send(op).map_err(|_| Error::WriterStopped)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, Error>) -> Result<T, Error> {
        let conn = self.reader.lock().unwrap_or_else(|p| p.into_inner());
        let result = f(&conn);
        // Reads are rare (the API, start-up), so the reader keeps no page cache between them:
        // a report over many call records would otherwise leave megabytes cached for good.
        writer::release_cache(&conn);
        result
    }
}

fn configure(conn: &Connection) -> Result<(), Error> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // journal_mode answers with the mode in effect; WAL persists in the file once set.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, "SQLite refused WAL mode; writes will block readers");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(())
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Let the writer drain what is queued, so dropping the store loses nothing.
        if let Err(e) = self.close() {
            tracing::error!(error = %e, "store closed with failed writes");
        }
    }
}

impl RegistrationStore for SqliteStore {
    fn upsert_registration(&self, registration: Registration) -> Result<(), Error> {
        self.send(Op::UpsertRegistration(registration))
    }

    fn remove_registration(&self, username: &str, contact: &str) -> Result<(), Error> {
        self.send(Op::RemoveRegistration {
            username: username.to_owned(),
            contact: contact.to_owned(),
        })
    }

    fn set_reachable(&self, username: &str, contact: &str, reachable: bool) -> Result<(), Error> {
        self.send(Op::SetReachable {
            username: username.to_owned(),
            contact: contact.to_owned(),
            reachable,
        })
    }

    fn load_registrations(&self, now: UnixSeconds) -> Result<Vec<Registration>, Error> {
        // Expired rows are skipped here and deleted by the writer, keeping the reader read-only.
        let live = self.read(|conn| rows::live_registrations(conn, now))?;
        self.send(Op::RemoveExpired(now))?;
        Ok(live)
    }
}

impl CallStore for SqliteStore {
    fn insert_call_record(&self, record: CallRecord) -> Result<(), Error> {
        self.send(Op::InsertCall(Box::new(record)))
    }

    fn update_call_media(
        &self,
        node_id: &str,
        id: &str,
        recording_duration_ms: Option<i64>,
        caller: Option<LegQuality>,
        operator: Option<LegQuality>,
    ) -> Result<(), Error> {
        self.send(Op::UpdateCallMedia {
            node_id: node_id.to_owned(),
            id: id.to_owned(),
            media: CallMedia {
                recording_duration_ms,
                caller,
                operator,
            },
        })
    }

    fn recent_calls(&self, limit: usize) -> Result<Vec<CallRecord>, Error> {
        self.read(|conn| rows::recent_calls(conn, limit))
    }
}

impl VoicemailStore for SqliteStore {
    fn insert_voicemail(&self, message: VoicemailMessage) -> Result<(), Error> {
        self.send(Op::InsertVoicemail(Box::new(message)))
    }

    fn recent_voicemails(&self, limit: usize) -> Result<Vec<VoicemailMessage>, Error> {
        self.read(|conn| voicemail::recent(conn, limit))
    }
}

impl Store for SqliteStore {
    fn flush(&self) -> Result<(), Error> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(Op::Flush(tx))?;
        match rx.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err((failed, first))) => Err(Error::WriteFailed { failed, first }),
            Err(_) => Err(Error::WriterStopped),
        }
    }
}
