//! Call recording and the media figures of a call's record.
//!
//! A call is recorded from the moment it is bridged (the plan's
//! `record_calls`, or the number's `record`), the caller on the left. The
//! record names the file at once; the file's length and each leg's
//! reception figures come from the media engine as `MediaReport`s, usually
//! after the call ended and its record was already handed over for storing
//! (the record is never held back for them: a crash must not lose it). So
//! the core remembers, for a short while, which record each ended call's
//! legs belong to, and turns late reports into `Effect::CallMedia` updates.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dialplan::RecordingNotice;

use super::call::Call;
use super::{Core, Effect};
use crate::media::{LegId, LegStats, MediaReport, Notice};

/// How long after a call ended its reports are still awaited. The engine
/// sends them within milliseconds; this only bounds the table.
const AWAIT_REPORTS: Duration = Duration::from_secs(60);

/// Which side of the record a leg's figures fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Caller,
    Operator,
}

/// An ended call's leg whose reports may still come.
#[derive(Debug, Clone)]
struct AfterCall {
    node_id: String,
    id: String,
    side: Side,
    /// The call's recording (its `RecordingDone` names the caller leg).
    recording: Option<PathBuf>,
    /// Its `LegClosed` came.
    closed: bool,
    until: Instant,
}

/// Ended calls' legs -> their record, until the reports came or expired.
#[derive(Debug, Default)]
pub(super) struct AwaitedReports {
    legs: HashMap<LegId, AfterCall>,
}

impl AwaitedReports {
    fn insert(&mut self, leg: LegId, entry: AfterCall, now: Instant) {
        self.legs.retain(|_, e| e.until > now);
        self.legs.insert(leg, entry);
    }

    /// Legs still awaited (for tests and logs).
    pub fn len(&self) -> usize {
        self.legs.len()
    }
}

/// The figures the record keeps of one leg.
fn quality(stats: &LegStats) -> store::LegQuality {
    let q = &stats.quality;
    store::LegQuality {
        packets: i64::try_from(q.packets_received).unwrap_or(i64::MAX),
        lost: q.packets_lost,
        jitter_ms: q.jitter_ms,
        mos: q.mos,
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Call {
    /// At the bridge with callee `i`: record the call if the plan says so.
    pub(super) fn start_call_recording(&mut self, core: &mut Core, i: usize) {
        // An inbound call follows the plan it started with.
        let plan = self
            .flow
            .as_ref()
            .map_or_else(|| core.plan.clone(), |f| f.run.plan().clone());
        let record = match plan.number(&self.record.callee) {
            Some(number) if self.record.direction == store::Direction::Inbound => {
                plan.records_calls_to(number)
            }
            _ => plan.server().record_calls,
        };
        if !record || self.record.recording_path.is_some() {
            return;
        }
        let notice = match &plan.server().recording_notice {
            RecordingNotice::None => Notice::None,
            RecordingNotice::Beep => Notice::Beep,
            RecordingNotice::Prompt(name) => {
                match plan.prompt(name).and_then(|p| core.prompts.clip(&p.path)) {
                    Some(clip) => Notice::Prompt(clip),
                    // Unplayable (logged when loading): a beep still says it.
                    None => Notice::Beep,
                }
            }
        };
        let caller = self.caller_leg.media;
        let operator = self.callees[i].media;
        match core
            .media
            .start_recording(caller, operator, &self.id, notice)
        {
            Some(path) => {
                tracing::info!(call = %self.id, path = %path.display(), "recording");
                self.record.recording_path = Some(path.display().to_string());
            }
            None => tracing::warn!(call = %self.id, "call not recorded: the recorder refused"),
        }
    }

    /// The call ended: its legs' reports will come after the record left.
    pub(super) fn await_media_reports(&self, core: &mut Core, now: Instant) {
        let recording = self.record.recording_path.as_ref().map(PathBuf::from);
        let mut legs = vec![(self.caller_leg.media, Side::Caller)];
        if let Some(i) = self.answered {
            legs.push((self.callees[i].media, Side::Operator));
        }
        for (leg, side) in legs {
            let entry = AfterCall {
                node_id: self.record.node_id.clone(),
                id: self.record.id.clone(),
                side,
                recording: recording.clone().filter(|_| side == Side::Caller),
                closed: false,
                until: now + AWAIT_REPORTS,
            };
            core.awaited.insert(leg, entry, now);
        }
    }

    /// A report for this call while it is still going on: into its record.
    pub(super) fn media_report(&mut self, report: &MediaReport) {
        let media = &mut self.record.media;
        match report {
            MediaReport::RecordingDone(done) => {
                let ours = self
                    .record
                    .recording_path
                    .as_deref()
                    .is_some_and(|p| done.path == std::path::Path::new(p));
                if ours {
                    media.recording_duration_ms = Some(millis(done.duration));
                }
            }
            MediaReport::LegClosed { leg, stats } => {
                if *leg == self.caller_leg.media {
                    media.caller = Some(quality(stats));
                } else if self.answered.is_some_and(|i| self.callees[i].media == *leg) {
                    media.operator = Some(quality(stats));
                }
            }
        }
    }
}

/// A `MediaReport` from the engine: into the live call's record, or as an
/// update of an ended call's stored record.
pub(super) fn handle_media_report(core: &mut Core, report: MediaReport, now: Instant) {
    let leg = match &report {
        MediaReport::RecordingDone(done) => done.caller,
        MediaReport::LegClosed { leg, .. } => *leg,
    };
    if let Some(mut call) = core.calls.take_by_media(leg) {
        call.media_report(&report);
        core.calls.put(call);
        return;
    }
    let Some(entry) = core.awaited.legs.get(&leg).filter(|e| e.until > now) else {
        return;
    };
    let mut media = store::CallMedia::default();
    match &report {
        MediaReport::RecordingDone(done) => {
            if entry.recording.as_ref() != Some(&done.path) {
                return; // a voicemail on the caller's leg, not the call's recording
            }
            if let Some(e) = &done.error {
                tracing::warn!(call = %entry.id, "recording incomplete: {e}");
            }
            media.recording_duration_ms = Some(millis(done.duration));
        }
        MediaReport::LegClosed { stats, .. } => match entry.side {
            Side::Caller => media.caller = Some(quality(stats)),
            Side::Operator => media.operator = Some(quality(stats)),
        },
    }
    let (node_id, id) = (entry.node_id.clone(), entry.id.clone());
    // The entry goes once both of the leg's reports came (the recording's
    // only for the caller's leg of a recorded call), in whichever order.
    if let Some(e) = core.awaited.legs.get_mut(&leg) {
        match &report {
            MediaReport::RecordingDone(_) => e.recording = None,
            MediaReport::LegClosed { .. } => e.closed = true,
        }
        if e.closed && e.recording.is_none() {
            core.awaited.legs.remove(&leg);
        }
    }
    core.effects
        .push_back(Effect::CallMedia { node_id, id, media });
}
