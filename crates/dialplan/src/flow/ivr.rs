//! One visit to an IVR menu: greeting, digit collection (single keys, multi-digit entries with an
//! inter-digit timeout, `#` terminator, max length), invalid and timeout prompts, retries, the
//! operator key, and barge-in.
//!
//! ```text
//!            greeting done              digit / timeout
//! Greeting ----------------> Waiting --------------------> option chosen  -> Exit
//!    ^  digit (barge-in) ------^  |                         operator key  -> Exit
//!    |                            | invalid / no input      retries spent -> Exit(fallback)
//!    +---- notice + short greeting+
//! ```

use std::collections::VecDeque;
use std::time::Instant;

use super::{FlowAction, FlowEvent};
use crate::plan::{Action, Plan};
use crate::plan_flow::Menu;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A greeting (or notice + greeting) is playing; digits barge in.
    Prompting,
    /// Waiting for a digit until the deadline.
    Waiting,
}

#[derive(Debug)]
pub(super) struct MenuRun {
    pub(super) name: String,
    phase: Phase,
    digits: String,
    failures: u32,
    deadline: Option<Instant>,
}

enum Failure {
    Invalid,
    NoInput,
}

impl MenuRun {
    /// Starts a visit: the long greeting on the first visit in a call, the short one after.
    pub(super) fn enter(
        menu: &Menu,
        plan: &Plan,
        repeat: bool,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) -> MenuRun {
        out.push_back(FlowAction::Emit(FlowEvent::MenuEntered {
            menu: menu.name.clone(),
            repeat,
        }));
        let mut run = MenuRun {
            name: menu.name.clone(),
            phase: Phase::Waiting,
            digits: String::new(),
            failures: 0,
            deadline: None,
        };
        let greeting = if repeat {
            &menu.short_greeting
        } else {
            &menu.greeting
        };
        run.prompt(menu, plan, [greeting.as_deref()], now, out);
        run
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Plays the prompts that exist; with none, goes straight to waiting.
    fn prompt<'a>(
        &mut self,
        menu: &Menu,
        plan: &Plan,
        names: impl IntoIterator<Item = Option<&'a str>>,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) {
        let prompts: Vec<_> = names
            .into_iter()
            .flatten()
            .filter_map(|n| plan.prompt(n))
            .map(|p| p.path.clone())
            .collect();
        if prompts.is_empty() {
            self.wait(menu, now, out);
        } else {
            self.phase = Phase::Prompting;
            self.deadline = None;
            out.push_back(FlowAction::Play {
                prompts,
                barge_in: true,
            });
        }
    }

    fn wait(&mut self, menu: &Menu, now: Instant, out: &mut VecDeque<FlowAction>) {
        self.phase = Phase::Waiting;
        self.digits.clear();
        self.deadline = Some(now + menu.timeout);
        out.push_back(FlowAction::CollectDigits {
            menu: menu.name.clone(),
            max_digits: menu.max_digits,
            terminator: menu.terminator,
            timeout: menu.timeout,
            digit_timeout: menu.digit_timeout,
        });
    }

    pub(super) fn prompt_done(
        &mut self,
        menu: &Menu,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) {
        if self.phase == Phase::Prompting {
            self.wait(menu, now, out);
        }
    }

    /// A key press. Returns the action the menu hands the call to, if the entry is complete.
    pub(super) fn digit(
        &mut self,
        menu: &Menu,
        plan: &Plan,
        key: char,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) -> Option<Action> {
        if self.phase == Phase::Prompting {
            // Barge-in: the caller knows what they want; stop talking and take the key.
            out.push_back(FlowAction::StopPlayback);
            self.phase = Phase::Waiting;
            self.digits.clear();
        }
        if let Some((op, action)) = &menu.operator {
            if *op == key {
                self.deadline = None;
                out.push_back(FlowAction::Emit(FlowEvent::OperatorKey {
                    menu: menu.name.clone(),
                }));
                return Some(action.clone());
            }
        }
        if menu.terminator == Some(key) {
            return self.complete(menu, plan, now, out);
        }
        self.digits.push(key);
        let longer = menu
            .options
            .keys()
            .any(|k| k.len() > self.digits.len() && k.starts_with(self.digits.as_str()));
        // Complete when nothing longer can follow (an exact match, or no option starts this way,
        // which is invalid at once), or the entry is as long as it may get.
        if !longer || self.digits.chars().count() >= menu.max_digits {
            return self.complete(menu, plan, now, out);
        }
        // More digits may follow: wait the inter-digit time.
        self.deadline = Some(now + menu.digit_timeout);
        None
    }

    pub(super) fn timeout(
        &mut self,
        menu: &Menu,
        plan: &Plan,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) -> Option<Action> {
        if self.phase != Phase::Waiting || self.deadline.is_none_or(|d| now < d) {
            return None;
        }
        if self.digits.is_empty() {
            self.fail(menu, plan, Failure::NoInput, now, out)
        } else {
            self.complete(menu, plan, now, out)
        }
    }

    /// The entry is over: an option, or an invalid entry.
    fn complete(
        &mut self,
        menu: &Menu,
        plan: &Plan,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) -> Option<Action> {
        let digits = std::mem::take(&mut self.digits);
        self.deadline = None;
        match menu.options.get(&digits) {
            Some(action) => {
                out.push_back(FlowAction::Emit(FlowEvent::OptionChosen {
                    menu: menu.name.clone(),
                    digits,
                }));
                Some(action.clone())
            }
            None => {
                out.push_back(FlowAction::Emit(FlowEvent::InvalidEntry {
                    menu: menu.name.clone(),
                    digits,
                }));
                self.fail(menu, plan, Failure::Invalid, now, out)
            }
        }
    }

    fn fail(
        &mut self,
        menu: &Menu,
        plan: &Plan,
        why: Failure,
        now: Instant,
        out: &mut VecDeque<FlowAction>,
    ) -> Option<Action> {
        self.failures += 1;
        self.deadline = None;
        let notice = match why {
            Failure::Invalid => &menu.invalid_prompt,
            Failure::NoInput => {
                out.push_back(FlowAction::Emit(FlowEvent::NoInput {
                    menu: menu.name.clone(),
                }));
                &menu.timeout_prompt
            }
        };
        if self.failures > menu.retries {
            out.push_back(FlowAction::Emit(FlowEvent::MenuFallback {
                menu: menu.name.clone(),
            }));
            return Some(menu.fallback.clone());
        }
        self.prompt(
            menu,
            plan,
            [notice.as_deref(), menu.short_greeting.as_deref()],
            now,
            out,
        );
        None
    }
}
