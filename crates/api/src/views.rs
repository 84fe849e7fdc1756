//! JSON shapes of what the API returns. Field names are the API's contract: they are written out
//! here instead of deriving them from the store's types, so a store change cannot rename them.

use serde::Serialize;

use crate::state::{ReloadOutcome, ReloadStatus, Voicemail};

#[derive(Debug, Serialize)]
pub(crate) struct CallView<'a> {
    id: &'a str,
    node_id: &'a str,
    direction: &'static str,
    caller: &'a str,
    callee: &'a str,
    trunk: Option<&'a str>,
    number_name: Option<&'a str>,
    landing_page: Option<&'a str>,
    campaign: Option<&'a str>,
    operator: Option<&'a str>,
    disposition: &'static str,
    hangup_by: Option<&'static str>,
    hangup_reason: Option<&'a str>,
    started_at_ms: i64,
    answered_at_ms: Option<i64>,
    ended_at_ms: i64,
    talk_ms: i64,
    total_ms: i64,
    recording_path: Option<&'a str>,
    /// Filled in once the recording's file is finished.
    recording_duration_ms: Option<i64>,
    /// What the switch received from each side, once its leg closed.
    caller_media: Option<LegQualityView>,
    operator_media: Option<LegQualityView>,
}

#[derive(Debug, Serialize)]
pub(crate) struct LegQualityView {
    packets: i64,
    lost: i64,
    jitter_ms: f64,
    mos: f64,
}

impl From<store::LegQuality> for LegQualityView {
    fn from(q: store::LegQuality) -> Self {
        LegQualityView {
            packets: q.packets,
            lost: q.lost,
            jitter_ms: q.jitter_ms,
            mos: q.mos,
        }
    }
}

impl<'a> From<&'a store::CallRecord> for CallView<'a> {
    fn from(r: &'a store::CallRecord) -> Self {
        CallView {
            id: &r.id,
            node_id: &r.node_id,
            direction: r.direction.as_str(),
            caller: &r.caller,
            callee: &r.callee,
            trunk: r.trunk.as_deref(),
            number_name: r.number_name.as_deref(),
            landing_page: r.landing_page.as_deref(),
            campaign: r.campaign.as_deref(),
            operator: r.operator.as_deref(),
            disposition: r.disposition.as_str(),
            hangup_by: r.hangup_by.map(|h| h.as_str()),
            hangup_reason: r.hangup_reason.as_deref(),
            started_at_ms: r.started_at,
            answered_at_ms: r.answered_at,
            ended_at_ms: r.ended_at,
            talk_ms: r.talk_millis(),
            total_ms: r.total_millis(),
            recording_path: r.recording_path.as_deref(),
            recording_duration_ms: r.media.recording_duration_ms,
            caller_media: r.media.caller.map(Into::into),
            operator_media: r.media.operator.map(Into::into),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct RegistrationView<'a> {
    username: &'a str,
    contact: &'a str,
    /// Where the REGISTER came from (the NAT's address for a phone at home).
    received: String,
    transport: &'static str,
    expires_at: i64,
    user_agent: Option<&'a str>,
    reachable: bool,
}

impl<'a> From<&'a store::Registration> for RegistrationView<'a> {
    fn from(r: &'a store::Registration) -> Self {
        RegistrationView {
            username: &r.username,
            contact: &r.contact,
            received: r.received.to_string(),
            transport: r.transport.as_str(),
            expires_at: r.expires_at,
            user_agent: r.user_agent.as_deref(),
            reachable: r.reachable,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct DiagnosticView<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    severity: String,
    message: &'a str,
    hint: Option<&'a str>,
    /// The whole diagnostic as `switchboard check` prints it (`file:line:column: error: ...`).
    text: String,
}

impl<'a> From<&'a dialplan::Diagnostic> for DiagnosticView<'a> {
    fn from(d: &'a dialplan::Diagnostic) -> Self {
        DiagnosticView {
            file: &d.file,
            line: d.line,
            column: d.column,
            severity: d.severity.to_string(),
            message: &d.message,
            hint: d.hint.as_deref(),
            text: d.to_string(),
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ReloadView<'a> {
    ok: bool,
    at_unix_ms: i64,
    trigger: &'static str,
    file: &'a str,
    errors: Vec<DiagnosticView<'a>>,
    warnings: Vec<DiagnosticView<'a>>,
    restart_needed: &'a [String],
}

impl<'a> From<&'a ReloadOutcome> for ReloadView<'a> {
    fn from(o: &'a ReloadOutcome) -> Self {
        let (errors, warnings): (Vec<_>, Vec<_>) = o.diagnostics.iter().partition(|d| d.is_error());
        ReloadView {
            ok: o.ok,
            at_unix_ms: o.at_unix_ms,
            trigger: o.trigger.as_str(),
            file: &o.file,
            errors: errors.into_iter().map(DiagnosticView::from).collect(),
            warnings: warnings.into_iter().map(DiagnosticView::from).collect(),
            restart_needed: &o.restart_needed,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct ReloadStatusView<'a> {
    last: Option<ReloadView<'a>>,
    succeeded: u64,
    failed: u64,
}

impl<'a> From<&'a ReloadStatus> for ReloadStatusView<'a> {
    fn from(s: &'a ReloadStatus) -> Self {
        ReloadStatusView {
            last: s.last.as_ref().map(ReloadView::from),
            succeeded: s.succeeded,
            failed: s.failed,
        }
    }
}

#[derive(Debug, Serialize)]
pub(crate) struct VoicemailView<'a> {
    id: &'a str,
    mailbox: &'a str,
    caller: Option<&'a str>,
    number: Option<&'a str>,
    landing_page: Option<&'a str>,
    recorded_at_ms: Option<i64>,
    duration_ms: Option<i64>,
    size: u64,
    /// Where to fetch the WAV, relative to the API's root.
    audio: String,
}

impl<'a> From<&'a Voicemail> for VoicemailView<'a> {
    fn from(v: &'a Voicemail) -> Self {
        VoicemailView {
            id: &v.id,
            mailbox: &v.mailbox,
            caller: v.caller.as_deref(),
            number: v.number.as_deref(),
            landing_page: v.landing_page.as_deref(),
            recorded_at_ms: v.recorded_at_unix_ms,
            duration_ms: v.duration_ms,
            size: v.size,
            audio: format!("/api/voicemail/{}/audio", path_segment(&v.id)),
        }
    }
}

/// Percent-encodes `s` for one URL path segment. Ids are SIP Call-IDs, which may hold `/`, `?`,
/// `%` and more; axum's `Path` decodes them back.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
