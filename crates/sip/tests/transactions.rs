//! The transaction layer driven the way the server drives it: messages in
//! with `now`, outputs drained, timers fired from `poll_timeout`, all on a
//! simulated clock (an Instant origin advanced by Durations; no sleeps).

use std::time::{Duration, Instant};

use sip::transaction::{
    Output, Target, TimerConfig, TransactionError, TransactionId, TransactionLayer, Transmit,
    TuEvent,
};
use sip::{parse_message, Message, Method, Request, Response};

/// The driver's notion of where a message goes: a UDP or TCP peer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Peer {
    Udp(&'static str),
    Tcp(&'static str),
}

impl Target for Peer {
    fn is_reliable(&self) -> bool {
        matches!(self, Peer::Tcp(_))
    }
}

const TRUNK: Peer = Peer::Udp("198.51.100.1:5060");
const PHONE_TCP: Peer = Peer::Tcp("192.0.2.10:5060");

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[allow(clippy::disallowed_methods)] // the test is the driver: it owns the clock origin
fn t0() -> Instant {
    Instant::now()
}

fn layer() -> TransactionLayer<Peer> {
    TransactionLayer::new(TimerConfig::default())
}

/// A request as text, parsed by the crate's own parser.
fn request(method: &str, branch: &str, cseq: u32) -> Request {
    let text = format!(
        "{method} sip:+15550100@switch.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.1:5060;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+15550199@trunk.example>;tag=trunk-tag\r\n\
         To: <sip:+15550100@switch.example>\r\n\
         Call-ID: call-42@trunk.example\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:trunk@198.51.100.1:5060>\r\n\
         Content-Length: 0\r\n\r\n"
    );
    match parse_message(text.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("test request did not parse: {other:?}"),
    }
}

fn invite(branch: &str) -> Request {
    request("INVITE", branch, 1)
}

/// The ACK a UAC sends for a 2xx: a new branch, same CSeq number.
fn ack_for_2xx(branch: &str) -> Request {
    let mut ack = request("ACK", branch, 1);
    ack.headers
        .set("To", "<sip:+15550100@switch.example>;tag=sw1");
    ack
}

/// The ACK for a non-2xx: same branch as the INVITE (17.1.1.3).
fn ack_for_non_2xx(branch: &str) -> Request {
    let mut ack = ack_for_2xx(branch);
    ack.headers.set("CSeq", "1 ACK");
    ack
}

fn reply(req: &Request, status: u16) -> Response {
    let r = Response::for_request(req, status);
    if status > 100 {
        r.with_to_tag("sw1")
    } else {
        r
    }
}

fn drain(layer: &mut TransactionLayer<Peer>) -> Vec<Output<Peer>> {
    std::iter::from_fn(|| layer.poll_output()).collect()
}

fn transmits(outs: &[Output<Peer>]) -> Vec<&Transmit<Peer>> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Transmit(t) => Some(t),
            _ => None,
        })
        .collect()
}

fn events(outs: &[Output<Peer>]) -> Vec<&TuEvent<Peer>> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e),
            _ => None,
        })
        .collect()
}

fn statuses(outs: &[Output<Peer>]) -> Vec<u16> {
    transmits(outs)
        .iter()
        .filter_map(|t| match &t.message {
            Message::Response(r) => Some(r.status),
            _ => None,
        })
        .collect()
}

fn methods(outs: &[Output<Peer>]) -> Vec<Method> {
    transmits(outs)
        .iter()
        .filter_map(|t| match &t.message {
            Message::Request(r) => Some(r.method.clone()),
            _ => None,
        })
        .collect()
}

/// Fires timers as a driver would until `until`; returns (time since
/// `start`, outputs of that firing) for every firing that produced output.
fn run_until(
    layer: &mut TransactionLayer<Peer>,
    start: Instant,
    until: Instant,
) -> Vec<(Duration, Vec<Output<Peer>>)> {
    let mut log = Vec::new();
    while let Some(at) = layer.poll_timeout() {
        if at > until {
            break;
        }
        layer.handle_timeout(at);
        let outs = drain(layer);
        if !outs.is_empty() {
            log.push((at - start, outs));
        }
    }
    log
}

/// The event an ACK from the trunk raises, matched to `invite` or not.
fn ack_from_trunk(request: Request, invite: Option<TransactionId>) -> TuEvent<Peer> {
    TuEvent::Ack {
        request,
        source: TRUNK,
        invite,
    }
}

fn new_request_tx(outs: &[Output<Peer>]) -> TransactionId {
    match events(outs).as_slice() {
        [TuEvent::Request { tx, .. }] => *tx,
        other => panic!("expected one new request, got {other:?}"),
    }
}

// ------------------------------------------------------------ UAC INVITE

#[test]
fn uac_invite_over_udp_retransmits_then_rings_then_answers() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuac1");
    let tx = l.send_request(inv.clone(), TRUNK, now).unwrap();
    let outs = drain(&mut l);
    assert_eq!(methods(&outs), [Method::Invite]);
    assert_eq!(transmits(&outs)[0].target, TRUNK);
    assert_eq!(transmits(&outs)[0].transaction, Some(tx));

    // Timer A: 0.5 s then 1 s later.
    let log = run_until(&mut l, now, now + ms(1500));
    let at: Vec<Duration> = log.iter().map(|(d, _)| *d).collect();
    assert_eq!(at, [ms(500), ms(1500)]);
    assert!(log.iter().all(|(_, o)| methods(o) == [Method::Invite]));

    l.handle_message(Message::Response(reply(&inv, 180)), TRUNK, now + ms(1600))
        .unwrap();
    let outs = drain(&mut l);
    assert!(
        matches!(events(&outs)[..], [TuEvent::Response { tx: t, response }] if *t == tx && response.status == 180)
    );
    assert!(
        run_until(&mut l, now, now + ms(20_000)).is_empty(),
        "no retransmissions once ringing"
    );

    let ok = reply(&inv, 200);
    l.handle_message(Message::Response(ok.clone()), TRUNK, now + ms(21_000))
        .unwrap();
    let outs = drain(&mut l);
    assert!(
        transmits(&outs).is_empty(),
        "2xx is ACKed by the TU, not the transaction"
    );
    assert!(
        matches!(events(&outs)[..], [TuEvent::Response { response, .. }] if response.status == 200)
    );

    // A retransmitted 2xx still reaches the TU (RFC 6026 Accepted).
    l.handle_message(Message::Response(ok.clone()), TRUNK, now + ms(21_500))
        .unwrap();
    assert!(
        matches!(events(&drain(&mut l))[..], [TuEvent::Response { response, .. }] if response.status == 200)
    );

    // Timer M (64*T1) ends it; afterwards the 2xx is a stray.
    let log = run_until(&mut l, now, now + ms(60_000));
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, ms(21_000 + 32_000));
    assert_eq!(events(&log[0].1), [&TuEvent::Terminated { tx }]);
    assert!(l.is_empty());
    l.handle_message(Message::Response(ok.clone()), TRUNK, now + ms(61_000))
        .unwrap();
    assert_eq!(
        events(&drain(&mut l)),
        [&TuEvent::StrayResponse {
            response: ok,
            source: TRUNK
        }]
    );
}

#[test]
fn uac_invite_timer_b_reports_timeout_and_is_removed() {
    let now = t0();
    let mut l = layer();
    let tx = l.send_request(invite("z9hG4bKuac2"), TRUNK, now).unwrap();
    drain(&mut l);
    let log = run_until(&mut l, now, now + ms(40_000));
    let retransmits = log
        .iter()
        .filter(|(_, o)| methods(o) == [Method::Invite])
        .count();
    assert_eq!(retransmits, 6, "0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s");
    let (at, last) = log.last().unwrap();
    assert_eq!(*at, ms(32_000));
    assert_eq!(
        events(last),
        [&TuEvent::Timeout { tx }, &TuEvent::Terminated { tx }]
    );
    assert!(l.is_empty());
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn uac_invite_rejected_is_acked_by_transaction_and_timer_d_absorbs() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuac3");
    let tx = l.send_request(inv.clone(), TRUNK, now).unwrap();
    drain(&mut l);
    let busy = reply(&inv, 486);
    l.handle_message(Message::Response(busy.clone()), TRUNK, now + ms(100))
        .unwrap();
    let outs = drain(&mut l);
    assert_eq!(methods(&outs), [Method::Ack]);
    let Message::Request(ack) = &transmits(&outs)[0].message else {
        unreachable!()
    };
    assert_eq!(ack.cseq().unwrap().seq, 1);
    assert_eq!(ack.top_via().unwrap().branch(), Some("z9hG4bKuac3"));
    assert_eq!(ack.to().unwrap().tag(), Some("sw1"));
    assert!(
        matches!(events(&outs)[..], [TuEvent::Response { response, .. }] if response.status == 486)
    );

    // Retransmitted 486: ACK again, TU not bothered.
    l.handle_message(Message::Response(busy), TRUNK, now + ms(600))
        .unwrap();
    let outs = drain(&mut l);
    assert_eq!(methods(&outs), [Method::Ack]);
    assert!(events(&outs).is_empty());

    let log = run_until(&mut l, now, now + ms(40_000));
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, ms(32_100), "Timer D = 32 s");
    assert_eq!(events(&log[0].1), [&TuEvent::Terminated { tx }]);
    assert!(l.is_empty());
}

#[test]
fn uac_invite_over_tcp_no_retransmission_and_no_timer_d() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuac4");
    let tx = l.send_request(inv.clone(), PHONE_TCP, now).unwrap();
    drain(&mut l);
    assert_eq!(l.poll_timeout(), Some(now + ms(32_000)), "only Timer B");
    l.handle_message(Message::Response(reply(&inv, 480)), PHONE_TCP, now + ms(5))
        .unwrap();
    let outs = drain(&mut l);
    assert_eq!(methods(&outs), [Method::Ack]);
    assert_eq!(events(&outs).last(), Some(&&TuEvent::Terminated { tx }));
    assert!(l.is_empty());
}

// ------------------------------------------------------------ UAS INVITE

#[test]
fn uas_invite_trying_after_200ms_and_retransmissions_absorbed() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuas1");
    l.handle_message(Message::Request(inv.clone()), TRUNK, now)
        .unwrap();
    let outs = drain(&mut l);
    let tx = new_request_tx(&outs);
    assert!(transmits(&outs).is_empty());

    // Retransmission before any response: absorbed, no second TU event.
    l.handle_message(Message::Request(inv.clone()), TRUNK, now + ms(150))
        .unwrap();
    assert!(drain(&mut l).is_empty());

    let log = run_until(&mut l, now, now + ms(1000));
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, ms(200));
    assert_eq!(statuses(&log[0].1), [100]);
    assert_eq!(
        transmits(&log[0].1)[0].target,
        TRUNK,
        "replies go to the source"
    );

    l.handle_message(Message::Request(inv.clone()), TRUNK, now + ms(1100))
        .unwrap();
    assert_eq!(statuses(&drain(&mut l)), [100], "last provisional re-sent");

    l.respond(tx, reply(&inv, 180), now + ms(1200)).unwrap();
    assert_eq!(statuses(&drain(&mut l)), [180]);
    l.handle_message(Message::Request(inv.clone()), TRUNK, now + ms(1300))
        .unwrap();
    assert_eq!(statuses(&drain(&mut l)), [180]);
    assert_eq!(l.len(), 1);
}

#[test]
fn uas_invite_rejected_timer_g_until_ack_then_timer_i() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuas2");
    l.handle_message(Message::Request(inv.clone()), TRUNK, now)
        .unwrap();
    let tx = new_request_tx(&drain(&mut l));
    l.respond(tx, reply(&inv, 486), now + ms(10)).unwrap();
    assert_eq!(statuses(&drain(&mut l)), [486]);

    // Timer G: 0.5, 1, 2 s gaps.
    let log = run_until(&mut l, now, now + ms(4000));
    let at: Vec<Duration> = log.iter().map(|(d, _)| *d).collect();
    assert_eq!(at, [ms(510), ms(1510), ms(3510)]);
    assert!(log.iter().all(|(_, o)| statuses(o) == [486]));

    // Retransmitted INVITE gets the 486 again.
    l.handle_message(Message::Request(inv.clone()), TRUNK, now + ms(4000))
        .unwrap();
    assert_eq!(statuses(&drain(&mut l)), [486]);

    // The ACK (same branch) is absorbed, not given to the TU; G stops.
    l.handle_message(
        Message::Request(ack_for_non_2xx("z9hG4bKuas2")),
        TRUNK,
        now + ms(4100),
    )
    .unwrap();
    assert!(drain(&mut l).is_empty());
    // ACK retransmission absorbed too.
    l.handle_message(
        Message::Request(ack_for_non_2xx("z9hG4bKuas2")),
        TRUNK,
        now + ms(4200),
    )
    .unwrap();
    assert!(drain(&mut l).is_empty());

    let log = run_until(&mut l, now, now + ms(20_000));
    assert_eq!(log.len(), 1, "no more 486 after the ACK");
    assert_eq!(log[0].0, ms(9100), "Timer I = T4 after the ACK");
    assert_eq!(events(&log[0].1), [&TuEvent::Terminated { tx }]);
    assert!(l.is_empty());
}

#[test]
fn uas_invite_rejected_without_ack_timer_h_fails_the_transaction() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuas3");
    l.handle_message(Message::Request(inv.clone()), TRUNK, now)
        .unwrap();
    let tx = new_request_tx(&drain(&mut l));
    l.respond(tx, reply(&inv, 503), now).unwrap();
    drain(&mut l);
    let log = run_until(&mut l, now, now + ms(40_000));
    let (at, last) = log.last().unwrap();
    assert_eq!(*at, ms(32_000));
    assert_eq!(
        events(last),
        [&TuEvent::Timeout { tx }, &TuEvent::Terminated { tx }]
    );
    // Retransmissions were capped at T2: the last gaps are 4 s.
    let gaps: Vec<Duration> = log
        .windows(2)
        .filter(|w| !statuses(&w[1].1).is_empty())
        .map(|w| w[1].0 - w[0].0)
        .collect();
    assert!(gaps.len() >= 5);
    assert!(gaps[2..].iter().all(|g| *g == ms(4000)), "{gaps:?}");
    assert!(l.is_empty());
}

#[test]
fn uas_invite_over_tcp_no_timer_g_and_ack_ends_at_once() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuas4");
    l.handle_message(Message::Request(inv.clone()), PHONE_TCP, now)
        .unwrap();
    let tx = new_request_tx(&drain(&mut l));
    l.respond(tx, reply(&inv, 486), now).unwrap();
    drain(&mut l);
    assert_eq!(l.poll_timeout(), Some(now + ms(32_000)), "only Timer H");
    l.handle_message(
        Message::Request(ack_for_non_2xx("z9hG4bKuas4")),
        PHONE_TCP,
        now + ms(5),
    )
    .unwrap();
    assert_eq!(events(&drain(&mut l)), [&TuEvent::Terminated { tx }]);
    assert!(l.is_empty());
}

#[test]
fn uas_2xx_retransmitted_until_the_ack_which_goes_to_the_tu() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuas5");
    l.handle_message(Message::Request(inv.clone()), TRUNK, now)
        .unwrap();
    let tx = new_request_tx(&drain(&mut l));
    l.respond(tx, reply(&inv, 200), now).unwrap();
    assert_eq!(statuses(&drain(&mut l)), [200]);
    let log = run_until(&mut l, now, now + ms(2000));
    assert_eq!(
        log.iter().map(|(d, _)| *d).collect::<Vec<_>>(),
        [ms(500), ms(1500)]
    );

    // INVITE retransmission after the 2xx: absorbed, not a new call.
    l.handle_message(Message::Request(inv.clone()), TRUNK, now + ms(1600))
        .unwrap();
    assert!(drain(&mut l).is_empty());

    let ack = ack_for_2xx("z9hG4bKack5");
    l.handle_message(Message::Request(ack.clone()), TRUNK, now + ms(1700))
        .unwrap();
    assert_eq!(
        events(&drain(&mut l)),
        [&ack_from_trunk(ack.clone(), Some(tx))]
    );
    // A repeated ACK still reaches the TU; the match was needed once, and
    // the transaction no longer keeps its ACK key.
    l.handle_message(Message::Request(ack.clone()), TRUNK, now + ms(1800))
        .unwrap();
    assert_eq!(events(&drain(&mut l)), [&ack_from_trunk(ack, None)]);
    // Only Timer L is left: INVITE retransmissions are still absorbed, and
    // the 2xx, acknowledged, is not sent again.
    l.handle_message(Message::Request(inv.clone()), TRUNK, now + ms(1900))
        .unwrap();
    assert!(drain(&mut l).is_empty());
    assert!(l.respond(tx, reply(&inv, 200), now + ms(1900)).is_err());
    let log = run_until(&mut l, now, now + ms(40_000));
    assert_eq!(log.len(), 1, "no 2xx retransmission after the ACK");
    assert_eq!(log[0].0, ms(32_000), "Timer L");
    assert_eq!(events(&log[0].1), [&TuEvent::Terminated { tx }]);
    assert!(l.is_empty());
}

#[test]
fn uas_2xx_never_acked_reports_ack_timeout() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuas6");
    l.handle_message(Message::Request(inv.clone()), TRUNK, now)
        .unwrap();
    let tx = new_request_tx(&drain(&mut l));
    l.respond(tx, reply(&inv, 200), now).unwrap();
    drain(&mut l);
    let log = run_until(&mut l, now, now + ms(40_000));
    let (at, last) = log.last().unwrap();
    assert_eq!(*at, ms(32_000));
    assert_eq!(
        events(last),
        [&TuEvent::AckTimeout { tx }, &TuEvent::Terminated { tx }]
    );
    assert!(l.is_empty());
}

#[test]
fn stray_ack_goes_to_the_tu() {
    let now = t0();
    let mut l = layer();
    let ack = ack_for_2xx("z9hG4bKlate");
    l.handle_message(Message::Request(ack.clone()), TRUNK, now)
        .unwrap();
    assert_eq!(events(&drain(&mut l)), [&ack_from_trunk(ack, None)]);
    assert!(l.is_empty(), "an ACK never creates a transaction");
}

// ------------------------------------------------------------ CANCEL

#[test]
fn uas_cancel_flow_487_then_200() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKcan1");
    l.handle_message(Message::Request(inv.clone()), TRUNK, now)
        .unwrap();
    let inv_tx = new_request_tx(&drain(&mut l));
    l.respond(inv_tx, reply(&inv, 180), now + ms(50)).unwrap();
    drain(&mut l);

    let cancel = request("CANCEL", "z9hG4bKcan1", 1);
    l.handle_message(Message::Request(cancel.clone()), TRUNK, now + ms(3000))
        .unwrap();
    let outs = drain(&mut l);
    let cancel_tx = match events(&outs)[..] {
        [TuEvent::Cancel { tx, invite, .. }] => {
            assert_eq!(
                *invite,
                Some(inv_tx),
                "CANCEL matched to its INVITE by branch"
            );
            *tx
        }
        ref other => panic!("expected Cancel, got {other:?}"),
    };
    assert_ne!(cancel_tx, inv_tx);

    l.respond(inv_tx, reply(&inv, 487), now + ms(3001)).unwrap();
    l.respond(cancel_tx, reply(&cancel, 200), now + ms(3001))
        .unwrap();
    let outs = drain(&mut l);
    assert_eq!(statuses(&outs), [487, 200]);
    let cseqs: Vec<Method> = transmits(&outs)
        .iter()
        .map(|t| match &t.message {
            Message::Response(r) => r.cseq().unwrap().method,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(cseqs, [Method::Invite, Method::Cancel]);

    // CANCEL retransmission gets the 200 again; INVITE transaction untouched.
    l.handle_message(Message::Request(cancel), TRUNK, now + ms(3200))
        .unwrap();
    assert_eq!(statuses(&drain(&mut l)), [200]);

    l.handle_message(
        Message::Request(ack_for_non_2xx("z9hG4bKcan1")),
        TRUNK,
        now + ms(3100),
    )
    .unwrap();
    assert!(drain(&mut l).is_empty());
    let log = run_until(&mut l, now, now + ms(60_000));
    let ended: Vec<&TuEvent<Peer>> = log.iter().flat_map(|(_, o)| events(o)).collect();
    assert!(ended.contains(&&TuEvent::Terminated { tx: inv_tx }));
    assert!(ended.contains(&&TuEvent::Terminated { tx: cancel_tx }));
    assert!(l.is_empty());
}

#[test]
fn cancel_without_matching_invite_is_reported_for_481() {
    let now = t0();
    let mut l = layer();
    let cancel = request("CANCEL", "z9hG4bKnone", 1);
    l.handle_message(Message::Request(cancel.clone()), TRUNK, now)
        .unwrap();
    let outs = drain(&mut l);
    let tx = match events(&outs)[..] {
        [TuEvent::Cancel {
            tx, invite: None, ..
        }] => *tx,
        ref other => panic!("expected unmatched Cancel, got {other:?}"),
    };
    l.respond(tx, reply(&cancel, 481), now).unwrap();
    assert_eq!(statuses(&drain(&mut l)), [481]);
}

#[test]
fn uac_cancel_waits_for_a_provisional() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuc1");
    let inv_tx = l.send_request(inv.clone(), TRUNK, now).unwrap();
    drain(&mut l);
    let cancel_tx = l.cancel(inv_tx, now + ms(100)).unwrap();
    assert!(
        drain(&mut l).is_empty(),
        "RFC 3261 9.1: no CANCEL before a provisional"
    );
    assert_eq!(
        l.cancel(inv_tx, now + ms(120)).unwrap(),
        cancel_tx,
        "idempotent"
    );

    l.handle_message(Message::Response(reply(&inv, 180)), TRUNK, now + ms(200))
        .unwrap();
    let outs = drain(&mut l);
    assert_eq!(methods(&outs), [Method::Cancel]);
    let sent = transmits(&outs)[0];
    assert_eq!(sent.transaction, Some(cancel_tx));
    let Message::Request(cancel) = &sent.message else {
        unreachable!()
    };
    assert_eq!(cancel.top_via().unwrap().branch(), Some("z9hG4bKuc1"));
    assert_eq!(cancel.cseq().unwrap().seq, 1);
    assert_eq!(cancel.cseq().unwrap().method, Method::Cancel);

    // 200 to the CANCEL lands on the CANCEL transaction, 487 on the INVITE's.
    l.handle_message(Message::Response(reply(cancel, 200)), TRUNK, now + ms(250))
        .unwrap();
    let outs = drain(&mut l);
    assert!(
        matches!(events(&outs)[..], [TuEvent::Response { tx, response }] if *tx == cancel_tx && response.status == 200)
    );
    l.handle_message(Message::Response(reply(&inv, 487)), TRUNK, now + ms(260))
        .unwrap();
    let outs = drain(&mut l);
    assert_eq!(methods(&outs), [Method::Ack]);
    assert!(
        matches!(events(&outs)[..], [TuEvent::Response { tx, response }] if *tx == inv_tx && response.status == 487)
    );
    run_until(&mut l, now, now + ms(60_000));
    assert!(l.is_empty());
}

#[test]
fn uac_cancel_dropped_when_final_arrives_first() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKuc2");
    let inv_tx = l.send_request(inv.clone(), TRUNK, now).unwrap();
    drain(&mut l);
    let cancel_tx = l.cancel(inv_tx, now).unwrap();
    l.handle_message(Message::Response(reply(&inv, 200)), TRUNK, now + ms(300))
        .unwrap();
    let outs = drain(&mut l);
    assert!(
        methods(&outs).is_empty(),
        "no CANCEL after a final response"
    );
    assert!(events(&outs).contains(&&TuEvent::Terminated { tx: cancel_tx }));
    assert_eq!(
        l.cancel(inv_tx, now + ms(400)),
        Err(TransactionError::NotCancellable(inv_tx))
    );
}

// ------------------------------------------------------------ non-INVITE

#[test]
fn uac_bye_timer_e_capped_at_t2_then_f_and_k() {
    let now = t0();
    let mut l = layer();
    let bye = request("BYE", "z9hG4bKbye1", 2);
    let tx = l.send_request(bye.clone(), TRUNK, now).unwrap();
    drain(&mut l);
    let log = run_until(&mut l, now, now + ms(12_000));
    let at: Vec<Duration> = log.iter().map(|(d, _)| *d).collect();
    assert_eq!(at, [ms(500), ms(1500), ms(3500), ms(7500), ms(11_500)]);
    let ok = reply(&bye, 200);
    l.handle_message(Message::Response(ok.clone()), TRUNK, now + ms(12_000))
        .unwrap();
    assert!(
        matches!(events(&drain(&mut l))[..], [TuEvent::Response { response, .. }] if response.status == 200)
    );
    l.handle_message(Message::Response(ok), TRUNK, now + ms(12_100))
        .unwrap();
    assert!(
        drain(&mut l).is_empty(),
        "Timer K absorbs the retransmitted 200"
    );
    let log = run_until(&mut l, now, now + ms(60_000));
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, ms(17_000), "Timer K = T4");
    assert_eq!(events(&log[0].1), [&TuEvent::Terminated { tx }]);
    assert!(l.is_empty());
}

#[test]
fn uac_options_unanswered_timer_f() {
    let now = t0();
    let mut l = layer();
    let tx = l
        .send_request(request("OPTIONS", "z9hG4bKopt1", 7), TRUNK, now)
        .unwrap();
    drain(&mut l);
    let log = run_until(&mut l, now, now + ms(60_000));
    let (at, last) = log.last().unwrap();
    assert_eq!(*at, ms(32_000));
    assert_eq!(
        events(last),
        [&TuEvent::Timeout { tx }, &TuEvent::Terminated { tx }]
    );
    assert!(l.is_empty());
}

#[test]
fn uac_non_invite_over_tcp_no_timer_e_no_timer_k() {
    let now = t0();
    let mut l = layer();
    let info = request("INFO", "z9hG4bKinfo1", 3);
    let tx = l.send_request(info.clone(), PHONE_TCP, now).unwrap();
    drain(&mut l);
    assert_eq!(l.poll_timeout(), Some(now + ms(32_000)), "only Timer F");
    l.handle_message(
        Message::Response(reply(&info, 200)),
        PHONE_TCP,
        now + ms(20),
    )
    .unwrap();
    let outs = drain(&mut l);
    assert_eq!(events(&outs).last(), Some(&&TuEvent::Terminated { tx }));
    assert!(l.is_empty());
}

#[test]
fn uas_bye_retransmission_gets_the_same_200_until_timer_j() {
    let now = t0();
    let mut l = layer();
    let bye = request("BYE", "z9hG4bKbye2", 2);
    l.handle_message(Message::Request(bye.clone()), TRUNK, now)
        .unwrap();
    let tx = new_request_tx(&drain(&mut l));
    l.handle_message(Message::Request(bye.clone()), TRUNK, now + ms(500))
        .unwrap();
    assert!(drain(&mut l).is_empty(), "absorbed while the TU thinks");
    l.respond(tx, reply(&bye, 200), now + ms(600)).unwrap();
    assert_eq!(statuses(&drain(&mut l)), [200]);
    l.handle_message(Message::Request(bye.clone()), TRUNK, now + ms(1500))
        .unwrap();
    assert_eq!(statuses(&drain(&mut l)), [200]);
    let log = run_until(&mut l, now, now + ms(60_000));
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].0, ms(32_600), "Timer J = 64*T1");
    assert!(l.is_empty());
    // After Timer J the same BYE is a new request again (the TU answers 481).
    l.handle_message(Message::Request(bye), TRUNK, now + ms(61_000))
        .unwrap();
    new_request_tx(&drain(&mut l));
}

#[test]
fn uas_non_invite_over_tcp_timer_j_is_zero() {
    let now = t0();
    let mut l = layer();
    let opt = request("OPTIONS", "z9hG4bKopt2", 1);
    l.handle_message(Message::Request(opt.clone()), PHONE_TCP, now)
        .unwrap();
    let tx = new_request_tx(&drain(&mut l));
    l.respond(tx, reply(&opt, 200), now).unwrap();
    let outs = drain(&mut l);
    assert_eq!(statuses(&outs), [200]);
    assert_eq!(events(&outs), [&TuEvent::Terminated { tx }]);
    assert!(l.is_empty());
}

// ------------------------------------------------------------ errors, removal

#[test]
fn transport_error_reports_and_removes() {
    let now = t0();
    let mut l = layer();
    let tx = l
        .send_request(request("OPTIONS", "z9hG4bKte", 1), TRUNK, now)
        .unwrap();
    drain(&mut l);
    l.handle_transport_error(tx, now + ms(1));
    assert_eq!(
        events(&drain(&mut l)),
        [&TuEvent::TransportError { tx }, &TuEvent::Terminated { tx }]
    );
    assert!(l.is_empty());
    assert_eq!(l.poll_timeout(), None);
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let now = t0();
    let mut l = layer();
    let inv = invite("z9hG4bKmis");
    let client = l.send_request(inv.clone(), TRUNK, now).unwrap();
    assert_eq!(
        l.send_request(inv.clone(), TRUNK, now),
        Err(TransactionError::BranchInUse("z9hG4bKmis".into()))
    );
    assert!(matches!(
        l.send_request(ack_for_2xx("z9hG4bKx"), TRUNK, now),
        Err(TransactionError::NotTransactional(_))
    ));
    assert!(matches!(
        l.respond(client, reply(&inv, 200), now),
        Err(TransactionError::ResponseNotAllowed { .. })
    ));
    let mut bad = request("OPTIONS", "z9hG4bKbad", 1);
    bad.headers.remove("Via");
    assert!(matches!(
        l.handle_message(Message::Request(bad), TRUNK, now),
        Err(TransactionError::Message(_))
    ));
    l.handle_message(Message::Request(invite("z9hG4bKsrv")), TRUNK, now)
        .unwrap();
    let outs = drain(&mut l);
    let server = new_request_tx(&outs);
    l.respond(server, reply(&inv, 486), now).unwrap();
    assert!(matches!(
        l.respond(server, reply(&inv, 200), now),
        Err(TransactionError::ResponseNotAllowed { status: 200, .. })
    ));
    assert!(matches!(
        l.cancel(server, now),
        Err(TransactionError::NotCancellable(_))
    ));
}

#[test]
fn stateless_send_passes_through() {
    let mut l = layer();
    let ack = ack_for_2xx("z9hG4bKsl");
    l.send_stateless(Message::Request(ack.clone()), TRUNK);
    assert_eq!(
        drain(&mut l),
        [Output::Transmit(Transmit {
            target: TRUNK,
            message: Message::Request(ack),
            transaction: None
        })]
    );
    assert!(l.is_empty());
}

#[test]
fn earliest_deadline_across_transactions() {
    let now = t0();
    let mut l = layer();
    l.send_request(request("OPTIONS", "z9hG4bKd1", 1), PHONE_TCP, now)
        .unwrap(); // F at 32 s
    l.send_request(request("OPTIONS", "z9hG4bKd2", 1), TRUNK, now + ms(100))
        .unwrap(); // E at 0.6 s
    l.handle_message(Message::Request(invite("z9hG4bKd3")), TRUNK, now + ms(300))
        .unwrap(); // 100 Trying at 0.5 s
    drain(&mut l);
    assert_eq!(l.poll_timeout(), Some(now + ms(500)));
    l.handle_timeout(now + ms(500));
    assert_eq!(statuses(&drain(&mut l)), [100]);
    assert_eq!(l.poll_timeout(), Some(now + ms(600)));
    // Firing early does nothing.
    l.handle_timeout(now + ms(599));
    assert!(drain(&mut l).is_empty());
}

/// Many calls of every kind run to the end: nothing is left behind.
#[test]
fn every_transaction_is_removed_when_done() {
    let now = t0();
    let mut l = layer();
    for i in 0..50u32 {
        let at = now + ms(u64::from(i) * 10);
        let peer = if i % 2 == 0 { TRUNK } else { PHONE_TCP };
        // UAS INVITE answered 200 and ACKed.
        let inv = invite(&format!("z9hG4bKin{i}"));
        let mut inv_ack = ack_for_2xx(&format!("z9hG4bKia{i}"));
        let call_id = format!("call-{i}");
        let mut inv = inv;
        inv.headers.set("Call-ID", call_id.as_str());
        inv_ack.headers.set("Call-ID", call_id.as_str());
        l.handle_message(Message::Request(inv.clone()), peer.clone(), at)
            .unwrap();
        let tx = new_request_tx(&drain(&mut l));
        l.respond(tx, reply(&inv, 200), at).unwrap();
        l.handle_message(Message::Request(inv_ack), peer.clone(), at + ms(5))
            .unwrap();
        drain(&mut l);
        // UAS INVITE rejected, ACK never comes (Timer H).
        let rej = invite(&format!("z9hG4bKrj{i}"));
        l.handle_message(Message::Request(rej.clone()), peer.clone(), at)
            .unwrap();
        let tx = new_request_tx(&drain(&mut l));
        l.respond(tx, reply(&rej, 486), at).unwrap();
        // UAC BYE answered; UAC OPTIONS unanswered (Timer F).
        let bye = request("BYE", &format!("z9hG4bKby{i}"), 2);
        l.send_request(bye.clone(), peer.clone(), at).unwrap();
        l.handle_message(
            Message::Response(reply(&bye, 200)),
            peer.clone(),
            at + ms(5),
        )
        .unwrap();
        l.send_request(
            request("OPTIONS", &format!("z9hG4bKop{i}"), 1),
            peer.clone(),
            at,
        )
        .unwrap();
        // UAC INVITE rejected.
        let out = invite(&format!("z9hG4bKou{i}"));
        l.send_request(out.clone(), peer.clone(), at).unwrap();
        l.handle_message(
            Message::Response(reply(&out, 404)),
            peer.clone(),
            at + ms(5),
        )
        .unwrap();
        drain(&mut l);
    }
    // Five per round, except that over TCP the answered BYE and the rejected
    // outgoing INVITE end at once (Timers K and D are zero): 50*5 - 25*2.
    assert_eq!(l.len(), 200);
    let log = run_until(&mut l, now, now + ms(120_000));
    assert!(!log.is_empty());
    assert!(l.is_empty(), "{} transactions leaked", l.len());
    assert_eq!(l.poll_timeout(), None, "no timers left behind");
}

// ------------------------------------------------------------ a whole call

/// One UA in the call scenario: its layer, what its TU has seen, and the
/// address the other side sees it at.
struct Ua {
    layer: TransactionLayer<Peer>,
    addr: Peer,
    events: Vec<TuEvent<Peer>>,
}

impl Ua {
    fn new(addr: Peer) -> Ua {
        Ua {
            layer: layer(),
            addr,
            events: Vec::new(),
        }
    }
}

/// Moves everything `from` wants to send through bytes (serialize, parse)
/// into `to`, unless `lose` drops it; collects `from`'s TU events.
fn carry(from: &mut Ua, to: &mut Ua, now: Instant, lose: &mut dyn FnMut(&Message) -> bool) {
    while let Some(out) = from.layer.poll_output() {
        match out {
            Output::Transmit(t) => {
                if lose(&t.message) {
                    continue;
                }
                let wire = t.message.to_bytes();
                let message = parse_message(&wire).expect("our own output parses");
                to.layer
                    .handle_message(message, from.addr.clone(), now)
                    .unwrap();
            }
            Output::Event(e) => from.events.push(e),
        }
    }
}

/// Carries both ways until neither side has anything left to send.
fn settle(a: &mut Ua, b: &mut Ua, now: Instant, lose: &mut dyn FnMut(&Message) -> bool) {
    for _ in 0..10 {
        carry(a, b, now, lose);
        carry(b, a, now, lose);
    }
}

/// Advances both sides' timers to `until`, carrying messages in between.
fn advance(a: &mut Ua, b: &mut Ua, until: Instant, lose: &mut dyn FnMut(&Message) -> bool) {
    loop {
        let next = [a.layer.poll_timeout(), b.layer.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        match next {
            Some(at) if at <= until => {
                a.layer.handle_timeout(at);
                b.layer.handle_timeout(at);
                settle(a, b, at, lose);
            }
            _ => break,
        }
    }
}

fn take_events(ua: &mut Ua) -> Vec<TuEvent<Peer>> {
    std::mem::take(&mut ua.events)
}

/// The switch's TU: for every 2xx on its INVITE, make the dialog (once) and
/// send the ACK through it. Returns how many ACKs it sent.
fn ack_every_2xx(
    switch: &mut Ua,
    phone_addr: &Peer,
    invite: &Request,
    dialog: &mut Option<sip::dialog::Dialog>,
) -> usize {
    let mut acks = 0;
    for e in take_events(switch) {
        if let TuEvent::Response { response, .. } = e {
            assert_eq!(response.status, 200);
            let d =
                dialog.get_or_insert_with(|| sip::dialog::Dialog::uac(invite, &response).unwrap());
            let via = sip::Via::new("UDP", "192.0.2.1", Some(5060), &format!("z9hG4bKack{acks}"));
            let ack = d.ack(&response, via).unwrap();
            switch
                .layer
                .send_stateless(Message::Request(ack), phone_addr.clone());
            acks += 1;
        }
    }
    acks
}

/// The switch calls an operator's phone over lossy UDP: the first 200 and
/// the first ACK are lost; retransmissions (server 2xx timer, client
/// Accepted state) recover; the phone hangs up; everything is cleaned up.
#[test]
fn call_survives_lost_200_and_lost_ack_then_bye() {
    use sip::dialog::{Dialog, DialogState};
    use sip::Via;
    use std::cell::Cell;

    let now = t0();
    let mut switch = Ua::new(Peer::Udp("192.0.2.1:5060"));
    let mut phone = Ua::new(Peer::Udp("192.0.2.10:5062"));
    let lost_200 = Cell::new(false);
    let lost_ack = Cell::new(false);
    let mut lose = |m: &Message| match m {
        Message::Response(r) if r.status == 200 && !lost_200.get() => {
            lost_200.set(true);
            true
        }
        Message::Request(r) if r.method == Method::Ack && !lost_ack.get() => {
            lost_ack.set(true);
            true
        }
        _ => false,
    };

    // The switch's TU sends the INVITE.
    let mut inv = invite("z9hG4bKcall1");
    inv.headers
        .set("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKcall1");
    inv.headers.set("Contact", "<sip:switch@192.0.2.1:5060>");
    switch
        .layer
        .send_request(inv.clone(), phone.addr.clone(), now)
        .unwrap();
    settle(&mut switch, &mut phone, now, &mut lose);

    // The phone's TU rings, then answers 200 (lost on the way).
    let (phone_tx, phone_inv) = match take_events(&mut phone).as_slice() {
        [TuEvent::Request { tx, request, .. }] => (*tx, request.clone()),
        other => panic!("phone expected the INVITE, got {other:?}"),
    };
    let mut ringing = reply(&phone_inv, 180);
    ringing.headers.push("Contact", "<sip:op1@192.0.2.10:5062>");
    phone
        .layer
        .respond(phone_tx, ringing, now + ms(10))
        .unwrap();
    let mut ok = reply(&phone_inv, 200);
    ok.headers.push("Contact", "<sip:op1@192.0.2.10:5062>");
    let mut phone_dialog = Dialog::uas(&phone_inv, &ok).unwrap();
    phone.layer.respond(phone_tx, ok, now + ms(2000)).unwrap();
    settle(&mut switch, &mut phone, now + ms(2000), &mut lose);
    assert!(lost_200.get());
    let seen: Vec<u16> = take_events(&mut switch)
        .iter()
        .filter_map(|e| match e {
            TuEvent::Response { response, .. } => Some(response.status),
            _ => None,
        })
        .collect();
    assert_eq!(seen, [180], "the 200 was lost");

    // 500 ms later the phone's 2xx retransmission reaches the switch, whose
    // TU builds the dialog and ACKs (that ACK is lost too).
    let mut switch_dialog: Option<Dialog> = None;
    advance(&mut switch, &mut phone, now + ms(2500), &mut lose);
    let phone_addr = phone.addr.clone();
    assert_eq!(
        ack_every_2xx(&mut switch, &phone_addr, &inv, &mut switch_dialog),
        1
    );
    settle(&mut switch, &mut phone, now + ms(2500), &mut lose);
    assert!(lost_ack.get());
    assert!(
        take_events(&mut phone).is_empty(),
        "no ACK yet at the phone"
    );

    // Next 2xx retransmission (1 s later): the switch ACKs again, it arrives.
    advance(&mut switch, &mut phone, now + ms(3500), &mut lose);
    assert_eq!(
        ack_every_2xx(&mut switch, &phone_addr, &inv, &mut switch_dialog),
        1
    );
    settle(&mut switch, &mut phone, now + ms(3500), &mut lose);
    let ack = match take_events(&mut phone).as_slice() {
        [TuEvent::Ack {
            request, invite, ..
        }] => {
            assert_eq!(*invite, Some(phone_tx));
            request.clone()
        }
        other => panic!("phone expected the ACK, got {other:?}"),
    };
    phone_dialog.receive_request(&ack).unwrap();
    assert_eq!(phone_dialog.state(), DialogState::Confirmed);

    // No more 2xx retransmissions after the ACK.
    advance(&mut switch, &mut phone, now + ms(20_000), &mut lose);
    assert_eq!(
        ack_every_2xx(&mut switch, &phone_addr, &inv, &mut switch_dialog),
        0
    );

    // The operator hangs up: BYE through the phone's dialog.
    let bye = phone_dialog.request(
        Method::Bye,
        Via::new("UDP", "192.0.2.10", Some(5062), "z9hG4bKbye9"),
    );
    let bye_tx = phone
        .layer
        .send_request(bye, switch.addr.clone(), now + ms(20_000))
        .unwrap();
    settle(&mut switch, &mut phone, now + ms(20_000), &mut lose);
    let (tx, bye_in) = match take_events(&mut switch).as_slice() {
        [TuEvent::Request { tx, request, .. }] => (*tx, request.clone()),
        other => panic!("switch expected the BYE, got {other:?}"),
    };
    let dialog = switch_dialog.as_mut().expect("dialog made from the 2xx");
    assert!(dialog.matches(&bye_in));
    dialog.receive_request(&bye_in).unwrap();
    assert_eq!(dialog.state(), DialogState::Terminated);
    switch
        .layer
        .respond(tx, Response::for_request(&bye_in, 200), now + ms(20_001))
        .unwrap();
    settle(&mut switch, &mut phone, now + ms(20_001), &mut lose);
    assert!(take_events(&mut phone).iter().any(
        |e| matches!(e, TuEvent::Response { tx, response } if *tx == bye_tx && response.status == 200)
    ));

    // Every timer runs out; neither side keeps anything.
    advance(&mut switch, &mut phone, now + ms(120_000), &mut lose);
    assert!(
        switch.layer.is_empty(),
        "switch leaked {}",
        switch.layer.len()
    );
    assert!(phone.layer.is_empty(), "phone leaked {}", phone.layer.len());
    let late = take_events(&mut phone);
    assert!(
        !late
            .iter()
            .any(|e| matches!(e, TuEvent::AckTimeout { .. } | TuEvent::Timeout { .. })),
        "no failures reported: {late:?}"
    );
}

// ------------------------------------------------------------ property

mod random_traffic {
    use super::*;
    use proptest::prelude::*;

    const METHODS: [&str; 5] = ["INVITE", "BYE", "OPTIONS", "CANCEL", "INFO"];
    const STATUSES: [u16; 7] = [100, 180, 200, 202, 404, 486, 503];

    #[derive(Debug, Clone)]
    enum Op {
        Incoming {
            method: usize,
            branch: u8,
            tcp: bool,
        },
        IncomingAck {
            branch: u8,
        },
        Send {
            method: usize,
            branch: u8,
            tcp: bool,
        },
        IncomingResponse {
            method: usize,
            branch: u8,
            status: usize,
        },
        Respond {
            pick: usize,
            status: usize,
        },
        Cancel {
            pick: usize,
        },
        TransportError {
            pick: usize,
        },
        Advance {
            ms: u64,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..5usize, 0..4u8, any::<bool>()).prop_map(|(method, branch, tcp)| Op::Incoming {
                method,
                branch,
                tcp
            }),
            (0..4u8).prop_map(|branch| Op::IncomingAck { branch }),
            (0..5usize, 0..4u8, any::<bool>()).prop_map(|(method, branch, tcp)| Op::Send {
                method,
                branch,
                tcp
            }),
            (0..5usize, 0..4u8, 0..7usize).prop_map(|(method, branch, status)| {
                Op::IncomingResponse {
                    method,
                    branch,
                    status,
                }
            }),
            (0..16usize, 0..7usize).prop_map(|(pick, status)| Op::Respond { pick, status }),
            (0..16usize).prop_map(|pick| Op::Cancel { pick }),
            (0..16usize).prop_map(|pick| Op::TransportError { pick }),
            (0..40_000u64).prop_map(|ms| Op::Advance { ms }),
        ]
    }

    fn peer(tcp: bool) -> Peer {
        if tcp {
            PHONE_TCP
        } else {
            TRUNK
        }
    }

    fn pick(ids: &[TransactionId], i: usize) -> Option<TransactionId> {
        (!ids.is_empty()).then(|| ids[i % ids.len()])
    }

    proptest! {
        /// Whatever arrives in whatever order, nothing panics, and once the
        /// TU has answered everything and the far end has answered
        /// everything, every transaction and timer is gone after 64*T1+.
        #[test]
        fn no_panic_and_no_leak(ops in proptest::collection::vec(op(), 1..60)) {
            let start = t0();
            let mut now = start;
            let mut l = layer();
            let mut servers = Vec::new();
            let mut clients = Vec::new();
            let collect = |l: &mut TransactionLayer<Peer>, servers: &mut Vec<TransactionId>| {
                for out in drain(l) {
                    if let Output::Event(TuEvent::Request { tx, .. } | TuEvent::Cancel { tx, .. }) = out {
                        servers.push(tx);
                    }
                }
            };
            for op in ops {
                match op {
                    Op::Incoming { method, branch, tcp } => {
                        let r = request(METHODS[method], &format!("z9hG4bKs{branch}"), 1);
                        l.handle_message(Message::Request(r), peer(tcp), now).unwrap();
                    }
                    Op::IncomingAck { branch } => {
                        let r = ack_for_non_2xx(&format!("z9hG4bKs{branch}"));
                        l.handle_message(Message::Request(r), TRUNK, now).unwrap();
                    }
                    Op::Send { method, branch, tcp } => {
                        let r = request(METHODS[method], &format!("z9hG4bKc{branch}"), 1);
                        if let Ok(tx) = l.send_request(r, peer(tcp), now) {
                            clients.push(tx);
                        }
                    }
                    Op::IncomingResponse { method, branch, status } => {
                        let r = request(METHODS[method], &format!("z9hG4bKc{branch}"), 1);
                        let resp = reply(&r, STATUSES[status]);
                        l.handle_message(Message::Response(resp), TRUNK, now).unwrap();
                    }
                    Op::Respond { pick: i, status } => {
                        if let Some(tx) = pick(&servers, i) {
                            if let Some(r) = l.request(tx).cloned() {
                                let _ = l.respond(tx, reply(&r, STATUSES[status]), now);
                            }
                        }
                    }
                    Op::Cancel { pick: i } => {
                        if let Some(tx) = pick(&clients, i) {
                            if let Ok(c) = l.cancel(tx, now) {
                                clients.push(c);
                            }
                        }
                    }
                    Op::TransportError { pick: i } => {
                        if let Some(tx) = pick(&clients, i) {
                            l.handle_transport_error(tx, now);
                        }
                    }
                    Op::Advance { ms: d } => {
                        now += ms(d);
                        l.handle_timeout(now);
                    }
                }
                collect(&mut l, &mut servers);
            }
            // Close out: the far end answers every request we sent, the TU
            // answers every request it got.
            for tx in clients.clone() {
                if let Some(r) = l.request(tx).cloned() {
                    l.handle_message(Message::Response(reply(&r, 487)), TRUNK, now).unwrap();
                }
            }
            for tx in servers.clone() {
                if let Some(r) = l.request(tx).cloned() {
                    let _ = l.respond(tx, reply(&r, 500), now);
                }
            }
            collect(&mut l, &mut servers);
            // A CANCEL sent during close-out gets its answer too.
            for tx in clients.iter().copied() {
                if let Some(r) = l.request(tx).cloned() {
                    l.handle_message(Message::Response(reply(&r, 200)), TRUNK, now).unwrap();
                }
            }
            let end = now + ms(200_000);
            while let Some(at) = l.poll_timeout() {
                prop_assert!(at <= end, "a timer beyond any RFC 3261 bound");
                l.handle_timeout(at);
                drain(&mut l);
            }
            prop_assert!(l.is_empty(), "{} transactions left", l.len());
        }
    }
}
