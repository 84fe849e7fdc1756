//! The writer thread: the only place that writes to the database.
//!
//! Callers (async tasks on the call path) queue an [`Op`] on an unbounded channel and return at
//! once; they never wait for the disk. The thread applies ops in order, each in its own
//! transaction, so a call record is committed as soon as the thread reaches it. Failures are
//! counted and reported by the next [`Op::Flush`], since the caller that queued the op has moved on.

use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use rusqlite::Connection;

use crate::model::{CallMedia, CallRecord, Registration, UnixSeconds};
use crate::rows;
use crate::voicemail::{self, VoicemailMessage};

pub(crate) enum Op {
    UpsertRegistration(Registration),
    RemoveRegistration {
        username: String,
        contact: String,
    },
    SetReachable {
        username: String,
        contact: String,
        reachable: bool,
    },
    RemoveExpired(UnixSeconds),
    InsertCall(Box<CallRecord>),
    UpdateCallMedia {
        node_id: String,
        id: String,
        media: CallMedia,
    },
    InsertVoicemail(Box<VoicemailMessage>),
    /// Answered once every op queued before it is committed: `Ok` or the failures since the last
    /// flush.
    Flush(SyncSender<Result<(), (usize, String)>>),
}

/// How long the queue must stay empty before the connection's page cache is given back.
///
/// A busy switch queues a record every few milliseconds, so the cache stays warm under load; once
/// a peak is over, SQLite would otherwise keep up to its whole cache (about 2 MB, filled as the
/// call table grows) for good. Refilling it costs a few page reads on the next write, which come
/// from the OS page cache.
const RELEASE_CACHE_AFTER: Duration = Duration::from_secs(1);

/// Runs until every sender is dropped, then returns (the store joins it on close).
pub(crate) fn run(conn: Connection, ops: Receiver<Op>) {
    let mut failed = 0usize;
    let mut first_failure: Option<String> = None;
    // Whether the cache may hold pages read since it was last released.
    let mut cache_used = false;
    loop {
        let op = match ops.recv_timeout(RELEASE_CACHE_AFTER) {
            Ok(op) => op,
            Err(RecvTimeoutError::Timeout) => {
                if std::mem::take(&mut cache_used) {
                    release_cache(&conn);
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => return,
        };
        cache_used = true;
        let result = match op {
            Op::UpsertRegistration(r) => rows::upsert_registration(&conn, &r),
            Op::RemoveRegistration { username, contact } => {
                rows::remove_registration(&conn, &username, &contact)
            }
            Op::SetReachable {
                username,
                contact,
                reachable,
            } => rows::set_reachable(&conn, &username, &contact, reachable),
            Op::RemoveExpired(now) => rows::remove_expired(&conn, now),
            Op::InsertCall(c) => rows::insert_call_record(&conn, &c).map_err(|e| {
                // A lost call record is lost revenue data: say which one.
                tracing::error!(call = %c.id, error = %e, "call record not written");
                e
            }),
            Op::UpdateCallMedia { node_id, id, media } => {
                rows::update_call_media(&conn, &node_id, &id, &media).map_err(|e| {
                    tracing::error!(call = %id, error = %e, "call media figures not written");
                    e
                })
            }
            Op::InsertVoicemail(m) => voicemail::insert(&conn, &m).map_err(|e| {
                tracing::error!(path = %m.path, error = %e, "voicemail not indexed");
                e
            }),
            Op::Flush(reply) => {
                let outcome = match first_failure.take() {
                    None => Ok(()),
                    Some(first) => Err((std::mem::take(&mut failed), first)),
                };
                // The flusher may have given up waiting; nothing to do then.
                let _ = reply.send(outcome);
                continue;
            }
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "store write failed");
            failed += 1;
            first_failure.get_or_insert_with(|| e.to_string());
        }
    }
}

/// Frees the connection's page cache (`PRAGMA shrink_memory`); the data stays on disk.
pub(crate) fn release_cache(conn: &Connection) {
    if let Err(e) = conn.execute_batch("PRAGMA shrink_memory") {
        // Only memory is at stake; the next idle spell tries again.
        tracing::debug!(error = %e, "SQLite page cache not released");
    }
}
