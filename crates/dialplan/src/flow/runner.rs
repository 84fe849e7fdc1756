//! A whole call's walk through the plan: which step it is in, the menu stack for "back", and the
//! hand-over between steps.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::ivr::MenuRun;
use super::voicemail::{Origin, VoicemailRun};
use super::{hours, FlowAction, FlowEvent, HangupReason};
use crate::plan::{Action, Plan, Ring};
use crate::Error;

/// Steps taken without the caller doing anything before the run gives up; the load-time checks
/// reject loops, this only keeps a missed one from spinning.
const MAX_AUTOMATIC_STEPS: u32 = 64;

#[derive(Debug)]
enum State {
    Menu(MenuRun),
    /// A `play` action; then `next`.
    Playing(Action),
    /// Operators (or a queue's group) are ringing; `fallback` runs when nobody answers.
    Ringing {
        fallback: Option<Action>,
        deadline: Instant,
    },
    Transferring,
    Voicemail(String, VoicemailRun),
    /// Answered by an operator or the transfer target: the flow is over, the call goes on.
    Bridged,
    /// The caller hears themselves (echo test) until they hang up; the flow is over.
    Echo,
    /// Hung up, by the plan or the caller.
    Done,
}

/// One call's flow. See the [module docs](super) for the driving contract.
#[derive(Debug)]
pub struct FlowRun {
    plan: Arc<Plan>,
    number: String,
    caller: String,
    /// Wall time and monotonic time at the start: wall time later is `wall + (now - start)`, so
    /// hours are judged at the moment each step is reached.
    wall: DateTime<Utc>,
    start: Instant,
    state: State,
    /// Menus to return to with `back`, innermost last.
    stack: Vec<String>,
    /// The menu the call is in or last was in (kept through `play` steps).
    current_menu: Option<String>,
    visited: HashSet<String>,
    automatic_steps: u32,
    out: VecDeque<FlowAction>,
}

impl FlowRun {
    /// Starts the flow of a call from `caller` to `number` (as the trunk sent it) at wall time
    /// `wall`, monotonic `now`. Errors if the plan has no such number.
    pub fn start(
        plan: Arc<Plan>,
        number: &str,
        caller: &str,
        wall: DateTime<Utc>,
        now: Instant,
    ) -> Result<FlowRun, Error> {
        let num = plan
            .number(number)
            .ok_or_else(|| Error::UnknownNumber(number.to_owned()))?;
        let action = num.action.clone();
        let number = num.number.clone();
        let mut run = FlowRun {
            plan,
            number,
            caller: caller.to_owned(),
            wall,
            start: now,
            state: State::Done,
            stack: Vec::new(),
            current_menu: None,
            visited: HashSet::new(),
            automatic_steps: 0,
            out: VecDeque::new(),
        };
        run.enter(action, now);
        Ok(run)
    }

    /// The plan this call runs on (the one it started with, whatever was reloaded since).
    pub fn plan(&self) -> &Arc<Plan> {
        &self.plan
    }

    /// The number called, normalized as in the plan.
    pub fn number(&self) -> &str {
        &self.number
    }

    /// The next thing to do, in order; `None` when there is nothing until the next input.
    pub fn poll_action(&mut self) -> Option<FlowAction> {
        self.out.pop_front()
    }

    /// When to call [`FlowRun::handle_timeout`].
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Menu(m) => m.deadline(),
            State::Ringing { deadline, .. } => Some(*deadline),
            State::Voicemail(_, v) => v.deadline(),
            _ => None,
        }
    }

    /// The flow has handed the call over (bridged) or ended it; no more actions will come.
    pub fn is_finished(&self) -> bool {
        matches!(self.state, State::Bridged | State::Echo | State::Done)
    }

    /// Wall-clock time at `now`.
    pub fn wall_time(&self, now: Instant) -> DateTime<Utc> {
        let elapsed = now.saturating_duration_since(self.start);
        self.wall + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }

    /// A DTMF key (`0`-`9`, `*`, `#`, `A`-`D`) from RFC 4733 or SIP INFO. Other characters are
    /// ignored.
    pub fn handle_digit(&mut self, key: char, now: Instant) {
        if !matches!(key, '0'..='9' | '*' | '#' | 'A'..='D') {
            return;
        }
        self.automatic_steps = 0;
        let plan = self.plan.clone();
        match &mut self.state {
            State::Menu(run) => {
                let Some(menu) = plan.menu(&run.name) else {
                    return;
                };
                if let Some(next) = run.digit(menu, &plan, key, now, &mut self.out) {
                    self.enter(next, now);
                }
            }
            State::Voicemail(_, v) if key == '#' && v.is_recording() => {
                self.end_voicemail(false, now)
            }
            // Announcements, ringing and recordings are not interrupted by other keys.
            _ => {}
        }
    }

    /// The prompts of the last [`FlowAction::Play`] have all been played.
    pub fn handle_prompt_done(&mut self, now: Instant) {
        let plan = self.plan.clone();
        let wall = self.wall_time(now);
        match &mut self.state {
            State::Menu(run) => {
                if let Some(menu) = plan.menu(&run.name) {
                    run.prompt_done(menu, now, &mut self.out);
                }
            }
            State::Playing(next) => {
                let next = next.clone();
                self.enter(next, now);
            }
            State::Voicemail(name, v) => {
                if let Some(vm) = plan.voicemail(name) {
                    v.prompt_done(vm, wall, now, &mut self.out);
                }
            }
            _ => {}
        }
    }

    /// The time from [`FlowRun::poll_timeout`] has come. Early calls are ignored.
    pub fn handle_timeout(&mut self, now: Instant) {
        let plan = self.plan.clone();
        match &mut self.state {
            State::Menu(run) => {
                let Some(menu) = plan.menu(&run.name) else {
                    return;
                };
                if let Some(next) = run.timeout(menu, &plan, now, &mut self.out) {
                    self.enter(next, now);
                }
            }
            State::Ringing { fallback, deadline } if now >= *deadline => {
                let fallback = fallback.take();
                self.out.push_back(FlowAction::StopRinging);
                self.out.push_back(FlowAction::Emit(FlowEvent::RingTimeout));
                self.after_ring(fallback, now);
            }
            State::Voicemail(_, v) if v.due(now) => self.end_voicemail(false, now),
            _ => {}
        }
    }

    /// An operator (or the transfer target) answered: the flow is over and the call is bridged.
    pub fn handle_answered(&mut self, by: &str, _now: Instant) {
        if matches!(self.state, State::Ringing { .. } | State::Transferring) {
            self.out
                .push_back(FlowAction::Emit(FlowEvent::Answered { by: by.to_owned() }));
            self.state = State::Bridged;
        }
    }

    /// The ring or transfer failed before its timeout (nobody registered, all busy or declined,
    /// the trunk refused).
    pub fn handle_failed(&mut self, now: Instant) {
        match &mut self.state {
            State::Ringing { fallback, .. } => {
                let fallback = fallback.take();
                self.out.push_back(FlowAction::Emit(FlowEvent::RingFailed));
                self.after_ring(fallback, now);
            }
            State::Transferring => self.hangup(HangupReason::TransferFailed),
            _ => {}
        }
    }

    /// The media engine ended the recording (long silence, or the stream stopped).
    pub fn handle_recording_done(&mut self, now: Instant) {
        if matches!(&self.state, State::Voicemail(_, v) if v.is_recording()) {
            self.end_voicemail(false, now);
        }
    }

    /// The caller hung up. A recording in progress is kept; nothing more is asked for.
    pub fn handle_hangup(&mut self, now: Instant) {
        if matches!(self.state, State::Voicemail(..)) {
            self.end_voicemail(true, now);
        }
        self.state = State::Done;
    }

    fn end_voicemail(&mut self, hung_up: bool, now: Instant) {
        let State::Voicemail(_, v) = &mut self.state else {
            return;
        };
        let landing = self
            .plan
            .number(&self.number)
            .and_then(|n| n.landing_page.as_deref());
        let origin = Origin {
            caller: &self.caller,
            number: &self.number,
            landing_page: landing,
        };
        v.finish(&origin, hung_up, now, &mut self.out);
        self.state = State::Done;
    }

    fn after_ring(&mut self, fallback: Option<Action>, now: Instant) {
        match fallback {
            Some(next) => self.enter(next, now),
            None => self.hangup(HangupReason::NoAnswer),
        }
    }

    fn hangup(&mut self, reason: HangupReason) {
        self.out.push_back(FlowAction::Hangup { reason });
        self.state = State::Done;
    }

    /// Moves the call to `action`.
    fn enter(&mut self, action: Action, now: Instant) {
        self.automatic_steps += 1;
        if self.automatic_steps > MAX_AUTOMATIC_STEPS {
            return self.hangup(HangupReason::Loop);
        }
        let plan = self.plan.clone();
        match action {
            Action::Ring(ring) => self.ring(&ring, None, None, None, now),
            Action::Queue(name) => match plan.queue(&name) {
                Some(q) => {
                    let music = q.hold_music.as_ref().and_then(|m| plan.prompt(m));
                    let music = music.map(|p| p.path.clone());
                    self.ring(&q.ring, music, Some(name), Some(q.fallback.clone()), now);
                }
                None => self.hangup(HangupReason::Normal),
            },
            Action::Menu(name) => {
                if let Some(current) = &self.current_menu {
                    if *current != name {
                        self.stack.push(current.clone());
                    }
                }
                self.enter_menu(&name, now);
            }
            Action::Back => {
                let from = self.current_menu.clone().unwrap_or_default();
                let to = self.stack.pop().unwrap_or_else(|| from.clone());
                if to.is_empty() {
                    return self.hangup(HangupReason::Normal);
                }
                self.out.push_back(FlowAction::Emit(FlowEvent::Back {
                    from,
                    to: to.clone(),
                }));
                self.enter_menu(&to, now);
            }
            Action::Hours(name) => match plan.hours(&name) {
                Some(h) => {
                    let (next, event) = hours::decide(h, self.wall_time(now));
                    self.out.push_back(FlowAction::Emit(event));
                    self.enter(next, now);
                }
                None => self.hangup(HangupReason::Normal),
            },
            Action::Voicemail(name) => match plan.voicemail(&name) {
                Some(vm) => {
                    let run = VoicemailRun::start(
                        vm,
                        &plan,
                        &self.caller,
                        self.wall_time(now),
                        now,
                        &mut self.out,
                    );
                    self.state = State::Voicemail(name, run);
                }
                None => self.hangup(HangupReason::Normal),
            },
            Action::Transfer(number) => {
                self.out.push_back(FlowAction::Transfer { number });
                self.state = State::Transferring;
            }
            Action::Play { prompt, then } => match plan.prompt(&prompt) {
                Some(p) => {
                    self.out.push_back(FlowAction::Play {
                        prompts: vec![p.path.clone()],
                        barge_in: false,
                    });
                    self.state = State::Playing(*then);
                }
                None => self.enter(*then, now),
            },
            Action::Hangup => self.hangup(HangupReason::Normal),
            Action::Echo => {
                self.out.push_back(FlowAction::Echo);
                self.current_menu = None;
                self.stack.clear();
                self.state = State::Echo;
            }
        }
    }

    fn enter_menu(&mut self, name: &str, now: Instant) {
        let plan = self.plan.clone();
        let Some(menu) = plan.menu(name) else {
            return self.hangup(HangupReason::Normal);
        };
        let repeat = !self.visited.insert(name.to_owned());
        self.current_menu = Some(name.to_owned());
        self.state = State::Menu(MenuRun::enter(menu, &plan, repeat, now, &mut self.out));
    }

    fn ring(
        &mut self,
        ring: &Ring,
        hold_music: Option<std::path::PathBuf>,
        queue: Option<String>,
        fallback: Option<Action>,
        now: Instant,
    ) {
        let plan = self.plan.clone();
        let operators = plan
            .ring_operators(ring)
            .iter()
            .map(|o| o.username.clone())
            .collect();
        let num = plan.number(&self.number);
        let whisper = num
            .and_then(|n| n.whisper.as_ref())
            .and_then(|w| plan.prompt(w))
            .map(|p| p.path.clone());
        let caller_display =
            num.map_or_else(|| self.caller.clone(), |n| n.caller_display(&self.caller));
        self.out.push_back(FlowAction::Ring {
            operators,
            timeout: ring.timeout,
            hold_music,
            queue,
            whisper,
            caller_display,
        });
        self.current_menu = None;
        self.stack.clear();
        self.state = State::Ringing {
            fallback,
            deadline: now + ring.timeout,
        };
    }
}
