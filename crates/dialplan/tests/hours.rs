//! Business-hours edges: midnight, lunch, time zones and daylight saving, holidays, overrides,
//! and the branch a call takes through the interpreter when hours change mid-call.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dialplan::flow::{FlowAction, FlowEvent, FlowRun};
use dialplan::{load_str, parse_wall_time, Action, Plan};

fn plan(hours: &str) -> Arc<Plan> {
    let text = format!(
        r#"[[group]]
name = "sales"

[[operator]]
username = "alice"
password = "correct-horse-1"
groups = ["sales"]

[[hours]]
name = "office"
open = {{ ring = {{ group = "sales" }} }}
closed = "hangup"
{hours}

[[number]]
number = "+74950000001"
hours = "office"
"#
    );
    Arc::new(load_str("t.toml", &text).unwrap_or_else(|d| panic!("{d:#?}")))
}

fn open_at(plan: &Plan, at: &str) -> bool {
    plan.hours("office")
        .unwrap()
        .is_open(parse_wall_time(at).unwrap())
}

const MOSCOW: &str = r#"timezone = "Europe/Moscow"
weekdays = "09:00-18:00"
sat = ["10:00-12:00", "20:00-24:00"]
sun = "00:00-02:00"
lunch = "13:00-14:00"
holidays = ["2026-12-31"]
overrides = [{ date = "2026-12-30", hours = "09:00-15:00" }, { date = "2026-11-25", hours = "closed" }]
"#;

#[test]
fn weekly_ranges_are_start_inclusive_end_exclusive() {
    let p = plan(MOSCOW);
    // Tuesday 2026-11-24, Moscow is UTC+3 all year.
    assert!(!open_at(&p, "2026-11-24T08:59:59+03:00"));
    assert!(open_at(&p, "2026-11-24T09:00:00+03:00"));
    assert!(open_at(&p, "2026-11-24T17:59:59+03:00"));
    assert!(!open_at(&p, "2026-11-24T18:00:00+03:00"));
}

#[test]
fn lunch_break_closes_within_the_day() {
    let p = plan(MOSCOW);
    assert!(open_at(&p, "2026-11-24T12:59:00+03:00"));
    assert!(!open_at(&p, "2026-11-24T13:00:00+03:00"));
    assert!(!open_at(&p, "2026-11-24T13:59:00+03:00"));
    assert!(open_at(&p, "2026-11-24T14:00:00+03:00"));
}

#[test]
fn midnight_belongs_to_the_new_day() {
    let p = plan(MOSCOW);
    // Saturday 2026-11-28 20:00-24:00, Sunday 00:00-02:00, Monday from 09:00.
    assert!(open_at(&p, "2026-11-28T23:59:59+03:00"));
    assert!(open_at(&p, "2026-11-29T00:00:00+03:00"));
    assert!(!open_at(&p, "2026-11-29T02:00:00+03:00"));
    // Friday 23:59 and Saturday 00:00 are both closed: Friday ends at 18:00.
    assert!(!open_at(&p, "2026-11-27T23:59:00+03:00"));
    assert!(!open_at(&p, "2026-11-28T00:00:00+03:00"));
}

#[test]
fn time_zone_decides_the_local_day_and_time() {
    let p = plan(MOSCOW);
    // 06:00 UTC is 09:00 in Moscow: open, though 06:00 anywhere at UTC would not be.
    assert!(open_at(&p, "2026-11-24T06:00:00Z"));
    assert!(!open_at(&p, "2026-11-24T05:59:00Z"));
    // 21:30 UTC on Saturday is 00:30 Sunday in Moscow: Sunday's range applies.
    assert!(open_at(&p, "2026-11-28T21:30:00Z"));
}

#[test]
fn daylight_saving_change_is_followed() {
    let p = plan(
        r#"timezone = "Europe/Berlin"
daily = "09:00-17:00"
"#,
    );
    // Berlin is UTC+1 before 2026-03-29 and UTC+2 after: 08:00 UTC is 09:00, then 10:00.
    assert!(!open_at(&p, "2026-03-28T07:30:00Z"));
    assert!(open_at(&p, "2026-03-28T08:00:00Z"));
    assert!(open_at(&p, "2026-03-30T07:30:00Z"));
    assert!(!open_at(&p, "2026-03-30T15:00:00Z"));
}

#[test]
fn holidays_close_and_overrides_replace_the_day() {
    let p = plan(MOSCOW);
    // Thursday 2026-12-31 is a holiday.
    assert!(!open_at(&p, "2026-12-31T10:00:00+03:00"));
    // Wednesday 2026-12-30: short day, and no lunch break in an override.
    assert!(open_at(&p, "2026-12-30T13:30:00+03:00"));
    assert!(!open_at(&p, "2026-12-30T15:00:00+03:00"));
    // Wednesday 2026-11-25: closed all day.
    assert!(!open_at(&p, "2026-11-25T10:00:00+03:00"));
}

#[test]
fn specific_day_beats_weekdays_beats_daily() {
    let p = plan(
        r#"timezone = "UTC"
daily = "08:00-09:00"
weekdays = "10:00-11:00"
fri = "closed"
"#,
    );
    assert!(open_at(&p, "2026-11-28T08:30:00Z")); // Saturday: daily
    assert!(!open_at(&p, "2026-11-24T08:30:00Z")); // Tuesday: weekdays replaced daily
    assert!(open_at(&p, "2026-11-24T10:30:00Z"));
    assert!(!open_at(&p, "2026-11-27T10:30:00Z")); // Friday: closed
}

#[allow(clippy::disallowed_methods)] // a driver: only the origin of the simulated clock
fn t0() -> Instant {
    Instant::now()
}

#[test]
fn flow_takes_open_and_closed_branches_with_local_time_in_the_event() {
    let p = plan(MOSCOW);
    let at = parse_wall_time("2026-11-24T09:00:00+03:00").unwrap();
    let mut run = FlowRun::start(p.clone(), "+74950000001", "x", at, t0()).unwrap();
    assert_eq!(
        run.poll_action(),
        Some(FlowAction::Emit(FlowEvent::HoursChecked {
            hours: "office".into(),
            open: true,
            local_time: "2026-11-24 09:00 Tue Europe/Moscow".into(),
        }))
    );
    assert!(matches!(run.poll_action(), Some(FlowAction::Ring { .. })));
    let at = parse_wall_time("2026-11-24T18:00:00+03:00").unwrap();
    let mut run = FlowRun::start(p.clone(), "+74950000001", "x", at, t0()).unwrap();
    assert!(matches!(
        run.poll_action(),
        Some(FlowAction::Emit(FlowEvent::HoursChecked {
            open: false,
            ..
        }))
    ));
    assert!(matches!(run.poll_action(), Some(FlowAction::Hangup { .. })));
    assert!(matches!(p.hours("office").unwrap().closed, Action::Hangup));
    // The wall time a step sees moves with the simulated clock.
    let t = t0();
    let run = FlowRun::start(p, "+74950000001", "x", at, t).unwrap();
    assert_eq!(
        run.wall_time(t + Duration::from_secs(90)),
        parse_wall_time("2026-11-24T18:01:30+03:00").unwrap()
    );
}
