//! RFC 4733 receiver and generator behaviour on a simulated clock.

mod common;

use std::time::Duration;

use media::dtmf::{DtmfReceiver, DtmfSender, EventPayload, DEFAULT_TIMEOUT};

fn payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
    EventPayload {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes()
}

#[test]
fn one_digit_per_event_despite_end_retransmissions() {
    let t0 = common::epoch();
    let mut rx = DtmfReceiver::default();
    let ts = 16_000;
    let mut now = t0;
    for (i, d) in [160u16, 320, 480].into_iter().enumerate() {
        rx.handle_packet(ts, i == 0, &payload(5, false, d), now)
            .expect("valid");
        assert_eq!(rx.poll_digit(now), None, "not reported before the end");
        now += Duration::from_millis(20);
    }
    for _ in 0..3 {
        rx.handle_packet(ts, false, &payload(5, true, 640), now)
            .expect("valid");
    }
    let digit = rx.poll_digit(now).expect("digit on end");
    assert_eq!(
        (
            digit.symbol,
            digit.event,
            digit.duration,
            digit.ended_cleanly
        ),
        ('5', 5, 640, true)
    );
    assert_eq!(
        rx.poll_digit(now),
        None,
        "retransmissions are not new digits"
    );
    assert_eq!(rx.poll_digit(now + Duration::from_secs(5)), None);
    assert_eq!(rx.next_deadline(), None);
}

#[test]
fn same_digit_twice_is_two_events() {
    let t0 = common::epoch();
    let mut rx = DtmfReceiver::default();
    for (k, ts) in [1000u32, 3000].into_iter().enumerate() {
        let now = t0 + Duration::from_millis(500 * k as u64);
        rx.handle_packet(ts, true, &payload(11, false, 160), now)
            .expect("valid");
        rx.handle_packet(ts, false, &payload(11, true, 800), now)
            .expect("valid");
        rx.handle_packet(ts, false, &payload(11, true, 800), now)
            .expect("valid");
    }
    let t = t0 + Duration::from_secs(1);
    assert_eq!(rx.poll_digit(t).map(|d| d.symbol), Some('#'));
    assert_eq!(rx.poll_digit(t).map(|d| d.symbol), Some('#'));
    assert_eq!(rx.poll_digit(t), None);
}

#[test]
fn lost_end_packets_close_the_event_on_timeout() {
    let t0 = common::epoch();
    let mut rx = DtmfReceiver::default();
    rx.handle_packet(8000, true, &payload(1, false, 160), t0)
        .expect("valid");
    rx.handle_packet(
        8000,
        false,
        &payload(1, false, 320),
        t0 + Duration::from_millis(20),
    )
    .expect("valid");
    let deadline = t0 + Duration::from_millis(20) + DEFAULT_TIMEOUT;
    assert_eq!(rx.next_deadline(), Some(deadline));
    assert_eq!(rx.poll_digit(deadline - Duration::from_millis(1)), None);
    let d = rx.poll_digit(deadline).expect("closed by timeout");
    assert_eq!((d.symbol, d.duration, d.ended_cleanly), ('1', 320, false));
    // A straggler of the closed event is not a new digit.
    rx.handle_packet(8000, false, &payload(1, true, 480), deadline)
        .expect("valid");
    assert_eq!(rx.poll_digit(deadline + DEFAULT_TIMEOUT), None);
}

#[test]
fn a_new_event_closes_one_without_end() {
    let t0 = common::epoch();
    let mut rx = DtmfReceiver::default();
    rx.handle_packet(100, true, &payload(2, false, 160), t0)
        .expect("valid");
    rx.handle_packet(2000, true, &payload(3, false, 160), t0)
        .expect("valid");
    assert_eq!(
        rx.poll_digit(t0).map(|d| (d.symbol, d.ended_cleanly)),
        Some(('2', false))
    );
    rx.handle_packet(2000, false, &payload(3, true, 480), t0)
        .expect("valid");
    assert_eq!(
        rx.poll_digit(t0).map(|d| (d.symbol, d.ended_cleanly)),
        Some(('3', true))
    );
}

#[test]
fn long_event_segments_are_one_key_press() {
    let t0 = common::epoch();
    let mut rx = DtmfReceiver::default();
    rx.handle_packet(0, true, &payload(7, false, 65535), t0)
        .expect("valid");
    // Next segment: new timestamp, no marker (RFC 4733 2.5.1.3).
    rx.handle_packet(65535, false, &payload(7, false, 160), t0)
        .expect("valid");
    rx.handle_packet(65535, false, &payload(7, true, 800), t0)
        .expect("valid");
    assert_eq!(rx.poll_digit(t0).map(|d| d.symbol), Some('7'));
    assert_eq!(rx.poll_digit(t0 + DEFAULT_TIMEOUT * 2), None);
}

#[test]
fn malformed_and_non_dtmf_events() {
    let t0 = common::epoch();
    let mut rx = DtmfReceiver::default();
    assert!(rx.handle_packet(0, true, &[1, 2, 3], t0).is_err());
    // Event 40 is a tone, not a DTMF digit: ignored.
    rx.handle_packet(0, true, &payload(40, true, 160), t0)
        .expect("valid");
    assert_eq!(rx.poll_digit(t0 + DEFAULT_TIMEOUT), None);
}

#[test]
fn generator_packets_for_a_100ms_digit() {
    let mut tx = DtmfSender::for_symbol('9', 100).expect("digit");
    let mut packets = Vec::new();
    while let Some(p) = tx.next_packet() {
        packets.push((
            p.marker,
            EventPayload::parse(&p.payload).expect("own payload"),
        ));
    }
    assert!(tx.is_done());
    let summary: Vec<(bool, bool, u16)> = packets
        .iter()
        .map(|(m, e)| (*m, e.end, e.duration))
        .collect();
    assert_eq!(
        summary,
        vec![
            (true, false, 160),
            (false, false, 320),
            (false, false, 480),
            (false, false, 640),
            (false, true, 800),
            (false, true, 800),
            (false, true, 800),
        ]
    );
    assert!(packets.iter().all(|(_, e)| e.event == 9 && e.volume == 10));
}

#[test]
fn generator_feeds_receiver() {
    let t0 = common::epoch();
    let mut rx = DtmfReceiver::default();
    let mut now = t0;
    let mut received = String::new();
    for (k, symbol) in "0123456789*#ABCD".chars().enumerate() {
        let ts = 10_000 * k as u32;
        let mut tx = DtmfSender::for_symbol(symbol, 60).expect("digit");
        while let Some(p) = tx.next_packet() {
            rx.handle_packet(ts, p.marker, &p.payload, now)
                .expect("valid");
            now += Duration::from_millis(20);
        }
        while let Some(d) = rx.poll_digit(now) {
            assert!(d.ended_cleanly);
            received.push(d.symbol);
        }
    }
    assert_eq!(received, "0123456789*#ABCD");
    assert!(DtmfSender::for_symbol('x', 100).is_none());
}
