//! The SQLite store against real database files in temporary directories.

use std::net::SocketAddr;
use std::sync::Arc;

use store::{
    CallRecord, CallStore, Direction, Disposition, Error, HangupBy, Registration,
    RegistrationStore, SqliteStore, Store, Transport,
};

fn registration(username: &str, contact: &str, expires_at: i64) -> Registration {
    Registration {
        username: username.into(),
        contact: contact.into(),
        received: "203.0.113.5:40123".parse::<SocketAddr>().unwrap(),
        transport: Transport::Udp,
        expires_at,
        user_agent: Some("baresip v3".into()),
        instance_id: None,
        reg_id: None,
        reachable: true,
    }
}

fn call(id: &str, started_at: i64) -> CallRecord {
    CallRecord {
        id: id.into(),
        node_id: "node1".into(),
        started_at,
        answered_at: Some(started_at + 4_000),
        ended_at: started_at + 64_000,
        direction: Direction::Inbound,
        caller: "+79161234567".into(),
        callee: "+74950000001".into(),
        trunk: Some("demo".into()),
        number_name: Some("promo".into()),
        landing_page: Some("https://shop.example/promo".into()),
        campaign: Some("spring-sale".into()),
        operator: Some("alice".into()),
        disposition: Disposition::Answered,
        hangup_by: Some(HangupBy::Caller),
        hangup_reason: Some("BYE".into()),
        recording_path: Some("var/recordings/a.wav".into()),
        media: store::CallMedia::default(),
    }
}

#[test]
fn registrations_upsert_remove_and_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store
        .upsert_registration(registration("alice", "sip:alice@10.0.0.2:5060", 2000))
        .unwrap();
    store
        .upsert_registration(registration("alice", "sip:alice@10.0.0.3:5060", 2000))
        .unwrap();
    store
        .upsert_registration(registration("bob", "sip:bob@10.0.0.4:5060", 2000))
        .unwrap();
    // Refresh: same (username, contact), new expiry and source: replaced, not duplicated.
    let mut refreshed = registration("alice", "sip:alice@10.0.0.2:5060", 3000);
    refreshed.received = "203.0.113.5:40999".parse().unwrap();
    refreshed.transport = Transport::Tcp;
    refreshed.instance_id = Some("<urn:uuid:00000000-0000-0000-0000-000000000001>".into());
    refreshed.reg_id = Some(1);
    store.upsert_registration(refreshed.clone()).unwrap();
    store
        .remove_registration("bob", "sip:bob@10.0.0.4:5060")
        .unwrap();
    store
        .set_reachable("alice", "sip:alice@10.0.0.3:5060", false)
        .unwrap();
    store.flush().unwrap();

    let loaded = store.load_registrations(1000).unwrap();
    let mut unreachable = registration("alice", "sip:alice@10.0.0.3:5060", 2000);
    unreachable.reachable = false;
    assert_eq!(loaded, vec![refreshed, unreachable]);
}

#[test]
fn expired_registrations_are_dropped_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store
        .upsert_registration(registration("alice", "sip:a@1", 1000))
        .unwrap();
    store
        .upsert_registration(registration("bob", "sip:b@1", 1001))
        .unwrap();
    store.flush().unwrap();
    // Expiry is exclusive: a contact expiring at `now` is gone.
    let live = store.load_registrations(1000).unwrap();
    assert_eq!(
        live.iter().map(|r| r.username.as_str()).collect::<Vec<_>>(),
        ["bob"]
    );
    store.flush().unwrap();
    // alice's row was deleted, not just hidden: an earlier clock no longer finds it.
    let all = store.load_registrations(0).unwrap();
    assert_eq!(
        all.iter().map(|r| r.username.as_str()).collect::<Vec<_>>(),
        ["bob"]
    );
}

#[test]
fn call_records_round_trip_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let first = call("c1", 1_700_000_000_000);
    let mut missed = call("c2", 1_700_000_100_000);
    missed.answered_at = None;
    missed.operator = None;
    missed.disposition = Disposition::Missed;
    missed.hangup_by = Some(HangupBy::Switch);
    missed.hangup_reason = Some("ring timeout".into());
    missed.recording_path = None;
    let mut outbound = call("c3", 1_700_000_200_000);
    outbound.direction = Direction::Outbound;
    outbound.number_name = None;
    outbound.landing_page = None;
    outbound.campaign = None;
    outbound.trunk = None;
    outbound.hangup_by = None;
    for c in [&first, &missed, &outbound] {
        store.insert_call_record(c.clone()).unwrap();
    }
    store.flush().unwrap();
    assert_eq!(
        store.recent_calls(2).unwrap(),
        vec![outbound.clone(), missed.clone()]
    );
    assert_eq!(
        store.recent_calls(10).unwrap(),
        vec![outbound, missed, first]
    );
    assert_eq!(store.recent_calls(0).unwrap(), vec![]);
}

#[test]
fn durations_are_stored_for_reports() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let mut c = call("d1", 10_000);
    assert_eq!((c.talk_millis(), c.total_millis()), (60_000, 64_000));
    store.insert_call_record(c.clone()).unwrap();
    c.id = "d2".into();
    c.answered_at = None;
    assert_eq!(c.talk_millis(), 0);
    store.insert_call_record(c).unwrap();
    store.close().unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("switchboard.db")).unwrap();
    let rows: Vec<(String, i64, i64)> = conn
        .prepare("SELECT id, talk_ms, total_ms FROM call_records ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        rows,
        [("d1".into(), 60_000, 64_000), ("d2".into(), 0, 64_000)]
    );
}

#[test]
fn reopen_after_drop_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        store
            .upsert_registration(registration("alice", "sip:a@1", 5000))
            .unwrap();
        store.insert_call_record(call("kept", 1)).unwrap();
        // No flush: dropping the store drains the queue.
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(
        store.load_registrations(100).unwrap(),
        vec![registration("alice", "sip:a@1", 5000)]
    );
    assert_eq!(store.recent_calls(10).unwrap(), vec![call("kept", 1)]);
}

#[test]
fn database_is_in_wal_mode_with_current_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("nested/data")).unwrap();
    assert_eq!(store.path(), dir.path().join("nested/data/switchboard.db"));
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3);
}

#[test]
fn failed_writes_are_reported_by_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store.insert_call_record(call("dup", 1)).unwrap();
    store.insert_call_record(call("dup", 2)).unwrap();
    match store.flush() {
        Err(Error::WriteFailed { failed: 1, first }) => {
            assert!(first.contains("UNIQUE"), "{first}")
        }
        other => panic!("expected WriteFailed, got {other:?}"),
    }
    // Reported once; the store keeps working.
    store.flush().unwrap();
    store.insert_call_record(call("next", 3)).unwrap();
    store.flush().unwrap();
    assert_eq!(store.recent_calls(10).unwrap().len(), 2);
}

#[test]
fn closed_store_refuses_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store.insert_call_record(call("last", 1)).unwrap();
    store.close().unwrap();
    assert!(matches!(
        store.insert_call_record(call("late", 2)),
        Err(Error::WriterStopped)
    ));
    assert!(matches!(store.flush(), Err(Error::WriterStopped)));
    store.close().unwrap();
    // Reads still work after close, and the queued record was committed by it.
    assert_eq!(store.recent_calls(10).unwrap(), vec![call("last", 1)]);
}

#[test]
fn unusable_data_dir_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    assert!(matches!(
        SqliteStore::open(&file),
        Err(Error::DataDir { .. })
    ));
}

#[test]
fn shared_across_threads_as_trait_object() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path()).unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for i in 0..25 {
                    store
                        .insert_call_record(call(&format!("t{t}-{i}"), i64::from(t * 100 + i)))
                        .unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    store.flush().unwrap();
    assert_eq!(store.recent_calls(1000).unwrap().len(), 100);
}

/// Media figures arrive after the record: each update fills its own columns and keeps the others;
/// an update for a record never stored changes nothing.
#[test]
fn call_media_updates_merge_into_the_stored_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let record = call("c1", 1_700_000_000_000);
    store.insert_call_record(record.clone()).unwrap();
    let caller = store::LegQuality {
        packets: 3000,
        lost: 2,
        jitter_ms: 1.5,
        mos: 4.4,
    };
    let operator = store::LegQuality {
        packets: 2990,
        lost: 0,
        jitter_ms: 0.25,
        mos: 4.5,
    };
    store
        .update_call_media("node1", "c1", Some(60_020), None, None)
        .unwrap();
    store
        .update_call_media("node1", "c1", None, Some(caller), None)
        .unwrap();
    store
        .update_call_media("node1", "c1", None, None, Some(operator))
        .unwrap();
    store
        .update_call_media("node1", "unknown", Some(1), Some(caller), None)
        .unwrap();
    store.flush().unwrap();
    let mut expected = record;
    expected.media = store::CallMedia {
        recording_duration_ms: Some(60_020),
        caller: Some(caller),
        operator: Some(operator),
    };
    assert_eq!(store.recent_calls(10).unwrap(), vec![expected]);
}

/// Figures the record already carries when it is inserted are stored with it.
#[test]
fn call_media_known_at_insert_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let mut record = call("c1", 1_700_000_000_000);
    record.media.recording_duration_ms = Some(5_000);
    store.insert_call_record(record.clone()).unwrap();
    store.flush().unwrap();
    assert_eq!(store.recent_calls(1).unwrap(), vec![record]);
}

/// The writer gives its page cache back after a second without ops, and the reader after every
/// read; writes and reads on either side of that see the same data.
#[test]
fn writes_and_reads_after_the_page_cache_was_released() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let base = 1_700_000_000_000;
    for i in 0..300 {
        store
            .insert_call_record(call(&format!("early-{i}"), base + i))
            .unwrap();
    }
    store.flush().unwrap();
    assert_eq!(store.recent_calls(1000).unwrap().len(), 300);
    // Longer than the writer's idle spell: its cache is released before the next op.
    std::thread::sleep(std::time::Duration::from_millis(1_300));
    store
        .update_call_media("node1", "early-7", Some(1_234), None, None)
        .unwrap();
    store
        .insert_call_record(call("late", base + 10_000))
        .unwrap();
    store.flush().unwrap();
    let calls = store.recent_calls(1000).unwrap();
    assert_eq!(calls.len(), 301);
    assert_eq!(calls[0].id, "late");
    let updated = calls.iter().find(|c| c.id == "early-7").unwrap();
    assert_eq!(updated.media.recording_duration_ms, Some(1_234));
}
