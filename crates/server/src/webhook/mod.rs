//! Webhooks: each `[[webhook]]` of the current plan is told, by an HTTP POST of a JSON event,
//! when a call ends (`call.ended`) or a voicemail arrives (`voicemail.new`). Payload and delivery
//! rules: docs/webhooks.md.
//!
//! The driver calls [`Webhooks`] from the signalling task; building the payload is all that runs
//! there. Delivery (connect, send, retries with backoff) is the sender thread's, behind a bounded
//! queue that drops the oldest event when full.

mod http;
pub mod outbox;
pub mod payload;
mod sender;
pub mod sign;

use std::sync::Arc;

use dialplan::Plan;

use outbox::Delivery;
use payload::Event;
use sender::Shared;

pub use sign::signature;

pub struct Webhooks {
    /// The endpoints come from here: the driver passes every reloaded plan, so a reload takes
    /// effect with the next event (deliveries already queued go where they were going).
    plan: Arc<Plan>,
    shared: Arc<Shared>,
}

impl Webhooks {
    /// Starts the sender thread.
    pub fn start(plan: Arc<Plan>) -> std::io::Result<Webhooks> {
        let shared = Shared::new(outbox::CAPACITY);
        let thread = shared.clone();
        std::thread::Builder::new()
            .name("webhooks".into())
            .spawn(move || sender::run(thread))?;
        Ok(Webhooks { plan, shared })
    }

    pub fn set_plan(&mut self, plan: Arc<Plan>) {
        self.plan = plan;
    }

    pub fn call_ended(&self, record: &store::CallRecord) {
        if self.wanted(dialplan::WebhookEvent::CallEnded) {
            self.send(payload::call_ended(record, &self.plan));
        }
    }

    pub fn voicemail(&self, message: &store::VoicemailMessage) {
        if self.wanted(dialplan::WebhookEvent::VoicemailNew) {
            self.send(payload::voicemail_new(message, &self.plan));
        }
    }

    fn wanted(&self, kind: dialplan::WebhookEvent) -> bool {
        self.plan.webhooks().iter().any(|h| h.wants(kind))
    }

    fn send(&self, event: Event) {
        let body = Arc::new(event.body);
        for hook in self.plan.webhooks().iter().filter(|h| h.wants(event.kind)) {
            self.shared.push(Delivery::new(
                hook,
                event.kind,
                event.id.clone(),
                body.clone(),
            ));
        }
    }
}

impl Webhooks {
    /// For a stopping switch: sends the events already queued, for at most `within` (retries
    /// waiting for later are abandoned), and ends the sender thread.
    pub fn shutdown(self, within: std::time::Duration) {
        self.shared.close(within);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Duration;

    #[test]
    fn shutdown_sends_what_is_queued_then_stops() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let plan = dialplan::load_str(
            "t.toml",
            &format!(
                "[[group]]\nname = \"sales\"\n\n[[operator]]\nusername = \"alice\"\npassword = \"correct-horse-1\"\ngroups = [\"sales\"]\n\n[[number]]\nnumber = \"+74950000001\"\nring = {{ group = \"sales\" }}\n\n[[webhook]]\nurl = \"http://{addr}/x\"\n"
            ),
        )
        .unwrap();
        let receiver = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.ends_with(b"}") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 200 OK\r\n\r\n").unwrap();
            String::from_utf8(got).unwrap()
        });
        let hooks = Webhooks::start(Arc::new(plan)).unwrap();
        let message = store::VoicemailMessage {
            node_id: "node1".into(),
            call_id: "c1".into(),
            mailbox: "main".into(),
            caller: "+79150000000".into(),
            number: "+74950000001".into(),
            landing_page: None,
            started_at: 0,
            duration_ms: 1000,
            path: "/tmp/x.wav".into(),
        };
        let shared = hooks.shared.clone();
        hooks.voicemail(&message);
        hooks.shutdown(Duration::from_secs(5));
        let request = receiver.join().unwrap();
        assert!(
            request.contains("X-Switchboard-Event: voicemail.new"),
            "{request}"
        );
        assert!(shared.lock().finished, "the thread ended");
    }
}
