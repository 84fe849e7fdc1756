//! Voicemail messages: who left one, for which number and landing page, when, how long, and where
//! the WAV file is. The model and its rows live together since nothing else touches the table.

use rusqlite::{params, Connection, Row};

use crate::model::UnixMillis;
use crate::Error;

/// One message left in a voicemail box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoicemailMessage {
    pub node_id: String,
    /// The call it was left in (the call record's id).
    pub call_id: String,
    pub mailbox: String,
    /// The customer's number as the trunk sent it.
    pub caller: String,
    /// The virtual number they dialled.
    pub number: String,
    pub landing_page: Option<String>,
    /// When recording started.
    pub started_at: UnixMillis,
    pub duration_ms: i64,
    /// The WAV file.
    pub path: String,
}

pub(crate) fn insert(conn: &Connection, m: &VoicemailMessage) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO voicemails
         (node_id, call_id, mailbox, caller, number, landing_page, started_at, duration_ms, path)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        m.node_id,
        m.call_id,
        m.mailbox,
        m.caller,
        m.number,
        m.landing_page,
        m.started_at,
        m.duration_ms,
        m.path,
    ])?;
    Ok(())
}

pub(crate) fn recent(conn: &Connection, limit: usize) -> Result<Vec<VoicemailMessage>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT node_id, call_id, mailbox, caller, number, landing_page, started_at, duration_ms, path
         FROM voicemails ORDER BY started_at DESC LIMIT ?1",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![limit], row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(r?);
    }
    Ok(out)
}

fn row(r: &Row) -> rusqlite::Result<VoicemailMessage> {
    Ok(VoicemailMessage {
        node_id: r.get(0)?,
        call_id: r.get(1)?,
        mailbox: r.get(2)?,
        caller: r.get(3)?,
        number: r.get(4)?,
        landing_page: r.get(5)?,
        started_at: r.get(6)?,
        duration_ms: r.get(7)?,
        path: r.get(8)?,
    })
}
