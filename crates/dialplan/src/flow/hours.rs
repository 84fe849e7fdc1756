//! A time-condition check: which branch of `[[hours]]` a call takes at a given wall time.

use chrono::{DateTime, Utc};

use super::FlowEvent;
use crate::plan::Action;
use crate::plan_flow::Hours;

/// The branch for `at`, and the event recording the decision with the local time it was made on.
pub(super) fn decide(hours: &Hours, at: DateTime<Utc>) -> (Action, FlowEvent) {
    let open = hours.is_open(at);
    let local = at.with_timezone(&hours.timezone);
    let event = FlowEvent::HoursChecked {
        hours: hours.name.clone(),
        open,
        local_time: format!(
            "{} {}",
            local.format("%Y-%m-%d %H:%M %a"),
            hours.timezone.name()
        ),
    };
    let branch = if open { &hours.open } else { &hours.closed };
    (branch.clone(), event)
}
