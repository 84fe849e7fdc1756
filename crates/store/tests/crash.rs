//! A committed record survives the process dying without any cleanup.
//!
//! The test re-runs this test binary as a child that writes, flushes and then aborts (no
//! destructors, no WAL checkpoint, like `kill -9` or a panic=abort crash). The parent then opens
//! the same database and finds the records.

use std::process::Command;

use store::{
    CallRecord, CallStore, Direction, Disposition, Registration, RegistrationStore, SqliteStore,
    Store, Transport,
};

const DIR_VAR: &str = "SWITCHBOARD_STORE_CRASH_DIR";

fn record(id: &str) -> CallRecord {
    CallRecord {
        id: id.into(),
        node_id: "node1".into(),
        started_at: 1_000,
        answered_at: None,
        ended_at: 2_000,
        direction: Direction::Inbound,
        caller: "+79161234567".into(),
        callee: "+74950000001".into(),
        trunk: None,
        number_name: None,
        landing_page: None,
        campaign: None,
        operator: None,
        disposition: Disposition::Abandoned,
        hangup_by: None,
        hangup_reason: None,
        recording_path: None,
        media: store::CallMedia::default(),
    }
}

/// The child half: does nothing unless the parent set the directory.
#[test]
fn crash_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let store = SqliteStore::open(&dir).unwrap();
    store.insert_call_record(record("before-crash")).unwrap();
    store
        .upsert_registration(Registration {
            username: "alice".into(),
            contact: "sip:alice@10.0.0.2".into(),
            received: "10.0.0.2:5060".parse().unwrap(),
            transport: Transport::Udp,
            expires_at: 9_999,
            user_agent: None,
            instance_id: None,
            reg_id: None,
            reachable: true,
        })
        .unwrap();
    store.flush().unwrap();
    std::process::abort();
}

#[test]
fn committed_records_survive_abort() {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_child", "--test-threads=1", "--nocapture"])
        .env(DIR_VAR, dir.path())
        .status()
        .unwrap();
    assert!(!status.success(), "the child should have aborted");
    // The WAL was never checkpointed into the main file: recovery on open must replay it.
    assert!(dir.path().join("switchboard.db-wal").exists());

    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(
        store.recent_calls(10).unwrap(),
        vec![record("before-crash")]
    );
    let regs = store.load_registrations(0).unwrap();
    assert_eq!(regs.len(), 1);
    assert_eq!(regs[0].username, "alice");
}
