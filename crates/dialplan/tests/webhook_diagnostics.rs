//! `[[webhook]]`: values read into the plan, defaults, and positioned errors and warnings.

mod common;

use std::time::Duration;

use common::{assert_errors, assert_warnings, BASE};
use dialplan::{load_str, WebhookEvent};

#[test]
fn webhooks_are_read_with_defaults() {
    let text = format!(
        "{BASE}\n[[webhook]]\nurl = \"http://127.0.0.1:8081/hooks?src=pbx\"\nevents = [\"voicemail.new\"]\nsecret = \"0123456789abcdef\"\ntimeout = 2\n\n[[webhook]]\nurl = \"http://crm.example/calls\"\n"
    );
    let plan = load_str("t.toml", &text).unwrap();
    let hooks = plan.webhooks();
    assert_eq!(hooks.len(), 2);
    assert_eq!(hooks[0].url.host, "127.0.0.1");
    assert_eq!(hooks[0].url.port, 8081);
    assert_eq!(hooks[0].url.path, "/hooks?src=pbx");
    assert_eq!(hooks[0].events, [WebhookEvent::VoicemailNew]);
    assert!(!hooks[0].wants(WebhookEvent::CallEnded));
    assert_eq!(hooks[0].secret.as_deref(), Some("0123456789abcdef"));
    assert_eq!(hooks[0].timeout, Duration::from_secs(2));
    // Defaults: every event, unsigned, 5 s.
    assert_eq!(hooks[1].url.to_string(), "http://crm.example/calls");
    assert_eq!(hooks[1].events, WebhookEvent::ALL);
    assert_eq!(hooks[1].secret, None);
    assert_eq!(hooks[1].timeout, Duration::from_secs(5));
    assert!(load_str("t.toml", BASE).unwrap().webhooks().is_empty());
}

#[test]
fn webhook_errors_have_positions() {
    // BASE has 11 lines; the first [[webhook]] is line 13.
    assert_errors(
        &format!(
            "{BASE}\n[[webhook]]\nurl = \"https://crm.example/x\"\n\n[[webhook]]\nurl = \"crm.example\"\nevents = [\"call.endd\", \"voicemail.new\", \"voicemail.new\", \"ringing\"]\ntimeout = 0\nsecret = \"\"\nretries = 3\n\n[[webhook]]\nevents = []\n"
        ),
        &[
            "t.toml:14:7: error: `https://crm.example/x`: https webhooks are not supported (the switch has no TLS client)\n  hint: send to a plain http:// receiver, e.g. a local reverse proxy that forwards over TLS",
            "t.toml:17:7: error: `crm.example` is not an http:// URL (like http://127.0.0.1:8081/hooks)",
            "t.toml:18:11: error: unknown webhook event `call.endd`\n  hint: did you mean `call.ended`?",
            "t.toml:18:41: error: event `voicemail.new` is listed twice\n  hint: remove one",
            "t.toml:18:58: error: unknown webhook event `ringing`\n  hint: known events: \"call.ended\", \"voicemail.new\"",
            "t.toml:19:11: error: `timeout` 0 is out of range\n  hint: use a value from 1 to 60",
            "t.toml:20:10: error: `secret` is empty\n  hint: leave it out to send unsigned requests",
            "t.toml:21:1: error: unknown key `retries` in [[webhook]]\n  hint: known keys here: events, secret, timeout, url",
            "t.toml:23:1: error: [[webhook]] is missing required key `url`",
            "t.toml:24:10: error: `events` is empty\n  hint: list some of \"call.ended\", \"voicemail.new\", or leave `events` out for all",
        ],
    );
}

#[test]
fn the_same_url_twice_is_an_error() {
    assert_errors(
        &format!("{BASE}\n[[webhook]]\nurl = \"http://h:81/x\"\n\n[[webhook]]\nurl = \"http://H:81/x\"\n"),
        &["t.toml:17:7: error: webhook `http://H:81/x` is defined twice\n  hint: list all its events in one [[webhook]]"],
    );
}

#[test]
fn a_short_secret_is_warned_about() {
    assert_warnings(
        &format!("{BASE}\n[[webhook]]\nurl = \"http://127.0.0.1:9/\"\nsecret = \"hunter2\"\n"),
        &["t.toml:15:10: warning: webhook secret is short (7 characters)\n  hint: use at least 16 random characters"],
    );
}
