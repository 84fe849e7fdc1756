//! What the HTTP API sees of the running switch.
//!
//! [`LiveBook`] lives in the signalling task: it follows the core's effects (bindings saved and
//! removed, call records) and publishes an immutable [`api::Live`] snapshot on a `watch` channel
//! when something changed. [`ServerApi`] is the [`api::ApiState`] the API reads: the latest
//! snapshot, the store (on blocking threads) and the reload task.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use api::{Live, ReloadOutcome, ReloadStatus, ReloadTrigger, Voicemail};
use store::{CallStore, VoicemailStore};
use tokio::sync::{mpsc, oneshot, watch};

use crate::reload::{ReloadRequest, SharedStatus};

/// The signalling task's side: keeps the figures and publishes them.
pub struct LiveBook {
    /// Registered contacts by (username, contact).
    registrations: BTreeMap<(String, String), store::Registration>,
    live: Live,
    dirty: bool,
    tx: watch::Sender<Arc<Live>>,
}

impl LiveBook {
    pub fn new(started_at_unix_ms: i64) -> (LiveBook, watch::Receiver<Arc<Live>>) {
        let live = Live {
            started_at_unix_ms,
            ..Live::default()
        };
        let (tx, rx) = watch::channel(Arc::new(live.clone()));
        let book = LiveBook {
            registrations: BTreeMap::new(),
            live,
            dirty: false,
            tx,
        };
        (book, rx)
    }

    pub fn binding_saved(&mut self, reg: &store::Registration) {
        self.registrations
            .insert((reg.username.clone(), reg.contact.clone()), reg.clone());
        self.dirty = true;
    }

    pub fn binding_removed(&mut self, username: &str, contact: &str) {
        self.registrations
            .remove(&(username.to_owned(), contact.to_owned()));
        self.dirty = true;
    }

    pub fn call_finished(&mut self, disposition: store::Disposition) {
        *self.live.calls_finished.entry(disposition).or_insert(0) += 1;
        self.dirty = true;
    }

    /// Publishes a new snapshot if anything changed since the last one. Called once per turn of
    /// the signalling loop, so a burst of events costs one snapshot.
    pub fn publish(&mut self, active_calls: usize) {
        if !self.dirty && active_calls == self.live.active_calls {
            return;
        }
        self.live.active_calls = active_calls;
        if self.dirty {
            self.live.registrations = self.registrations.values().cloned().collect();
        }
        self.dirty = false;
        self.tx.send_replace(Arc::new(self.live.clone()));
    }
}

/// The API's view of the server.
pub struct ServerApi {
    pub live: watch::Receiver<Arc<Live>>,
    pub store: Arc<store::SqliteStore>,
    pub reloads: mpsc::Sender<ReloadRequest>,
    pub status: SharedStatus,
    /// Where relative voicemail paths are found.
    pub data_dir: PathBuf,
}

/// How many messages a voicemail lookup by id searches (newest first).
const VOICEMAIL_SEARCH: usize = 10_000;

impl api::ApiState for ServerApi {
    fn live(&self) -> Arc<Live> {
        self.live.borrow().clone()
    }

    fn recent_calls(&self, limit: usize) -> Result<Vec<store::CallRecord>, api::Error> {
        Ok(self.store.recent_calls(limit)?)
    }

    fn reload(&self) -> Pin<Box<dyn Future<Output = ReloadOutcome> + Send + '_>> {
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            if self.reloads.send(reply).await.is_ok() {
                if let Ok(outcome) = answer.await {
                    return outcome;
                }
            }
            shutting_down()
        })
    }

    fn reload_status(&self) -> ReloadStatus {
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn voicemails(&self) -> Result<Vec<Voicemail>, api::Error> {
        let messages = self.store.recent_voicemails(VOICEMAIL_SEARCH)?;
        Ok(messages
            .iter()
            .map(|m| voicemail_view(m, &self.data_dir))
            .collect())
    }

    fn voicemail_audio(&self, id: &str) -> Result<Option<Vec<u8>>, api::Error> {
        let messages = self.store.recent_voicemails(VOICEMAIL_SEARCH)?;
        let Some(m) = messages.iter().find(|m| m.call_id == id) else {
            return Ok(None);
        };
        match std::fs::read(resolve(&m.path, &self.data_dir)) {
            Ok(wav) => Ok(Some(wav)),
            // Listed but its file is gone (deleted by hand): not found, not a server error.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

fn voicemail_view(m: &store::VoicemailMessage, data_dir: &Path) -> Voicemail {
    let size = std::fs::metadata(resolve(&m.path, data_dir)).map_or(0, |meta| meta.len());
    Voicemail {
        id: m.call_id.clone(),
        mailbox: m.mailbox.clone(),
        caller: Some(m.caller.clone()),
        number: Some(m.number.clone()),
        landing_page: m.landing_page.clone(),
        recorded_at_unix_ms: Some(m.started_at),
        duration_ms: Some(m.duration_ms),
        size,
    }
}

/// Voicemail paths in the store are as the switch wrote them (absolute, or
/// relative to the working directory: data_dir joined); failing that, tried
/// under the data directory.
fn resolve(path: &str, data_dir: &Path) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() || p.exists() {
        p.to_path_buf()
    } else {
        data_dir.join(p)
    }
}

fn shutting_down() -> ReloadOutcome {
    ReloadOutcome {
        at_unix_ms: 0,
        trigger: ReloadTrigger::Api,
        file: String::new(),
        ok: false,
        diagnostics: vec![dialplan::Diagnostic {
            file: String::new(),
            line: 0,
            column: 0,
            severity: dialplan::Severity::Error,
            message: "the switch is shutting down".to_owned(),
            hint: None,
        }],
        restart_needed: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(user: &str, contact: &str) -> store::Registration {
        store::Registration {
            username: user.into(),
            contact: contact.into(),
            received: "127.0.0.1:5062".parse().unwrap(),
            transport: store::Transport::Udp,
            expires_at: 100,
            user_agent: None,
            instance_id: None,
            reg_id: None,
            reachable: true,
        }
    }

    fn server_api(dir: &Path) -> (ServerApi, Arc<store::SqliteStore>) {
        let store = Arc::new(store::SqliteStore::open(dir).unwrap());
        let (_book, live) = LiveBook::new(0);
        let (reloads, _) = mpsc::channel(1);
        let api = ServerApi {
            live,
            store: store.clone(),
            reloads,
            status: SharedStatus::default(),
            data_dir: dir.to_path_buf(),
        };
        (api, store)
    }

    #[test]
    fn voicemail_is_listed_from_the_store_and_read_from_the_data_dir() {
        use api::ApiState;
        use store::{Store, VoicemailStore};
        let dir = tempfile::tempdir().unwrap();
        let (api, store) = server_api(dir.path());
        std::fs::create_dir_all(dir.path().join("voicemail/sales")).unwrap();
        std::fs::write(dir.path().join("voicemail/sales/m1.wav"), b"RIFF1234WAVE").unwrap();
        let message = |call_id: &str, path: &str, at: i64| store::VoicemailMessage {
            node_id: "node1".into(),
            call_id: call_id.into(),
            mailbox: "sales".into(),
            caller: "+79150000000".into(),
            number: "+74950000001".into(),
            landing_page: Some("https://shop.example/promo".into()),
            started_at: at,
            duration_ms: 4_000,
            path: path.into(),
        };
        store
            .insert_voicemail(message("c1@h", "voicemail/sales/m1.wav", 1_000))
            .unwrap();
        store
            .insert_voicemail(message("c2@h", "voicemail/sales/gone.wav", 2_000))
            .unwrap();
        store.flush().unwrap();

        let list = api.voicemails().unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].id, "c2@h", "newest first");
        assert_eq!(list[1].size, 12);
        assert_eq!(
            list[1].landing_page.as_deref(),
            Some("https://shop.example/promo")
        );
        assert_eq!(
            api.voicemail_audio("c1@h").unwrap().as_deref(),
            Some(&b"RIFF1234WAVE"[..])
        );
        assert_eq!(api.voicemail_audio("c2@h").unwrap(), None, "file gone");
        assert_eq!(api.voicemail_audio("nope").unwrap(), None);
    }

    #[tokio::test]
    async fn a_reload_without_the_reload_task_says_so() {
        use api::ApiState;
        let dir = tempfile::tempdir().unwrap();
        let (api, _store) = server_api(dir.path());
        let outcome = api.reload().await;
        assert!(!outcome.ok);
        assert!(outcome.diagnostics[0].message.contains("shutting down"));
    }

    #[test]
    fn snapshots_follow_effects_and_are_published_only_on_change() {
        let (mut book, rx) = LiveBook::new(42);
        book.publish(0);
        assert!(!rx.has_changed().unwrap(), "nothing changed, nothing sent");
        book.binding_saved(&reg("alice", "sip:a@1"));
        book.binding_saved(&reg("alice", "sip:a@1"));
        book.binding_saved(&reg("bob", "sip:b@2"));
        book.call_finished(store::Disposition::Answered);
        book.call_finished(store::Disposition::Answered);
        book.publish(1);
        let live = rx.borrow().clone();
        assert_eq!(live.active_calls, 1);
        assert_eq!(live.registrations.len(), 2);
        assert_eq!(live.calls_finished[&store::Disposition::Answered], 2);
        assert_eq!(live.started_at_unix_ms, 42);
        book.binding_removed("alice", "sip:a@1");
        book.publish(0);
        let live = rx.borrow().clone();
        assert_eq!(live.active_calls, 0);
        assert_eq!(live.registrations.len(), 1);
        assert_eq!(live.registrations[0].username, "bob");
    }
}
