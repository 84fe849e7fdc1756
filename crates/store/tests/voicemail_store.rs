//! Voicemail messages in the SQLite store, against real database files.

use store::{SqliteStore, Store, VoicemailMessage, VoicemailStore};

fn message(call_id: &str, started_at: i64) -> VoicemailMessage {
    VoicemailMessage {
        node_id: "node1".into(),
        call_id: call_id.into(),
        mailbox: "after-hours".into(),
        caller: "+79161234567".into(),
        number: "+74950000001".into(),
        landing_page: Some("https://shop.example/promo".into()),
        started_at,
        duration_ms: 7_340,
        path: format!("voicemail/after-hours/{call_id}.wav"),
    }
}

#[test]
fn voicemails_round_trip_newest_first_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        store.insert_voicemail(message("c1", 1_000)).unwrap();
        let mut no_page = message("c2", 2_000);
        no_page.landing_page = None;
        store.insert_voicemail(no_page).unwrap();
        store.flush().unwrap();
        let got = store.recent_voicemails(10).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].call_id, "c2");
        assert_eq!(got[0].landing_page, None);
        assert_eq!(got[1], message("c1", 1_000));
        assert_eq!(store.recent_voicemails(1).unwrap().len(), 1);
    }
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.recent_voicemails(10).unwrap().len(), 2);
}
