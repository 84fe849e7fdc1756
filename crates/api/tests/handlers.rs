//! The API's handlers over a test state: status codes, content types and JSON fields, through the
//! real router (`tower::ServiceExt::oneshot`, no sockets).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use api::{ApiState, Error, Live, ReloadOutcome, ReloadStatus, ReloadTrigger, Voicemail};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

/// A state whose reload compiles `config` with the real dialplan loader.
struct TestState {
    live: Live,
    calls: Vec<store::CallRecord>,
    config: Mutex<String>,
    status: Mutex<ReloadStatus>,
    voicemail: Vec<(Voicemail, Vec<u8>)>,
    asked_limit: Mutex<Option<usize>>,
}

impl ApiState for TestState {
    fn live(&self) -> Arc<Live> {
        Arc::new(self.live.clone())
    }

    fn recent_calls(&self, limit: usize) -> Result<Vec<store::CallRecord>, Error> {
        *self.asked_limit.lock().unwrap() = Some(limit);
        Ok(self.calls.iter().take(limit).cloned().collect())
    }

    fn reload(&self) -> Pin<Box<dyn Future<Output = ReloadOutcome> + Send + '_>> {
        Box::pin(async move {
            let text = self.config.lock().unwrap().clone();
            let outcome = match dialplan::load_str("switchboard.toml", &text) {
                Ok(plan) => ReloadOutcome {
                    at_unix_ms: 1_700_000_000_000,
                    trigger: ReloadTrigger::Api,
                    file: "switchboard.toml".into(),
                    ok: true,
                    diagnostics: plan.warnings().to_vec(),
                    restart_needed: vec![],
                },
                Err(diagnostics) => ReloadOutcome {
                    at_unix_ms: 1_700_000_000_000,
                    trigger: ReloadTrigger::Api,
                    file: "switchboard.toml".into(),
                    ok: false,
                    diagnostics,
                    restart_needed: vec![],
                },
            };
            let mut status = self.status.lock().unwrap();
            if outcome.ok {
                status.succeeded += 1;
            } else {
                status.failed += 1;
            }
            status.last = Some(outcome.clone());
            outcome
        })
    }

    fn reload_status(&self) -> ReloadStatus {
        self.status.lock().unwrap().clone()
    }

    fn voicemails(&self) -> Result<Vec<Voicemail>, Error> {
        Ok(self.voicemail.iter().map(|(v, _)| v.clone()).collect())
    }

    fn voicemail_audio(&self, id: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self
            .voicemail
            .iter()
            .find(|(v, _)| v.id == id)
            .map(|(_, wav)| wav.clone()))
    }
}

const GOOD: &str = r#"
[server]
sip_listen = "127.0.0.1:5070"

[[group]]
name = "sales"

[[operator]]
username = "alice"
password = "a-long-secret-1"
groups = ["sales"]

[[number]]
number = "+74950000001"
ring = { group = "sales" }
"#;

fn record(id: &str, disposition: store::Disposition) -> store::CallRecord {
    store::CallRecord {
        id: id.into(),
        node_id: "node1".into(),
        started_at: 1_000,
        answered_at: Some(3_000),
        ended_at: 10_000,
        direction: store::Direction::Inbound,
        caller: "+79150000000".into(),
        callee: "+74950000001".into(),
        trunk: Some("provider".into()),
        number_name: Some("promo".into()),
        landing_page: Some("https://shop.example/promo".into()),
        campaign: Some("winter".into()),
        operator: Some("alice".into()),
        disposition,
        hangup_by: Some(store::HangupBy::Caller),
        hangup_reason: Some("BYE".into()),
        recording_path: None,
        media: store::CallMedia::default(),
    }
}

fn state() -> Arc<TestState> {
    let registration = store::Registration {
        username: "alice".into(),
        contact: "sip:alice@192.168.1.20:5062".into(),
        received: "203.0.113.7:40000".parse().unwrap(),
        transport: store::Transport::Udp,
        expires_at: 1_700_000_600,
        user_agent: Some("baresip".into()),
        instance_id: None,
        reg_id: None,
        reachable: true,
    };
    let mut finished = HashMap::new();
    finished.insert(store::Disposition::Answered, 7);
    finished.insert(store::Disposition::Missed, 2);
    Arc::new(TestState {
        live: Live {
            active_calls: 3,
            registrations: vec![registration],
            calls_finished: finished,
            started_at_unix_ms: 1_700_000_000_000,
        },
        calls: vec![
            {
                let mut r = record("c2", store::Disposition::Answered);
                r.recording_path = Some("/var/recordings/c2.wav".into());
                r.media = store::CallMedia {
                    recording_duration_ms: Some(7_020),
                    caller: Some(store::LegQuality {
                        packets: 350,
                        lost: 1,
                        jitter_ms: 2.5,
                        mos: 4.25,
                    }),
                    operator: None,
                };
                r
            },
            record("c1", store::Disposition::Missed),
        ],
        config: Mutex::new(GOOD.to_owned()),
        status: Mutex::new(ReloadStatus::default()),
        voicemail: vec![(
            Voicemail {
                id: "a/b?c%d@127.0.0.1".into(),
                mailbox: "sales".into(),
                caller: Some("+79150000000".into()),
                number: Some("+74950000001".into()),
                landing_page: Some("https://shop.example/promo".into()),
                recorded_at_unix_ms: Some(1_795_000_000_000),
                duration_ms: Some(4_000),
                size: 8,
            },
            b"RIFFWAVE".to_vec(),
        )],
        asked_limit: Mutex::new(None),
    })
}

async fn send(state: &Arc<TestState>, method: &str, uri: &str) -> (StatusCode, String, String) {
    let router = api::router(state.clone());
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap();
    let resp = router.oneshot(req).await.unwrap();
    let status = resp.status();
    let ctype = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, ctype, String::from_utf8_lossy(&body).into_owned())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn health_says_ok_with_the_version() {
    let (status, _, body) = send(&state(), "GET", "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!("ok switchboard {}\n", api::VERSION));
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_every_disposition() {
    let (status, ctype, body) = send(&state(), "GET", "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ctype.starts_with("text/plain; version=0.0.4"), "{ctype}");
    let lines: Vec<&str> = body.lines().collect();
    for expected in [
        "switchboard_active_calls 3",
        "switchboard_registered_contacts 1",
        "switchboard_calls_total{disposition=\"answered\"} 7",
        "switchboard_calls_total{disposition=\"missed\"} 2",
        "switchboard_calls_total{disposition=\"busy\"} 0",
        "switchboard_config_reloads_total{result=\"error\"} 0",
        "switchboard_config_last_reload_ok 1",
        "# TYPE switchboard_calls_total counter",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?} in\n{body}");
    }
    // Every sample line is `name{labels} value` with a numeric value.
    for line in lines.iter().filter(|l| !l.starts_with('#')) {
        let value = line.rsplit(' ').next().unwrap();
        assert!(value.parse::<f64>().is_ok(), "bad sample line {line:?}");
    }
}

#[tokio::test]
async fn calls_carry_the_landing_page_and_respect_the_limit() {
    let s = state();
    let (status, ctype, body) = send(&s, "GET", "/api/calls?limit=1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "application/json");
    assert_eq!(*s.asked_limit.lock().unwrap(), Some(1));
    let v = json(&body);
    let calls = v.as_array().unwrap();
    assert_eq!(calls.len(), 1);
    let c = &calls[0];
    assert_eq!(c["id"], "c2");
    assert_eq!(c["landing_page"], "https://shop.example/promo");
    assert_eq!(c["campaign"], "winter");
    assert_eq!(c["number_name"], "promo");
    assert_eq!(c["disposition"], "answered");
    assert_eq!(c["direction"], "inbound");
    assert_eq!(c["hangup_by"], "caller");
    assert_eq!(c["talk_ms"], 7_000);
    assert_eq!(c["total_ms"], 9_000);
    assert_eq!(c["recording_path"], "/var/recordings/c2.wav");
    assert_eq!(c["recording_duration_ms"], 7_020);
    assert_eq!(c["caller_media"]["packets"], 350);
    assert_eq!(c["caller_media"]["lost"], 1);
    assert_eq!(c["caller_media"]["jitter_ms"], 2.5);
    assert_eq!(c["caller_media"]["mos"], 4.25);
    assert!(c["operator_media"].is_null());

    send(&s, "GET", "/api/calls").await;
    assert_eq!(*s.asked_limit.lock().unwrap(), Some(50), "default limit");
    send(&s, "GET", "/api/calls?limit=999999").await;
    assert_eq!(
        *s.asked_limit.lock().unwrap(),
        Some(1000),
        "limit is capped"
    );
    let (status, _, _) = send(&s, "GET", "/api/calls?limit=lots").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn registrations_list_contacts_and_nat_addresses() {
    let (status, _, body) = send(&state(), "GET", "/api/registrations").await;
    assert_eq!(status, StatusCode::OK);
    let v = json(&body);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["username"], "alice");
    assert_eq!(v[0]["received"], "203.0.113.7:40000");
    assert_eq!(v[0]["transport"], "udp");
    assert_eq!(v[0]["reachable"], true);
}

#[tokio::test]
async fn reload_of_a_good_config_is_200_and_recorded() {
    let s = state();
    let (status, _, body) = send(&s, "GET", "/api/reload").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json(&body)["last"], Value::Null);

    let (status, _, body) = send(&s, "POST", "/api/reload").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = json(&body);
    assert_eq!(v["ok"], true);
    assert_eq!(v["trigger"], "api");
    assert_eq!(v["errors"].as_array().unwrap().len(), 0);

    let (_, _, body) = send(&s, "GET", "/api/reload").await;
    let v = json(&body);
    assert_eq!(v["last"]["ok"], true);
    assert_eq!(v["succeeded"], 1);
    assert_eq!(v["failed"], 0);
}

#[tokio::test]
async fn reload_of_a_broken_config_is_422_with_positions() {
    let s = state();
    // An unknown group, on line 15 of the file, column 17 (the value).
    *s.config.lock().unwrap() = GOOD.replace(
        "ring = { group = \"sales\" }",
        "ring = { group = \"nobody\" }",
    );
    let (status, _, body) = send(&s, "POST", "/api/reload").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let v = json(&body);
    assert_eq!(v["ok"], false);
    let errors = v["errors"].as_array().unwrap();
    assert!(!errors.is_empty(), "{body}");
    let e = &errors[0];
    assert_eq!(e["file"], "switchboard.toml");
    assert_eq!(e["line"], 15);
    assert!(e["column"].as_u64().unwrap() > 0);
    assert_eq!(e["severity"], "error");
    let text = e["text"].as_str().unwrap();
    assert!(text.starts_with("switchboard.toml:15:"), "{text}");
    assert!(text.contains("nobody"), "{text}");

    let (_, _, body) = send(&s, "GET", "/api/reload").await;
    let v = json(&body);
    assert_eq!(v["last"]["ok"], false);
    assert_eq!(v["failed"], 1);
    let (_, _, metrics) = send(&s, "GET", "/metrics").await;
    assert!(metrics.contains("switchboard_config_reloads_total{result=\"error\"} 1\n"));
    assert!(metrics.contains("switchboard_config_last_reload_ok 0\n"));
}

#[tokio::test]
async fn voicemail_is_listed_and_played_back_as_wav() {
    let s = state();
    let (status, _, body) = send(&s, "GET", "/api/voicemail").await;
    assert_eq!(status, StatusCode::OK);
    let v = json(&body);
    assert_eq!(v[0]["mailbox"], "sales");
    assert_eq!(v[0]["landing_page"], "https://shop.example/promo");
    let audio = v[0]["audio"].as_str().unwrap().to_owned();
    // A Call-ID may hold characters that mean something in a URL.
    assert_eq!(audio, "/api/voicemail/a%2Fb%3Fc%25d@127.0.0.1/audio");

    let (status, ctype, body) = send(&s, "GET", &audio).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ctype, "audio/wav");
    assert_eq!(body, "RIFFWAVE");

    let (status, _, _) = send(&s, "GET", "/api/voicemail/nope/audio").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_refused() {
    let s = state();
    assert_eq!(send(&s, "GET", "/nope").await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        send(&s, "DELETE", "/api/reload").await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
}
