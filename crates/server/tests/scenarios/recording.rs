//! Call recording: started at the bridge as the plan says (`record_calls`,
//! a number's `record`, `recording_notice`), and the record's media figures
//! (recording length, each leg's reception) filled in from the engine's
//! reports after the record was emitted.

use std::path::PathBuf;
use std::time::Duration;

use media::quality::Quality;
use sip::Method;
use switchboard::media::{LegId, LegStats, MediaReport, RecordingDone};

use crate::harness::{trunk, MediaOp, Sim, CONFIG};
use crate::inbound::{answered_call, Answered};

/// Final figures of a leg as the engine reports them.
fn stats(packets: u64, lost: i64, jitter_ms: f64, mos: f64) -> Box<LegStats> {
    Box::new(LegStats {
        port: 20000,
        locked: None,
        send_to: None,
        bridged_with: None,
        playing: false,
        received: packets,
        malformed: 0,
        dropped_by_lock: 0,
        sent: packets,
        send_errors: 0,
        relay_in: None,
        recording: false,
        on_hold: false,
        quality: Quality {
            packets_received: packets,
            packets_expected: packets + lost.max(0) as u64,
            packets_lost: lost,
            loss_percent: 0.0,
            jitter_ms,
            rtt_ms: None,
            mos,
        },
        remote: None,
        rtcp_sent: 0,
        rtcp_received: 0,
        rtcp_goodbye: false,
    })
}

fn quality(packets: i64, lost: i64, jitter_ms: f64, mos: f64) -> store::LegQuality {
    store::LegQuality {
        packets,
        lost,
        jitter_ms,
        mos,
    }
}

/// The caller's and the answering operator's legs (the bridge).
fn bridged(sim: &Sim) -> (LegId, LegId) {
    let bridges = sim.media().bridges();
    assert_eq!(bridges.len(), 1, "one bridge");
    bridges[0]
}

fn recordings(sim: &Sim) -> Vec<(LegId, LegId, String)> {
    sim.media()
        .ops
        .iter()
        .filter_map(|o| match o {
            MediaOp::Record(a, b, name) => Some((*a, *b, name.clone())),
            _ => None,
        })
        .collect()
}

fn notices(sim: &Sim) -> Vec<String> {
    sim.media()
        .ops
        .iter()
        .filter_map(|o| match o {
            MediaOp::Notice(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// The caller hangs up an answered call after `talk` seconds.
fn caller_hangs_up(sim: &mut Sim, a: &mut Answered, talk: u64) {
    sim.advance_s(talk);
    a.alice.answer_keepalives(sim);
    sim.deliver(trunk(), &a.call.bye());
    sim.expect_response(trunk(), 200);
    let bye = sim.expect_request(a.alice.peer, Method::Bye);
    a.alice.respond(sim, &bye, 200, "");
    assert_eq!(sim.core.active_calls(), 0);
}

#[test]
fn an_answered_call_is_recorded_from_the_bridge_with_a_beep() {
    let mut sim = Sim::new();
    let mut a = answered_call(&mut sim, "rec1");
    let (caller, operator) = bridged(&sim);
    let recs = recordings(&sim);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!((recs[0].0, recs[0].1), (caller, operator), "caller left");
    let bridge_at = sim.media().position(|o| matches!(o, MediaOp::Bridge(..)));
    let record_at = sim.media().position(|o| matches!(o, MediaOp::Record(..)));
    assert!(bridge_at < record_at, "recording starts at the bridge");
    assert_eq!(notices(&sim), ["beep"], "the default notice");
    caller_hangs_up(&mut sim, &mut a, 30);
    let r = sim.record();
    // The file is named after the record, and named in it at once.
    assert_eq!(recs[0].2, r.id);
    assert_eq!(
        r.recording_path.as_deref(),
        Some(format!("/rec/{}.wav", r.id).as_str())
    );
    assert_eq!(r.media, store::CallMedia::default(), "figures come later");
}

#[test]
fn reports_after_the_call_update_its_stored_record() {
    let mut sim = Sim::new();
    let mut a = answered_call(&mut sim, "rec2");
    let (caller, operator) = bridged(&sim);
    let cancelled = *sim
        .media()
        .open()
        .iter()
        .find(|l| **l != caller && **l != operator)
        .expect("bob's leg");
    caller_hangs_up(&mut sim, &mut a, 42);
    let record = sim.record().clone();
    let path = PathBuf::from(record.recording_path.clone().expect("recorded"));
    assert_eq!(
        sim.core.awaited_media_reports(),
        2,
        "caller and operator legs"
    );

    // Bob's leg was never answered: its figures belong to no side.
    sim.media_report(MediaReport::LegClosed {
        leg: cancelled,
        stats: stats(0, 0, 0.0, 1.0),
    });
    sim.media_report(MediaReport::LegClosed {
        leg: operator,
        stats: stats(2100, 3, 1.25, 4.4),
    });
    sim.media_report(MediaReport::LegClosed {
        leg: caller,
        stats: stats(2098, 0, 0.5, 4.5),
    });
    // A voicemail-like file on the caller's leg is not the call's recording.
    sim.media_report(MediaReport::RecordingDone(RecordingDone {
        caller,
        operator: caller,
        path: PathBuf::from("/rec/other.wav"),
        duration: Duration::from_secs(3),
        dropped_chunks: 0,
        error: None,
    }));
    sim.media_report(MediaReport::RecordingDone(RecordingDone {
        caller,
        operator,
        path,
        duration: Duration::from_millis(42_020),
        dropped_chunks: 0,
        error: None,
    }));
    let updates: Vec<_> = sim
        .media_updates
        .iter()
        .map(|(node, id, m)| {
            assert_eq!((node.as_str(), id.as_str()), ("node1", record.id.as_str()));
            *m
        })
        .collect();
    assert_eq!(
        updates,
        [
            store::CallMedia {
                operator: Some(quality(2100, 3, 1.25, 4.4)),
                ..Default::default()
            },
            store::CallMedia {
                caller: Some(quality(2098, 0, 0.5, 4.5)),
                ..Default::default()
            },
            store::CallMedia {
                recording_duration_ms: Some(42_020),
                ..Default::default()
            },
        ]
    );
    assert_eq!(sim.core.awaited_media_reports(), 0, "all reports came");
    // A duplicate finds nothing.
    sim.media_report(MediaReport::LegClosed {
        leg: caller,
        stats: stats(1, 0, 0.0, 4.5),
    });
    assert_eq!(sim.media_updates.len(), 3);
}

#[test]
fn reports_that_never_come_are_forgotten() {
    let mut sim = Sim::new();
    let mut a = answered_call(&mut sim, "rec3");
    let (caller, _) = bridged(&sim);
    caller_hangs_up(&mut sim, &mut a, 5);
    assert_eq!(sim.core.awaited_media_reports(), 2);
    sim.advance_s(61);
    // Too late: the entry expired.
    sim.media_report(MediaReport::LegClosed {
        leg: caller,
        stats: stats(250, 0, 0.5, 4.5),
    });
    assert!(sim.media_updates.is_empty());
    // The next ended call sweeps the expired ones out.
    sim.take();
    let mut b = answered_call(&mut sim, "rec4");
    caller_hangs_up(&mut sim, &mut b, 5);
    assert_eq!(
        sim.core.awaited_media_reports(),
        2,
        "only the new call's legs"
    );
}

#[test]
fn no_recording_when_record_calls_is_off() {
    let config = CONFIG.replace(
        "node_id = \"node1\"",
        "node_id = \"node1\"\nrecord_calls = false",
    );
    let mut sim = Sim::with_config(&config);
    let mut a = answered_call(&mut sim, "norec");
    caller_hangs_up(&mut sim, &mut a, 10);
    assert!(recordings(&sim).is_empty());
    assert_eq!(sim.record().recording_path, None);
    // Leg figures are still kept for the record.
    assert_eq!(sim.core.awaited_media_reports(), 2);
}

#[test]
fn a_number_with_record_false_is_not_recorded() {
    let config = CONFIG.replace(
        "campaign = \"spring-sale\"\n",
        "campaign = \"spring-sale\"\nrecord = false\n",
    );
    let mut sim = Sim::with_config(&config);
    let mut a = answered_call(&mut sim, "numnorec");
    caller_hangs_up(&mut sim, &mut a, 10);
    assert!(recordings(&sim).is_empty());
    assert_eq!(sim.record().recording_path, None);
}

#[test]
fn a_number_may_turn_recording_on_with_no_notice() {
    let config = CONFIG
        .replace(
            "node_id = \"node1\"",
            "node_id = \"node1\"\nrecord_calls = false\nrecording_notice = \"none\"",
        )
        .replace(
            "campaign = \"spring-sale\"\n",
            "campaign = \"spring-sale\"\nrecord = true\n",
        );
    let mut sim = Sim::with_config(&config);
    let mut a = answered_call(&mut sim, "numrec");
    assert_eq!(recordings(&sim).len(), 1);
    assert_eq!(notices(&sim), ["none"]);
    caller_hangs_up(&mut sim, &mut a, 10);
    assert!(sim.record().recording_path.is_some());
}
