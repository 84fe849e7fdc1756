//! The call-flow interpreter: one [`FlowRun`] per call, walking a [`Plan`](crate::Plan)'s
//! numbers, menus, hours, voicemail boxes and queues.
//!
//! Sans-IO: the driver (the server, `switchboard simulate`, tests) feeds inputs with the time they
//! happened (`handle_*(.., now)`), carries out what [`FlowRun::poll_action`] asks (play, ring,
//! record, ...), and calls [`FlowRun::handle_timeout`] once [`FlowRun::poll_timeout`] is due. The
//! run holds the `Arc<Plan>` it started with, so a reloaded plan never changes a call in progress.
//!
//! Files: `runner.rs` is the call as a whole; `ivr.rs` one menu visit; `voicemail.rs` one
//! recording; `hours.rs` a time-condition check.

mod hours;
mod ivr;
mod runner;
mod voicemail;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use runner::FlowRun;

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowAction {
    /// Play these prompts one after the other to the caller, then call
    /// [`FlowRun::handle_prompt_done`]. With `barge_in`, a digit during playback acts at once
    /// (the run asks for [`FlowAction::StopPlayback`] first).
    Play {
        prompts: Vec<PathBuf>,
        barge_in: bool,
    },
    /// Stop the prompt that is playing (the caller barged in). No `handle_prompt_done` follows.
    StopPlayback,
    /// Digits now matter: forward RFC 4733 / SIP INFO digits to [`FlowRun::handle_digit`].
    /// Informational: the run keeps its own timers.
    CollectDigits {
        menu: String,
        max_digits: usize,
        terminator: Option<char>,
        timeout: Duration,
        digit_timeout: Duration,
    },
    /// Ring these operators at once; the first to answer gets the call. The caller hears
    /// `hold_music` when set, ringback otherwise. The answering operator hears `whisper` first,
    /// and their softphone shows `caller_display` as the From display name. Report the outcome with
    /// [`FlowRun::handle_answered`] or [`FlowRun::handle_failed`]; the run times out by itself
    /// (asking for [`FlowAction::StopRinging`]).
    Ring {
        operators: Vec<String>,
        timeout: Duration,
        hold_music: Option<PathBuf>,
        /// The queue this ring serves, if any.
        queue: Option<String>,
        whisper: Option<PathBuf>,
        caller_display: String,
    },
    /// Cancel the ringing (timeout): stop every forked leg.
    StopRinging,
    /// Record the caller into a WAV under `data_dir` at `path_hint`, for at most `max_duration`.
    /// Call [`FlowRun::handle_recording_done`] once the caller was quiet for `silence`, or on a
    /// media end.
    RecordVoicemail {
        mailbox: String,
        max_duration: Duration,
        silence: Duration,
        path_hint: PathBuf,
    },
    /// Stop recording and keep the file.
    StopRecording,
    /// Call this external number through a trunk and bridge the caller to it.
    Transfer { number: String },
    /// Answer the caller (if not yet) and send their own audio back to them (echo test) until they
    /// hang up. The flow is over: nothing follows.
    Echo,
    /// End the call. Nothing follows.
    Hangup { reason: HangupReason },
    /// Something worth recording or notifying about; no action needed to carry on.
    Emit(FlowEvent),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HangupReason {
    /// The plan says hang up (a `hangup` action or a play with nothing after it).
    Normal,
    /// Nobody answered and there was no fallback.
    NoAnswer,
    /// The message was recorded.
    VoicemailDone,
    /// The external number did not answer.
    TransferFailed,
    /// Too many steps without the caller doing anything; a plan bug the checks did not catch.
    Loop,
}

/// Events for call records, logs, webhooks and `simulate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowEvent {
    /// The caller reached a menu; `repeat` when it is not their first visit in this call.
    MenuEntered {
        menu: String,
        repeat: bool,
    },
    /// A complete entry that matched an option.
    OptionChosen {
        menu: String,
        digits: String,
    },
    InvalidEntry {
        menu: String,
        digits: String,
    },
    NoInput {
        menu: String,
    },
    /// Too many failed attempts: the menu's fallback runs.
    MenuFallback {
        menu: String,
    },
    OperatorKey {
        menu: String,
    },
    /// "Return to previous menu".
    Back {
        from: String,
        to: String,
    },
    HoursChecked {
        hours: String,
        open: bool,
        /// The local time the decision was made on, like "2026-11-24 10:00 Tue Europe/Moscow".
        local_time: String,
    },
    RingTimeout,
    RingFailed,
    Answered {
        by: String,
    },
    VoicemailStarted {
        mailbox: String,
    },
    /// A message was saved: store it with these details and notify.
    VoicemailRecorded {
        mailbox: String,
        path_hint: PathBuf,
        caller: String,
        number: String,
        landing_page: Option<String>,
        started_at: DateTime<Utc>,
        duration: Duration,
    },
}
