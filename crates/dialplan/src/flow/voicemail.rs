//! One voicemail message: greeting and beep, then recording until `#`, the time limit, silence
//! (reported by the media engine) or the caller hanging up.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::{FlowAction, FlowEvent, HangupReason};
use crate::plan::Plan;
use crate::plan_flow::VoicemailBox;

#[derive(Debug)]
pub(super) struct VoicemailRun {
    mailbox: String,
    /// The caller's number made safe for a file name.
    caller_part: String,
    /// Set when recording starts: named by that moment.
    path_hint: PathBuf,
    /// Set once recording has started.
    recording: Option<(Instant, DateTime<Utc>)>,
    deadline: Option<Instant>,
}

/// Who the message is from and for, for the event.
pub(super) struct Origin<'a> {
    pub caller: &'a str,
    pub number: &'a str,
    pub landing_page: Option<&'a str>,
}

impl VoicemailRun {
    /// Plays the greeting and beep, or starts recording at once when the box has neither.
    pub(super) fn start(
        vm: &VoicemailBox,
        plan: &Plan,
        caller: &str,
        wall: DateTime<Utc>,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) -> VoicemailRun {
        let caller_part: String = caller
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '+')
            .collect();
        let caller_part = if caller_part.is_empty() {
            "anonymous".to_owned()
        } else {
            caller_part
        };
        let mut run = VoicemailRun {
            mailbox: vm.name.clone(),
            caller_part,
            path_hint: PathBuf::new(),
            recording: None,
            deadline: None,
        };
        let prompts: Vec<PathBuf> = [&vm.greeting, &vm.beep]
            .into_iter()
            .flatten()
            .filter_map(|n| plan.prompt(n))
            .map(|p| p.path.clone())
            .collect();
        if prompts.is_empty() {
            run.record(vm, wall, now, out);
        } else {
            out.push_back(FlowAction::Play {
                prompts,
                barge_in: false,
            });
        }
        run
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    pub(super) fn prompt_done(
        &mut self,
        vm: &VoicemailBox,
        wall: DateTime<Utc>,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) {
        if self.recording.is_none() {
            self.record(vm, wall, now, out);
        }
    }

    fn record(
        &mut self,
        vm: &VoicemailBox,
        wall: DateTime<Utc>,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) {
        self.path_hint = PathBuf::from("voicemail").join(&vm.name).join(format!(
            "{}-{}.wav",
            wall.format("%Y%m%dT%H%M%SZ"),
            self.caller_part
        ));
        self.recording = Some((now, wall));
        self.deadline = Some(now + vm.max_duration);
        out.push_back(FlowAction::Emit(FlowEvent::VoicemailStarted {
            mailbox: self.mailbox.clone(),
        }));
        out.push_back(FlowAction::RecordVoicemail {
            mailbox: self.mailbox.clone(),
            max_duration: vm.max_duration,
            silence: vm.silence,
            path_hint: self.path_hint.clone(),
        });
    }

    /// Whether a timeout at `now` ends the recording.
    pub(super) fn due(&self, now: Instant) -> bool {
        self.deadline.is_some_and(|d| now >= d)
    }

    /// Whether `#` would end the recording (it is ignored during the greeting).
    pub(super) fn is_recording(&self) -> bool {
        self.recording.is_some()
    }

    /// Ends the message. `hung_up`: the caller is gone, so no stop or hangup is asked for. A
    /// caller who hangs up during the greeting leaves no message.
    pub(super) fn finish(
        &mut self,
        origin: &Origin,
        hung_up: bool,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) {
        self.deadline = None;
        let Some((started, started_at)) = self.recording.take() else {
            return;
        };
        if !hung_up {
            out.push_back(FlowAction::StopRecording);
        }
        out.push_back(FlowAction::Emit(FlowEvent::VoicemailRecorded {
            mailbox: self.mailbox.clone(),
            path_hint: self.path_hint.clone(),
            caller: origin.caller.to_owned(),
            number: origin.number.to_owned(),
            landing_page: origin.landing_page.map(str::to_owned),
            started_at,
            duration: now.saturating_duration_since(started),
        }));
        if !hung_up {
            out.push_back(FlowAction::Hangup {
                reason: HangupReason::VoicemailDone,
            });
        }
    }
}
