//! `switchboard simulate`: drives a [`FlowRun`] on a simulated clock and describes the path a
//! call takes, line by line. No network and no clock: prompts "play" for the length read from
//! their WAV headers at load, the caller types the given entries when a menu waits for keys, and
//! operators answer (or not) as told.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::flow::{FlowAction, FlowEvent, FlowRun};
use crate::{Error, Plan};

/// What the simulated caller and operators do.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub to: String,
    pub from: String,
    pub at: DateTime<Utc>,
    /// One entry per time a menu waits for keys, e.g. `["1", "12#", ""]`; an empty entry
    /// presses nothing (the menu times out). During a recording, the next entry is typed after
    /// ten seconds of speech (`#` ends it).
    pub entries: Vec<String>,
    /// Whether operators and transfer targets answer.
    pub answer: bool,
}

/// Parses `--at`: RFC 3339 with an offset ("2026-11-24T10:00:00+03:00" or "...Z").
pub fn parse_wall_time(s: &str) -> Result<DateTime<Utc>, Error> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Error::BadWallTime(s.to_owned()))
}

/// Splits `--digits 1,12#,,0` into entries (an empty one presses nothing).
pub fn parse_entries(s: &str) -> Vec<String> {
    s.split(',').map(|e| e.trim().to_owned()).collect()
}

/// The caller starts typing this long after a menu starts waiting, and types keys this far apart.
const THINK: Duration = Duration::from_secs(1);
const KEY_GAP: Duration = Duration::from_millis(500);
/// Operators pick up after this long (under the shortest ring timeout, 5 s).
const ANSWER_AFTER: Duration = Duration::from_secs(4);
const SPEECH: Duration = Duration::from_secs(10);
/// A safety net against a plan that never ends.
const MAX_STEPS: usize = 1000;

/// Runs the scenario; `base` is any instant (the simulated clock starts there). Errors if the
/// plan has no such number.
pub fn simulate(plan: Arc<Plan>, s: &Scenario, base: Instant) -> Result<Vec<String>, Error> {
    let names: HashMap<PathBuf, String> = plan
        .prompts
        .values()
        .map(|p| (p.path.clone(), p.name.clone()))
        .collect();
    let durations: HashMap<PathBuf, Duration> = plan
        .prompts
        .values()
        .map(|p| (p.path.clone(), p.duration))
        .collect();
    let mut run = FlowRun::start(plan.clone(), &s.to, &s.from, s.at, base)?;
    let number = plan
        .number(&s.to)
        .map(|n| n.name.clone())
        .unwrap_or_default();
    let mut lines = vec![format!(
        "call from {} to {} ({number}) at {}",
        s.from,
        run.number(),
        s.at.to_rfc3339()
    )];
    let mut entries: VecDeque<&str> = s.entries.iter().map(String::as_str).collect();
    let mut now = base;
    let mut prompt_end: Option<Instant> = None;
    let mut keys: VecDeque<(Instant, char)> = VecDeque::new();
    let mut answer_at: Option<(Instant, String)> = None;
    let mut fail_at: Option<Instant> = None;
    let name = |p: &PathBuf| {
        names
            .get(p)
            .cloned()
            .unwrap_or_else(|| p.display().to_string())
    };
    for _ in 0..MAX_STEPS {
        while let Some(action) = run.poll_action() {
            let t = now.duration_since(base).as_secs_f64();
            let mut say = |text: String| lines.push(format!("[{t:6.1}s] {text}"));
            match action {
                FlowAction::Play { prompts, barge_in } => {
                    let total: Duration = prompts.iter().filter_map(|p| durations.get(p)).sum();
                    let list: Vec<String> = prompts.iter().map(&name).collect();
                    let keys_note = if barge_in { ", keys interrupt it" } else { "" };
                    say(format!(
                        "play {} ({:.1}s{keys_note})",
                        list.join(" + "),
                        total.as_secs_f64()
                    ));
                    prompt_end = Some(now + total);
                }
                FlowAction::StopPlayback => {
                    say("stop playback (caller pressed a key)".into());
                    prompt_end = None;
                }
                FlowAction::CollectDigits {
                    menu,
                    max_digits,
                    timeout,
                    ..
                } => {
                    let mut at = now + THINK;
                    match entries.pop_front() {
                        Some("") => say(format!(
                            "menu {menu} waits for keys (up to {max_digits}, {}s); caller presses nothing",
                            timeout.as_secs()
                        )),
                        Some(entry) => {
                            say(format!(
                                "menu {menu} waits for keys (up to {max_digits}, {}s); caller types {entry}",
                                timeout.as_secs()
                            ));
                            for c in entry.chars() {
                                keys.push_back((at, c));
                                at += KEY_GAP;
                            }
                        }
                        None => say(format!(
                            "menu {menu} waits for keys (up to {max_digits}, {}s); no more entries",
                            timeout.as_secs()
                        )),
                    }
                }
                FlowAction::Ring {
                    operators,
                    timeout,
                    hold_music,
                    queue,
                    whisper,
                    caller_display,
                } => {
                    let mut text = match &queue {
                        Some(q) => format!("queue {q}: ring {}", operators.join(", ")),
                        None => format!("ring {}", operators.join(", ")),
                    };
                    text += &format!(" for up to {}s", timeout.as_secs());
                    match &hold_music {
                        Some(m) => text += &format!("; caller hears {}", name(m)),
                        None => text += "; caller hears ringback",
                    }
                    if let Some(w) = &whisper {
                        text += &format!("; operator hears {} first", name(w));
                    }
                    text += &format!("; phone shows \"{caller_display}\"");
                    say(text);
                    match operators.first() {
                        Some(first) if s.answer => {
                            answer_at = Some((now + ANSWER_AFTER, first.clone()))
                        }
                        Some(_) => {}
                        None => fail_at = Some(now),
                    }
                }
                FlowAction::StopRinging => say("stop ringing".into()),
                FlowAction::RecordVoicemail {
                    mailbox,
                    max_duration,
                    path_hint,
                    ..
                } => {
                    say(format!(
                        "record voicemail in {mailbox} (up to {}s) to {}",
                        max_duration.as_secs(),
                        path_hint.display()
                    ));
                    if let Some(entry) = entries.pop_front() {
                        let mut at = now + SPEECH;
                        for c in entry.chars() {
                            keys.push_back((at, c));
                            at += KEY_GAP;
                        }
                    }
                }
                FlowAction::StopRecording => say("stop recording".into()),
                FlowAction::Transfer { number } => {
                    say(format!("transfer to {number}"));
                    if s.answer {
                        answer_at = Some((now + ANSWER_AFTER, number));
                    } else {
                        fail_at = Some(now + ANSWER_AFTER);
                    }
                }
                FlowAction::Echo => {
                    say("answer; the caller hears their own voice back (echo test)".into())
                }
                FlowAction::Hangup { reason } => say(format!("hang up ({reason:?})")),
                FlowAction::Emit(event) => {
                    if matches!(
                        event,
                        FlowEvent::OptionChosen { .. }
                            | FlowEvent::InvalidEntry { .. }
                            | FlowEvent::OperatorKey { .. }
                    ) {
                        // The entry is over; a real caller stops typing.
                        keys.clear();
                    }
                    if let Some(text) = describe(&event) {
                        say(text);
                    }
                }
            }
        }
        if run.is_finished() {
            return Ok(lines);
        }
        // The next thing to happen on the simulated clock.
        let candidates = [
            prompt_end,
            keys.front().map(|(t, _)| *t),
            answer_at.as_ref().map(|(t, _)| *t),
            fail_at,
            run.poll_timeout(),
        ];
        let Some(next) = candidates.iter().flatten().min().copied() else {
            lines.push("(the flow waits for nothing more)".into());
            return Ok(lines);
        };
        now = now.max(next);
        if prompt_end.is_some_and(|t| t <= now) {
            prompt_end = None;
            run.handle_prompt_done(now);
        } else if keys.front().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, c)) = keys.pop_front() {
                let t = now.duration_since(base).as_secs_f64();
                lines.push(format!("[{t:6.1}s] caller presses {c}"));
                run.handle_digit(c, now);
            }
        } else if answer_at.as_ref().is_some_and(|(t, _)| *t <= now) {
            if let Some((_, who)) = answer_at.take() {
                run.handle_answered(&who, now);
            }
        } else if fail_at.is_some_and(|t| t <= now) {
            fail_at = None;
            run.handle_failed(now);
        } else {
            run.handle_timeout(now);
        }
    }
    lines.push("(stopped: too many steps)".into());
    Ok(lines)
}

fn describe(event: &FlowEvent) -> Option<String> {
    Some(match event {
        FlowEvent::MenuEntered { menu, repeat } => {
            format!("menu {menu}{}", if *repeat { " (again)" } else { "" })
        }
        FlowEvent::OptionChosen { menu, digits } => format!("menu {menu}: option {digits}"),
        FlowEvent::InvalidEntry { menu, digits } => {
            format!("menu {menu}: invalid entry \"{digits}\"")
        }
        FlowEvent::NoInput { menu } => format!("menu {menu}: no input"),
        FlowEvent::MenuFallback { menu } => format!("menu {menu}: retries used up, fallback"),
        FlowEvent::OperatorKey { menu } => format!("menu {menu}: operator key"),
        FlowEvent::Back { from, to } => format!("back from {from} to {to}"),
        FlowEvent::HoursChecked {
            hours,
            open,
            local_time,
        } => format!(
            "hours {hours}: {} ({local_time})",
            if *open { "open" } else { "closed" }
        ),
        FlowEvent::RingTimeout => "nobody answered in time".into(),
        FlowEvent::RingFailed => "nobody to ring".into(),
        FlowEvent::Answered { by } => format!("answered by {by}"),
        FlowEvent::VoicemailStarted { .. } => return None,
        FlowEvent::VoicemailRecorded {
            mailbox, duration, ..
        } => format!("voicemail saved in {mailbox} ({}s)", duration.as_secs()),
    })
}
