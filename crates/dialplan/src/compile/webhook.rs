//! `[[webhook]]`: the URL (plain http only), the events, the signing secret and the timeout.

use super::*;
use crate::config::WebhookSection;
use crate::plan_webhook::{Webhook, WebhookEvent, WebhookUrl};

pub(super) const WEBHOOK_TIMEOUT_RANGE: RangeInclusive<i64> = 1..=60;
/// Shorter secrets are flagged as weak: a signature is only as good as its key.
const MIN_SECRET_LEN: usize = 16;

pub(super) fn compile_webhooks(list: &[WebhookSection], p: &mut Problems) -> Vec<Webhook> {
    let mut seen: Vec<WebhookUrl> = Vec::new();
    list.iter()
        .filter_map(|w| {
            let hook = compile_webhook(w, p)?;
            if seen.contains(&hook.url) {
                if let Some(url) = &w.url {
                    p.error_hint(
                        url.span(),
                        format!("webhook `{}` is defined twice", url.get_ref()),
                        "list all its events in one [[webhook]]",
                    );
                }
                return None;
            }
            seen.push(hook.url.clone());
            Some(hook)
        })
        .collect()
}

fn compile_webhook(w: &WebhookSection, p: &mut Problems) -> Option<Webhook> {
    // A missing url is already reported; the other keys are still checked.
    let parsed = w.url.as_ref().and_then(|url| match url.get_ref().parse::<WebhookUrl>() {
        Ok(u) => Some(u),
        Err(e @ crate::Error::WebhookHttps(_)) => {
            p.error_hint(
                url.span(),
                e.to_string(),
                "send to a plain http:// receiver, e.g. a local reverse proxy that forwards over TLS",
            );
            None
        }
        Err(e) => {
            p.error(url.span(), e.to_string());
            None
        }
    });
    let events = match &w.events {
        None => WebhookEvent::ALL.to_vec(),
        Some(list) if list.get_ref().is_empty() => {
            p.error_hint(
                list.span(),
                "`events` is empty",
                format!("list some of {}, or leave `events` out for all", known()),
            );
            Vec::new()
        }
        Some(list) => {
            let mut events = Vec::new();
            for name in list.get_ref() {
                match name.get_ref().parse::<WebhookEvent>() {
                    Ok(e) if events.contains(&e) => p.error_hint(
                        name.span(),
                        format!("event `{e}` is listed twice"),
                        "remove one",
                    ),
                    Ok(e) => events.push(e),
                    Err(()) => {
                        let hint = match closest(
                            name.get_ref(),
                            WebhookEvent::ALL.iter().map(|e| e.as_str()),
                        ) {
                            Some(near) => format!("did you mean `{near}`?"),
                            None => format!("known events: {}", known()),
                        };
                        p.error_hint(
                            name.span(),
                            format!("unknown webhook event `{}`", name.get_ref()),
                            hint,
                        );
                    }
                }
            }
            events
        }
    };
    let secret = match &w.secret {
        Some(s) if s.get_ref().is_empty() => {
            p.error_hint(
                s.span(),
                "`secret` is empty",
                "leave it out to send unsigned requests",
            );
            None
        }
        Some(s) => {
            if s.get_ref().len() < MIN_SECRET_LEN {
                p.warning_hint(
                    s.span(),
                    format!("webhook secret is short ({} characters)", s.get_ref().len()),
                    format!("use at least {MIN_SECRET_LEN} random characters"),
                );
            }
            Some(s.get_ref().clone())
        }
        None => None,
    };
    let timeout = ranged(
        &w.timeout,
        "timeout",
        WEBHOOK_TIMEOUT_RANGE,
        defaults::WEBHOOK_TIMEOUT,
        p,
    );
    Some(Webhook {
        url: parsed?,
        events,
        secret,
        timeout: secs(timeout),
    })
}

fn known() -> String {
    WebhookEvent::ALL
        .iter()
        .map(|e| format!("\"{e}\""))
        .collect::<Vec<_>>()
        .join(", ")
}
