//! The JSON bodies of webhook events (schema in docs/webhooks.md): what the call record or
//! voicemail says, plus the virtual number's source from the plan (its UTM tags are not in the
//! record).

use dialplan::chrono::{DateTime, SecondsFormat};
use dialplan::{Plan, WebhookEvent};
use serde_json::{json, Map, Value};
use store::{CallRecord, Direction, UnixMillis, VoicemailMessage};

/// One event, ready for every endpoint that wants it.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: WebhookEvent,
    /// `<node>:<call id>:<event>`: unique per event, stable across retries.
    pub id: String,
    pub body: Vec<u8>,
}

pub fn call_ended(record: &CallRecord, plan: &Plan) -> Event {
    let kind = WebhookEvent::CallEnded;
    // Inbound calls were to a virtual number; the record has its name, landing page and campaign
    // as they were when the call came in, the plan adds its UTM tags.
    let number = match record.direction {
        Direction::Inbound => plan.number(&record.callee),
        Direction::Outbound => None,
    };
    let id = event_id(&record.node_id, &record.id, kind);
    let body = json!({
        "event": kind.as_str(),
        "event_id": id,
        "time": time(record.ended_at),
        "node_id": record.node_id,
        "call_id": record.id,
        "direction": record.direction.as_str(),
        "caller": record.caller,
        "number": record.callee,
        "number_name": record.number_name,
        "landing_page": record.landing_page,
        "campaign": record.campaign,
        "utm": utm(number),
        "trunk": record.trunk,
        "operator": record.operator,
        "disposition": record.disposition.as_str(),
        "hangup_by": record.hangup_by.map(|h| h.as_str()),
        "hangup_reason": record.hangup_reason,
        "started_at": time(record.started_at),
        "answered_at": record.answered_at.map(time),
        "ended_at": time(record.ended_at),
        "ring_ms": record.answered_at.unwrap_or(record.ended_at).saturating_sub(record.started_at).max(0),
        "talk_ms": record.talk_millis(),
        "duration_ms": record.total_millis(),
        "recording_path": record.recording_path,
    });
    Event {
        kind,
        id,
        body: body.to_string().into_bytes(),
    }
}

pub fn voicemail_new(message: &VoicemailMessage, plan: &Plan) -> Event {
    let kind = WebhookEvent::VoicemailNew;
    let number = plan.number(&message.number);
    let id = event_id(&message.node_id, &message.call_id, kind);
    let body = json!({
        "event": kind.as_str(),
        "event_id": id,
        "time": time(message.started_at.saturating_add(message.duration_ms)),
        "node_id": message.node_id,
        "call_id": message.call_id,
        "direction": Direction::Inbound.as_str(),
        "caller": message.caller,
        "number": message.number,
        "number_name": number.map(|n| n.name.clone()),
        "landing_page": message.landing_page,
        "campaign": number.and_then(|n| n.campaign.clone()),
        "utm": utm(number),
        "mailbox": message.mailbox,
        "started_at": time(message.started_at),
        "duration_ms": message.duration_ms,
        "voicemail_path": message.path,
    });
    Event {
        kind,
        id,
        body: body.to_string().into_bytes(),
    }
}

fn event_id(node: &str, call: &str, kind: WebhookEvent) -> String {
    format!("{node}:{call}:{kind}")
}

/// The number's `utm` table as an object; empty when there is none (or the number left the plan).
fn utm(number: Option<&dialplan::Number>) -> Value {
    let map: Map<String, Value> = number
        .map(|n| {
            n.utm
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect()
        })
        .unwrap_or_default();
    Value::Object(map)
}

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-24T08:05:03.120Z`.
fn time(ms: UnixMillis) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAN: &str = r#"
[[group]]
name = "sales"

[[operator]]
username = "alice"
password = "correct-horse-1"
groups = ["sales"]

[[number]]
number = "+74950000001"
name = "promo"
landing_page = "https://shop.example/promo"
campaign = "winter"
utm = { source = "yandex", medium = "cpc" }
ring = { group = "sales" }
"#;

    fn record() -> CallRecord {
        CallRecord {
            id: "abc@host".into(),
            node_id: "node1".into(),
            started_at: 1_764_000_000_000,
            answered_at: Some(1_764_000_004_000),
            ended_at: 1_764_000_064_500,
            direction: Direction::Inbound,
            caller: "+79150000000".into(),
            callee: "+74950000001".into(),
            trunk: Some("provider".into()),
            number_name: Some("promo".into()),
            landing_page: Some("https://shop.example/promo".into()),
            campaign: Some("winter".into()),
            operator: Some("alice".into()),
            disposition: store::Disposition::Answered,
            hangup_by: Some(store::HangupBy::Caller),
            hangup_reason: Some("BYE".into()),
            recording_path: Some("/var/rec/abc.wav".into()),
            media: Default::default(),
        }
    }

    #[test]
    fn call_ended_carries_the_record_and_the_numbers_utm() {
        let plan = dialplan::load_str("t.toml", PLAN).unwrap();
        let e = call_ended(&record(), &plan);
        assert_eq!(e.id, "node1:abc@host:call.ended");
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(v["event"], "call.ended");
        assert_eq!(v["event_id"], "node1:abc@host:call.ended");
        assert_eq!(v["time"], "2025-11-24T16:01:04.500Z");
        assert_eq!(v["number"], "+74950000001");
        assert_eq!(v["number_name"], "promo");
        assert_eq!(v["landing_page"], "https://shop.example/promo");
        assert_eq!(v["campaign"], "winter");
        assert_eq!(v["utm"], json!({"source": "yandex", "medium": "cpc"}));
        assert_eq!(v["operator"], "alice");
        assert_eq!(v["disposition"], "answered");
        assert_eq!(v["hangup_by"], "caller");
        assert_eq!(v["ring_ms"], 4000);
        assert_eq!(v["talk_ms"], 60_500);
        assert_eq!(v["duration_ms"], 64_500);
        assert_eq!(v["answered_at"], "2025-11-24T16:00:04.000Z");
        assert_eq!(v["recording_path"], "/var/rec/abc.wav");
    }

    #[test]
    fn unanswered_and_outbound_calls() {
        let plan = dialplan::load_str("t.toml", PLAN).unwrap();
        let mut r = record();
        r.answered_at = None;
        r.disposition = store::Disposition::Missed;
        r.recording_path = None;
        let v: Value = serde_json::from_slice(&call_ended(&r, &plan).body).unwrap();
        assert_eq!(v["answered_at"], Value::Null);
        assert_eq!(v["talk_ms"], 0);
        assert_eq!(v["ring_ms"], 64_500);
        assert_eq!(v["recording_path"], Value::Null);
        // An operator calling out: the callee is a customer, no number's tags apply.
        r.direction = Direction::Outbound;
        let v: Value = serde_json::from_slice(&call_ended(&r, &plan).body).unwrap();
        assert_eq!(v["utm"], json!({}));
    }

    #[test]
    fn voicemail_new_names_the_number_and_file() {
        let plan = dialplan::load_str("t.toml", PLAN).unwrap();
        let m = VoicemailMessage {
            node_id: "node1".into(),
            call_id: "abc@host".into(),
            mailbox: "main".into(),
            caller: "+79150000000".into(),
            number: "+74950000001".into(),
            landing_page: Some("https://shop.example/promo".into()),
            started_at: 1_764_000_000_000,
            duration_ms: 7_250,
            path: "/var/vm/x.wav".into(),
        };
        let e = voicemail_new(&m, &plan);
        let v: Value = serde_json::from_slice(&e.body).unwrap();
        assert_eq!(v["event"], "voicemail.new");
        assert_eq!(v["event_id"], "node1:abc@host:voicemail.new");
        assert_eq!(v["time"], "2025-11-24T16:00:07.250Z");
        assert_eq!(v["mailbox"], "main");
        assert_eq!(v["number_name"], "promo");
        assert_eq!(v["campaign"], "winter");
        assert_eq!(v["utm"]["source"], "yandex");
        assert_eq!(v["duration_ms"], 7_250);
        assert_eq!(v["voicemail_path"], "/var/vm/x.wav");
    }
}
