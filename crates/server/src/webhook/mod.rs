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

impl Drop for Webhooks {
    fn drop(&mut self) {
        self.shared.close();
    }
}
