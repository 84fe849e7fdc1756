//! Database schema and its migrations, versioned with SQLite's `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`. Never edit a released migration:
//! add a new one. Each runs in its own transaction together with the version bump, so a crash mid-
//! migration leaves the previous version intact.

use rusqlite::Connection;

use crate::Error;

const MIGRATIONS: &[&str] = &[
    // 0 -> 1: registrations and call records.
    r#"
    CREATE TABLE registrations (
        username     TEXT NOT NULL,
        contact      TEXT NOT NULL,
        received     TEXT NOT NULL,              -- source ip:port the REGISTER came from
        transport    TEXT NOT NULL,              -- udp | tcp | tls
        expires_at   INTEGER NOT NULL,           -- unix seconds
        user_agent   TEXT,
        instance_id  TEXT,
        reg_id       INTEGER,
        reachable    INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (username, contact)
    );
    CREATE INDEX registrations_expires_at ON registrations (expires_at);

    CREATE TABLE call_records (
        node_id        TEXT NOT NULL,
        id             TEXT NOT NULL,
        started_at     INTEGER NOT NULL,         -- unix milliseconds
        answered_at    INTEGER,
        ended_at       INTEGER NOT NULL,
        direction      TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
        caller         TEXT NOT NULL,
        callee         TEXT NOT NULL,
        trunk          TEXT,
        number_name    TEXT,
        landing_page   TEXT,
        campaign       TEXT,
        operator       TEXT,
        disposition    TEXT NOT NULL
                       CHECK (disposition IN ('answered', 'missed', 'abandoned', 'failed', 'busy')),
        hangup_by      TEXT,
        hangup_reason  TEXT,
        recording_path TEXT,
        talk_ms        INTEGER NOT NULL,         -- answered_at..ended_at, 0 if unanswered
        total_ms       INTEGER NOT NULL,         -- started_at..ended_at
        PRIMARY KEY (node_id, id)
    );
    CREATE INDEX call_records_started_at ON call_records (started_at);
    CREATE INDEX call_records_landing ON call_records (number_name, started_at);
    "#,
    // 1 -> 2: voicemail messages.
    r#"
    CREATE TABLE voicemails (
        node_id      TEXT NOT NULL,
        call_id      TEXT NOT NULL,
        mailbox      TEXT NOT NULL,
        caller       TEXT NOT NULL,
        number       TEXT NOT NULL,
        landing_page TEXT,
        started_at   INTEGER NOT NULL,           -- unix milliseconds, when recording began
        duration_ms  INTEGER NOT NULL,
        path         TEXT NOT NULL,              -- the WAV file
        PRIMARY KEY (node_id, call_id)
    );
    CREATE INDEX voicemails_started_at ON voicemails (started_at);
    "#,
    // 2 -> 3: a call's media figures, filled in after the call ended (recording length, and what
    // the switch received from each side). NULL: not known (no recording, leg never closed).
    r#"
    ALTER TABLE call_records ADD COLUMN recording_duration_ms INTEGER;
    ALTER TABLE call_records ADD COLUMN caller_packets INTEGER;
    ALTER TABLE call_records ADD COLUMN caller_lost INTEGER;
    ALTER TABLE call_records ADD COLUMN caller_jitter_ms REAL;
    ALTER TABLE call_records ADD COLUMN caller_mos REAL;
    ALTER TABLE call_records ADD COLUMN operator_packets INTEGER;
    ALTER TABLE call_records ADD COLUMN operator_lost INTEGER;
    ALTER TABLE call_records ADD COLUMN operator_jitter_ms REAL;
    ALTER TABLE call_records ADD COLUMN operator_mos REAL;
    "#,
];

/// The schema version this build writes.
pub(crate) const CURRENT_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`CURRENT_VERSION`]; refuses a database from a newer build.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), Error> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > CURRENT_VERSION {
        return Err(Error::SchemaTooNew {
            found,
            supported: CURRENT_VERSION,
        });
    }
    for (from, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(found).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        // PRAGMA takes no bound parameters; the value is our own integer.
        tx.execute_batch(&format!("PRAGMA user_version = {}", from + 1))?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_fresh_database_and_is_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, CURRENT_VERSION);
        migrate(&mut conn).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('registrations', 'call_records', 'voicemails')",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 3);
    }

    /// A database at version 2 (as the previous build left it) keeps its call records and gains
    /// the media columns, empty.
    #[test]
    fn migrates_version_2_database_keeping_records() {
        let mut conn = Connection::open_in_memory().unwrap();
        let tx = conn.transaction().unwrap();
        tx.execute_batch(MIGRATIONS[0]).unwrap();
        tx.execute_batch(MIGRATIONS[1]).unwrap();
        tx.execute_batch("PRAGMA user_version = 2").unwrap();
        tx.commit().unwrap();
        conn.execute_batch(
            "INSERT INTO call_records (node_id, id, started_at, ended_at, direction, caller, callee,
                 disposition, recording_path, talk_ms, total_ms)
             VALUES ('n', 'old', 1, 2, 'inbound', 'a', 'b', 'answered', 'x.wav', 1, 1)",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, 3);
        let (path, duration, mos): (String, Option<i64>, Option<f64>) = conn
            .query_row(
                "SELECT recording_path, recording_duration_ms, operator_mos FROM call_records",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!((path.as_str(), duration, mos), ("x.wav", None, None));
    }

    #[test]
    fn refuses_newer_schema() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("PRAGMA user_version = 99").unwrap();
        match migrate(&mut conn) {
            Err(Error::SchemaTooNew {
                found: 99,
                supported,
            }) => assert_eq!(supported, CURRENT_VERSION),
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }
}
