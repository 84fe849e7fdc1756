//! An inbound call's walk through the dial plan: the glue between one
//! `dialplan::flow::FlowRun` (which decides) and the call's legs and media
//! (which `call.rs` owns). The run asks for prompts, digits, ringing,
//! transfers and voicemail; this file carries each out on the call and feeds
//! the outcome back (prompt ended, digit, answered, failed, timeout, hangup).
//!
//! The run's plan is the one the call started with: a reload swaps
//! `Core::plan` for new calls only.
//!
//! Prompt ends are known from the clips' lengths (the core loads them), so
//! the media engine needs no "playback finished" event and the whole flow
//! runs on the core's clock.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use dialplan::flow::{FlowAction, FlowEvent, FlowRun, HangupReason};
use sip::Request;

use super::call::{Call, Callee, HangupBy};
use super::leg::LegState;
use super::{Core, Effect};

use crate::transport::{Peer, Transport};

/// The flow side of one call.
pub(super) struct Flow {
    pub run: FlowRun,
    /// When the prompts being played end.
    play_until: Option<Instant>,
    /// What the caller hears while operators ring (`None`: ringback).
    hold_music: Option<PathBuf>,
    /// Played to the operator who answers, before the bridge.
    whisper: Option<PathBuf>,
    /// The answering callee hears the whisper until then; the bridge follows.
    whisper_until: Option<(Instant, usize)>,
    /// The callee legs rung for the current Ring or Transfer start here.
    ring_from: usize,
    /// The current outgoing attempt is a transfer to this number.
    transfer: Option<String>,
    /// A voicemail recording in progress, with its file (`None` inside
    /// when the engine could not record: the flow still runs its course).
    recording: Option<Option<PathBuf>>,
    /// The last recording's file, for the message.
    recorded: Option<PathBuf>,
    /// A voicemail was left: the call record says missed, not abandoned.
    voicemail_left: bool,
}

impl Flow {
    pub fn new(run: FlowRun) -> Flow {
        Flow {
            run,
            play_until: None,
            hold_music: None,
            whisper: None,
            whisper_until: None,
            ring_from: 0,
            transfer: None,
            recording: None,
            recorded: None,
            voicemail_left: false,
        }
    }

    pub fn deadline(&self) -> Option<Instant> {
        [
            self.play_until,
            self.whisper_until.map(|(t, _)| t),
            self.run.poll_timeout(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn is_recording(&self) -> bool {
        self.recording.is_some()
    }

    pub fn voicemail_left(&self) -> bool {
        self.voicemail_left
    }
}

impl Call {
    /// Carries out everything the run asks for until it waits for input.
    /// Called after every event the call handles.
    pub(super) fn drive_flow(&mut self, core: &mut Core, now: Instant) {
        loop {
            if self.is_over() {
                return;
            }
            let Some(action) = self.flow.as_mut().and_then(|f| f.run.poll_action()) else {
                return;
            };
            self.apply(core, action, now);
        }
    }

    fn apply(&mut self, core: &mut Core, action: FlowAction, now: Instant) {
        match action {
            FlowAction::Play { prompts, .. } => self.flow_play(core, &prompts, now),
            FlowAction::StopPlayback => {
                if let Some(f) = self.flow.as_mut() {
                    f.play_until = None;
                }
                core.media.stop(self.caller_leg.media);
            }
            FlowAction::CollectDigits { menu, .. } => {
                tracing::debug!(call = %self.id, %menu, "collecting digits");
            }
            FlowAction::Ring {
                operators,
                hold_music,
                whisper,
                caller_display,
                ..
            } => self.flow_ring(core, &operators, hold_music, whisper, &caller_display, now),
            FlowAction::StopRinging => self.stop_ringing(core, now),
            FlowAction::RecordVoicemail {
                mailbox,
                path_hint,
                silence,
                ..
            } => self.start_voicemail(core, &mailbox, &path_hint, silence, now),
            FlowAction::StopRecording => self.stop_voicemail(core),
            FlowAction::Transfer { number } => self.flow_transfer(core, &number, now),
            FlowAction::Echo => self.flow_echo(core, now),
            FlowAction::Hangup { reason } => {
                let why = match reason {
                    HangupReason::Normal => "dial plan hangup",
                    HangupReason::NoAnswer => "no answer",
                    HangupReason::VoicemailDone => "voicemail left",
                    HangupReason::TransferFailed => "transfer failed",
                    HangupReason::Loop => "dial plan loop",
                };
                self.hang_up(core, why, HangupBy::System, now);
            }
            FlowAction::Emit(event) => self.flow_event(core, event),
        }
    }

    fn flow_event(&mut self, core: &mut Core, event: FlowEvent) {
        match event {
            FlowEvent::VoicemailRecorded {
                mailbox,
                path_hint,
                caller,
                number,
                landing_page,
                started_at,
                duration,
            } => {
                let path = self
                    .flow
                    .as_mut()
                    .and_then(|f| {
                        f.voicemail_left = true;
                        f.recorded.take()
                    })
                    .unwrap_or_else(|| core.plan.server().data_dir.join(&path_hint));
                let message = store::VoicemailMessage {
                    node_id: self.record.node_id.clone(),
                    call_id: self.id.clone(),
                    mailbox,
                    caller,
                    number,
                    landing_page,
                    started_at: started_at.timestamp_millis(),
                    duration_ms: i64::try_from(duration.as_millis()).unwrap_or(i64::MAX),
                    path: path.display().to_string(),
                };
                tracing::info!(call = %self.id, mailbox = %message.mailbox, path = %message.path, "voicemail recorded");
                core.effects.push_back(Effect::Voicemail(message));
            }
            other => tracing::info!(call = %self.id, event = ?other, "flow"),
        }
    }

    /// Prompts need media: the caller is answered first.
    fn flow_play(&mut self, core: &mut Core, prompts: &[PathBuf], now: Instant) {
        self.answer_caller(core, now);
        let (clips, total) = core.prompts.playlist(prompts);
        let Some(flow) = self.flow.as_mut() else {
            return;
        };
        if clips.is_empty() {
            // Nothing playable (reported when loading): carry on at once.
            flow.play_until = None;
            flow.run.handle_prompt_done(now);
            return;
        }
        flow.play_until = Some(now + total);
        core.media.play(self.caller_leg.media, clips, false);
    }

    /// Echo test: the switch answers and the engine returns the caller's
    /// own packets until they hang up. The record says answered (by nobody:
    /// no operator), so a headset check is not counted as abandoned.
    fn flow_echo(&mut self, core: &mut Core, now: Instant) {
        self.answer_caller(core, now);
        core.media.echo(self.caller_leg.media);
        self.record.answered_at = Some(core.clock.unix_ms(now));
        self.record.disposition = store::Disposition::Answered;
        tracing::info!(call = %self.id, "echo test");
    }

    fn flow_ring(
        &mut self,
        core: &mut Core,
        operators: &[String],
        hold_music: Option<PathBuf>,
        whisper: Option<PathBuf>,
        caller_display: &str,
        now: Instant,
    ) {
        let caller = self.record.caller.clone();
        let local_ip = core.local.ip();
        let targets: Vec<(String, super::registrar::Binding)> = operators
            .iter()
            .flat_map(|op| {
                core.registrar
                    .bindings(op)
                    .into_iter()
                    .filter(|b| core.keepalive.is_reachable(op, &b.contact))
                    .map(move |b| (op.clone(), b))
            })
            .collect();
        let ring_from = self.callees.len();
        if let Some(f) = self.flow.as_mut() {
            f.hold_music = hold_music;
            f.whisper = whisper;
            f.ring_from = ring_from;
            f.transfer = None;
        }
        if targets.is_empty() {
            tracing::info!(call = %self.id, "no operator reachable");
            self.fail_status = Some(480);
            if let Some(f) = self.flow.as_mut() {
                f.run.handle_failed(now);
            }
            return;
        }
        let display = quoted(caller_display);
        for (op, binding) in targets {
            let callee = Callee {
                operator: Some(op.clone()),
                request_uri: binding.contact.clone(),
                from: format!("\"{display}\" <sip:{caller}@{local_ip}>"),
                to: format!("<sip:{op}@{local_ip}>"),
                peer: binding.peer,
            };
            self.add_callee(core, callee, now);
        }
        if self.caller_leg.state == LegState::Answered {
            self.start_ring_tone(core);
        }
        // Every INVITE may have failed to go out.
        self.maybe_all_failed(core, now);
    }

    /// Ringback or the queue's hold music on the caller's leg.
    pub(super) fn start_ring_tone(&mut self, core: &mut Core) {
        let music = self.flow.as_ref().and_then(|f| f.hold_music.clone());
        match music.and_then(|m| core.prompts.clip(&m)) {
            Some(clip) => core.media.play(self.caller_leg.media, vec![clip], true),
            None => core.media.ringback(self.caller_leg.media),
        }
    }

    fn stop_ringing(&mut self, core: &mut Core, now: Instant) {
        for j in 0..self.callees.len() {
            if self.answered != Some(j) {
                self.cancel_callee(core, j, now);
            }
        }
    }

    fn flow_transfer(&mut self, core: &mut Core, number: &str, now: Instant) {
        let Some(plan) = self.flow.as_ref().map(|f| f.run.plan().clone()) else {
            return;
        };
        let number = dialplan::normalize_number(number).unwrap_or_else(|| number.to_string());
        let trunk = plan.outbound_trunk(&number);
        let proxy = trunk
            .and_then(|t| t.proxy.as_ref())
            .and_then(|p| p.socket_addr());
        let (Some(trunk), Some(proxy)) = (trunk, proxy) else {
            tracing::warn!(call = %self.id, %number, "no trunk takes the transfer number");
            self.fail_status = Some(404);
            if let Some(f) = self.flow.as_mut() {
                f.run.handle_failed(now);
            }
            return;
        };
        let caller_id = trunk
            .caller_id
            .clone()
            .unwrap_or_else(|| self.record.caller.clone());
        let ring_from = self.callees.len();
        if let Some(f) = self.flow.as_mut() {
            f.hold_music = None;
            f.whisper = None;
            f.ring_from = ring_from;
            f.transfer = Some(number.clone());
        }
        let callee = Callee {
            operator: None,
            request_uri: format!("sip:{number}@{proxy}"),
            from: format!("<sip:{caller_id}@{}>", core.local.ip()),
            to: format!("<sip:{number}@{}>", proxy.ip()),
            peer: Peer {
                transport: Transport::Udp,
                addr: proxy,
            },
        };
        self.add_callee(core, callee, now);
        self.set_ring_timeout(now, plan.server().ring_timeout);
        if self.caller_leg.state == LegState::Answered {
            self.start_ring_tone(core);
        }
        self.maybe_all_failed(core, now);
    }

    /// Records the caller alone (a mono file); the engine reports
    /// `MediaEvent::Silence` once the caller was quiet for `silence`.
    fn start_voicemail(
        &mut self,
        core: &mut Core,
        mailbox: &str,
        path_hint: &std::path::Path,
        silence: Duration,
        now: Instant,
    ) {
        self.answer_caller(core, now);
        let stem = path_hint
            .with_extension("")
            .to_string_lossy()
            .replace(['/', '\\'], "-");
        let path = core
            .media
            .start_recording_mono(self.caller_leg.media, &stem, Some(silence));
        if path.is_none() {
            tracing::warn!(call = %self.id, mailbox, "voicemail cannot be recorded");
        }
        if let Some(f) = self.flow.as_mut() {
            f.play_until = None;
            f.recording = Some(path);
        }
    }

    pub(super) fn stop_voicemail(&mut self, core: &mut Core) {
        let Some(path) = self.flow.as_mut().and_then(|f| f.recording.take()) else {
            return;
        };
        core.media.stop_recording(self.caller_leg.media);
        if let Some(f) = self.flow.as_mut() {
            f.recorded = path;
        }
    }

    /// A callee answered; `connect` (after the whisper, if any) bridges.
    /// Returns false when the flow has no whisper for this callee.
    pub(super) fn flow_whisper(&mut self, core: &mut Core, i: usize, now: Instant) -> bool {
        let Some(path) = self.flow.as_ref().and_then(|f| f.whisper.clone()) else {
            return false;
        };
        let Some(clip) = core.prompts.clip(&path) else {
            return false;
        };
        let until = now + clip.duration();
        core.media.play(self.callees[i].media, vec![clip], false);
        if let Some(f) = self.flow.as_mut() {
            f.whisper_until = Some((until, i));
        }
        true
    }

    /// The callee `i` is bridged: the flow hands the call over.
    pub(super) fn flow_answered(&mut self, i: usize, now: Instant) {
        let by = self.callees[i].operator.clone();
        if let Some(f) = self.flow.as_mut() {
            let by = by.or_else(|| f.transfer.clone()).unwrap_or_default();
            f.run.handle_answered(&by, now);
        }
    }

    /// Every leg of the current ring or transfer failed.
    pub(super) fn flow_failed(&mut self, status: u16, now: Instant) {
        self.fail_status = Some(status);
        if let Some(f) = self.flow.as_mut() {
            f.run.handle_failed(now);
        }
    }

    /// Whether every callee leg of the current attempt has ended.
    pub(super) fn attempt_over(&self) -> bool {
        let from = self.flow.as_ref().map_or(0, |f| f.ring_from);
        self.callees
            .iter()
            .skip(from)
            .all(|l| l.state == LegState::Ended)
    }

    /// A digit from the caller, by RFC 4733 or SIP INFO.
    pub(super) fn flow_digit(&mut self, digit: char, now: Instant) {
        if let Some(f) = self.flow.as_mut() {
            f.run.handle_digit(digit, now);
        }
    }

    /// The caller is gone: the run may still report a voicemail.
    pub(super) fn flow_caller_gone(&mut self, core: &mut Core, now: Instant) {
        let Some(f) = self.flow.as_mut() else {
            return;
        };
        f.run.handle_hangup(now);
        self.stop_voicemail(core);
        while let Some(action) = self.flow.as_mut().and_then(|f| f.run.poll_action()) {
            if let FlowAction::Emit(event) = action {
                self.flow_event(core, event);
            }
        }
    }

    /// No RTP from the caller, or the engine heard long silence: while
    /// recording that is the end of the message (the caller went quiet or
    /// away); `true` when handled so.
    pub(super) fn flow_media_timeout(&mut self, now: Instant) -> bool {
        match self.flow.as_mut() {
            Some(f) if f.is_recording() => {
                f.run.handle_recording_done(now);
                true
            }
            _ => false,
        }
    }

    /// The flow's timers that are due.
    pub(super) fn flow_timeout(&mut self, core: &mut Core, now: Instant) {
        let Some(f) = self.flow.as_mut() else {
            return;
        };
        if f.play_until.is_some_and(|t| t <= now) {
            f.play_until = None;
            f.run.handle_prompt_done(now);
        }
        if let Some((t, i)) = f.whisper_until {
            if t <= now {
                f.whisper_until = None;
                self.connect(core, i, now);
            }
        }
        if let Some(f) = self.flow.as_mut() {
            if f.run.poll_timeout().is_some_and(|t| t <= now) {
                f.run.handle_timeout(now);
            }
        }
    }
}

/// A display name as a SIP quoted-string (RFC 3261 25.1): quotes and
/// backslashes escaped, line breaks dropped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => {}
            _ => out.push(c),
        }
    }
    out
}

/// The digit of a SIP INFO in `application/dtmf-relay` (`Signal=5`) or
/// `application/dtmf` (body is the digit).
pub(super) fn info_digit(req: &Request) -> Option<char> {
    let ct = req.content_type()?.to_ascii_lowercase();
    let body = std::str::from_utf8(&req.body).ok()?;
    let text = if ct.starts_with("application/dtmf-relay") {
        body.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("Signal=")
                    .or_else(|| l.trim().strip_prefix("Signal ="))
            })?
            .trim()
    } else if ct.starts_with("application/dtmf") {
        body.trim()
    } else {
        return None;
    };
    text.chars()
        .next()
        .map(|c| c.to_ascii_uppercase())
        .filter(|c| c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D'))
}
