//! SQL for each operation, and row <-> struct mapping. Shared by the writer thread and readers.

use rusqlite::{params, Connection, Row};

use crate::model::*;
use crate::Error;

pub(crate) fn upsert_registration(conn: &Connection, r: &Registration) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO registrations
             (username, contact, received, transport, expires_at, user_agent, instance_id, reg_id, reachable)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (username, contact) DO UPDATE SET
             received = excluded.received, transport = excluded.transport,
             expires_at = excluded.expires_at, user_agent = excluded.user_agent,
             instance_id = excluded.instance_id, reg_id = excluded.reg_id,
             reachable = excluded.reachable",
    )?
    .execute(params![
        r.username,
        r.contact,
        r.received.to_string(),
        r.transport.as_str(),
        r.expires_at,
        r.user_agent,
        r.instance_id,
        r.reg_id,
        r.reachable,
    ])?;
    Ok(())
}

pub(crate) fn remove_registration(
    conn: &Connection,
    username: &str,
    contact: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM registrations WHERE username = ?1 AND contact = ?2")?
        .execute(params![username, contact])?;
    Ok(())
}

pub(crate) fn set_reachable(
    conn: &Connection,
    username: &str,
    contact: &str,
    reachable: bool,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE registrations SET reachable = ?3 WHERE username = ?1 AND contact = ?2",
    )?
    .execute(params![username, contact, reachable])?;
    Ok(())
}

pub(crate) fn remove_expired(conn: &Connection, now: UnixSeconds) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM registrations WHERE expires_at <= ?1")?
        .execute(params![now])?;
    Ok(())
}

pub(crate) fn live_registrations(
    conn: &Connection,
    now: UnixSeconds,
) -> Result<Vec<Registration>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT username, contact, received, transport, expires_at, user_agent, instance_id, reg_id, reachable
         FROM registrations WHERE expires_at > ?1 ORDER BY username, contact",
    )?;
    let rows = stmt.query_map(params![now], registration_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

/// The outer `rusqlite::Result` is SQLite's; the inner one is ours (a value we cannot parse).
fn registration_row(row: &Row) -> rusqlite::Result<Result<Registration, Error>> {
    let received: String = row.get(2)?;
    let transport: String = row.get(3)?;
    let bad = |detail: String| Error::BadRow {
        table: "registrations",
        detail,
    };
    let received = match received.parse() {
        Ok(addr) => addr,
        Err(_) => return Ok(Err(bad(format!("received `{received}` is not ip:port")))),
    };
    let transport = match transport.parse() {
        Ok(t) => t,
        Err(e) => return Ok(Err(bad(e))),
    };
    Ok(Ok(Registration {
        username: row.get(0)?,
        contact: row.get(1)?,
        received,
        transport,
        expires_at: row.get(4)?,
        user_agent: row.get(5)?,
        instance_id: row.get(6)?,
        reg_id: row.get(7)?,
        reachable: row.get(8)?,
    }))
}

pub(crate) fn insert_call_record(conn: &Connection, c: &CallRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO call_records
             (node_id, id, started_at, answered_at, ended_at, direction, caller, callee, trunk,
              number_name, landing_page, campaign, operator, disposition, hangup_by, hangup_reason,
              recording_path, talk_ms, total_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?
    .execute(params![
        c.node_id,
        c.id,
        c.started_at,
        c.answered_at,
        c.ended_at,
        c.direction.as_str(),
        c.caller,
        c.callee,
        c.trunk,
        c.number_name,
        c.landing_page,
        c.campaign,
        c.operator,
        c.disposition.as_str(),
        c.hangup_by.map(|h| h.as_str()),
        c.hangup_reason,
        c.recording_path,
        c.talk_millis(),
        c.total_millis(),
    ])?;
    // Figures known at the end of the call (a recording or leg that finished first) go in too.
    if c.media != CallMedia::default() {
        update_call_media(conn, &c.node_id, &c.id, &c.media)?;
    }
    Ok(())
}

pub(crate) fn recent_calls(conn: &Connection, limit: usize) -> Result<Vec<CallRecord>, Error> {
    let mut stmt = conn.prepare_cached(
        "SELECT node_id, id, started_at, answered_at, ended_at, direction, caller, callee, trunk,
                number_name, landing_page, campaign, operator, disposition, hangup_by, hangup_reason,
                recording_path, recording_duration_ms,
                caller_packets, caller_lost, caller_jitter_ms, caller_mos,
                operator_packets, operator_lost, operator_jitter_ms, operator_mos
         FROM call_records ORDER BY started_at DESC, rowid DESC LIMIT ?1",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![limit], call_row)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

fn call_row(row: &Row) -> rusqlite::Result<Result<CallRecord, Error>> {
    let bad = |detail: String| Error::BadRow {
        table: "call_records",
        detail,
    };
    let direction: String = row.get(5)?;
    let disposition: String = row.get(13)?;
    let hangup_by: Option<String> = row.get(14)?;
    let direction = match direction.parse() {
        Ok(d) => d,
        Err(e) => return Ok(Err(bad(e))),
    };
    let disposition = match disposition.parse() {
        Ok(d) => d,
        Err(e) => return Ok(Err(bad(e))),
    };
    let hangup_by = match hangup_by.map(|h| h.parse()).transpose() {
        Ok(h) => h,
        Err(e) => return Ok(Err(bad(e))),
    };
    Ok(Ok(CallRecord {
        node_id: row.get(0)?,
        id: row.get(1)?,
        started_at: row.get(2)?,
        answered_at: row.get(3)?,
        ended_at: row.get(4)?,
        direction,
        caller: row.get(6)?,
        callee: row.get(7)?,
        trunk: row.get(8)?,
        number_name: row.get(9)?,
        landing_page: row.get(10)?,
        campaign: row.get(11)?,
        operator: row.get(12)?,
        disposition,
        hangup_by,
        hangup_reason: row.get(15)?,
        recording_path: row.get(16)?,
        media: CallMedia {
            recording_duration_ms: row.get(17)?,
            caller: leg_quality(row, 18)?,
            operator: leg_quality(row, 22)?,
        },
    }))
}

/// Four columns from `first`: packets, lost, jitter, MOS; `None` while packets is NULL.
fn leg_quality(row: &Row, first: usize) -> rusqlite::Result<Option<LegQuality>> {
    let packets: Option<i64> = row.get(first)?;
    let Some(packets) = packets else {
        return Ok(None);
    };
    Ok(Some(LegQuality {
        packets,
        lost: row.get::<_, Option<i64>>(first + 1)?.unwrap_or(0),
        jitter_ms: row.get::<_, Option<f64>>(first + 2)?.unwrap_or(0.0),
        mos: row.get::<_, Option<f64>>(first + 3)?.unwrap_or(0.0),
    }))
}

/// Fills in media figures; NULL parameters keep what is stored.
pub(crate) fn update_call_media(
    conn: &Connection,
    node_id: &str,
    id: &str,
    m: &CallMedia,
) -> rusqlite::Result<()> {
    let c = m.caller;
    let o = m.operator;
    conn.prepare_cached(
        "UPDATE call_records SET
             recording_duration_ms = COALESCE(?3, recording_duration_ms),
             caller_packets = COALESCE(?4, caller_packets),
             caller_lost = COALESCE(?5, caller_lost),
             caller_jitter_ms = COALESCE(?6, caller_jitter_ms),
             caller_mos = COALESCE(?7, caller_mos),
             operator_packets = COALESCE(?8, operator_packets),
             operator_lost = COALESCE(?9, operator_lost),
             operator_jitter_ms = COALESCE(?10, operator_jitter_ms),
             operator_mos = COALESCE(?11, operator_mos)
         WHERE node_id = ?1 AND id = ?2",
    )?
    .execute(params![
        node_id,
        id,
        m.recording_duration_ms,
        c.map(|q| q.packets),
        c.map(|q| q.lost),
        c.map(|q| q.jitter_ms),
        c.map(|q| q.mos),
        o.map(|q| q.packets),
        o.map(|q| q.lost),
        o.map(|q| q.jitter_ms),
        o.map(|q| q.mos),
    ])?;
    Ok(())
}
