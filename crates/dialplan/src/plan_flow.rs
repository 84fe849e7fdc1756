//! The compiled call-flow pieces a [`crate::Plan`] holds: prompts, IVR menus, business hours,
//! voicemail boxes and queues. [`crate::flow::FlowRun`] walks them for one call.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

use crate::plan::{Action, Ring};

/// `[prompts]` entry: a named audio file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub name: String,
    /// `prompts_dir` joined with the file as written: relative paths stay relative to the
    /// server's working directory, where the media engine opens them.
    pub path: PathBuf,
    /// Read from the WAV header at load; `simulate` uses it to advance its clock.
    pub duration: Duration,
}

/// `[[menu]]`: an IVR menu.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Menu {
    pub name: String,
    /// Played the first time the caller reaches the menu in a call.
    pub greeting: Option<String>,
    /// Played on repeats (retry, return from a submenu); the greeting when not written.
    pub short_greeting: Option<String>,
    pub invalid_prompt: Option<String>,
    pub timeout_prompt: Option<String>,
    /// Waiting for the first digit once the greeting has ended.
    pub timeout: Duration,
    /// Waiting for the next digit of a multi-digit entry.
    pub digit_timeout: Duration,
    /// An entry this long is taken as complete.
    pub max_digits: usize,
    /// Ends an entry early (`#`), when set.
    pub terminator: Option<char>,
    /// Failed attempts (timeouts and invalid entries) allowed before the fallback.
    pub retries: u32,
    /// Digits to action.
    pub options: BTreeMap<String, Action>,
    /// After too many failed attempts.
    pub fallback: Action,
    /// A key that reaches an operator at any point in the menu, even mid-entry.
    pub operator: Option<(char, Action)>,
}

/// A span of a day in local minutes since midnight, `start` inclusive, `end` exclusive (at most
/// 1440, "24:00").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct MinuteRange {
    pub start: u16,
    pub end: u16,
}

impl MinuteRange {
    pub fn contains(&self, minute: u16) -> bool {
        self.start <= minute && minute < self.end
    }
}

/// `[[hours]]`: a time condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hours {
    pub name: String,
    pub timezone: Tz,
    /// Open ranges per weekday, Monday first, lunch not yet taken out.
    pub week: [Vec<MinuteRange>; 7],
    /// Closed within the weekly ranges (not within overrides, which say exactly what is open).
    pub lunch: Vec<MinuteRange>,
    /// Closed all day, unless an override says otherwise.
    pub holidays: BTreeSet<NaiveDate>,
    /// One-off days: exactly these ranges are open (none: closed all day).
    pub overrides: BTreeMap<NaiveDate, Vec<MinuteRange>>,
    pub open: Action,
    pub closed: Action,
}

impl Hours {
    /// Whether the business is open at `at`, judged by the local date and time in the hours'
    /// time zone (so daylight saving changes are followed). Order: override, holiday, weekly
    /// schedule minus lunch.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        let local = at.with_timezone(&self.timezone);
        let date = local.date_naive();
        // Minutes since midnight; a leap second (nanosecond >= 1e9) stays in its minute.
        let minute = u16::try_from(local.hour() * 60 + local.minute()).unwrap_or(0);
        if let Some(ranges) = self.overrides.get(&date) {
            return ranges.iter().any(|r| r.contains(minute));
        }
        if self.holidays.contains(&date) {
            return false;
        }
        let day = local.weekday().num_days_from_monday() as usize;
        self.week[day].iter().any(|r| r.contains(minute))
            && !self.lunch.iter().any(|r| r.contains(minute))
    }

    /// The action for a call arriving at `at`.
    pub fn branch(&self, at: DateTime<Utc>) -> &Action {
        if self.is_open(at) {
            &self.open
        } else {
            &self.closed
        }
    }
}

/// `[[voicemail]]`: a voicemail box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoicemailBox {
    pub name: String,
    pub greeting: Option<String>,
    pub beep: Option<String>,
    /// Recording stops after this long.
    pub max_duration: Duration,
    /// Recording stops when the caller is quiet (audio under about -45 dBFS) this long.
    pub silence: Duration,
}

/// `[[queue]]`. The ACD is a later issue: for now a queue rings its group (everyone at once)
/// while the caller hears `hold_music`, then takes `fallback` when nobody answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub name: String,
    pub ring: Ring,
    pub hold_music: Option<String>,
    pub fallback: Action,
}
