//! Relay from one leg to another: header rewrite, transcoding, events,
//! drops and counters.

mod common;

use std::time::Duration;

use media::g711::{self, Codec};
use media::relay::{DropReason, LegFormat, Relay, Verdict};
use media::rtp::{write_packet, OutHeader, RtpHeader};
use media::stream::OutgoingStream;

const PCMU_LEG: LegFormat = LegFormat {
    codec: Codec::Pcmu,
    pt: 0,
    event_pt: Some(101),
};
const PCMA_LEG: LegFormat = LegFormat {
    codec: Codec::Pcma,
    pt: 8,
    event_pt: Some(96),
};

fn packet(pt: u8, seq: u16, ts: u32, marker: bool, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 12 + payload.len()];
    let h = OutHeader {
        marker,
        payload_type: pt,
        sequence: seq,
        timestamp: ts,
        ssrc: 0x1111_2222,
    };
    write_packet(&mut buf, &h, payload).expect("fits");
    buf
}

#[test]
fn transcodes_pcmu_to_pcma_and_rewrites_the_header() {
    let t0 = common::epoch();
    let mut relay = Relay::new(PCMU_LEG, PCMA_LEG, 0);
    let mut out = OutgoingStream::new(0xABCD, 500, 90_000);
    let audio: Vec<u8> = (0..160u16).map(|i| (i * 37 % 256) as u8).collect();

    let mut p = packet(0, 7, 1234, false, &audio);
    let Verdict::Forward {
        len,
        original,
        event,
    } = relay.process(&mut p, &mut out, t0)
    else {
        panic!("forwarded");
    };
    assert!(!event);
    assert_eq!((original.sequence, original.timestamp), (7, 1234));
    assert_eq!(len, 172);
    let h = RtpHeader::parse(&p[..len]).expect("valid output");
    assert_eq!(
        (h.payload_type, h.sequence, h.timestamp, h.ssrc, h.marker),
        (8, 500, 90_000, 0xABCD, true)
    );
    let expected: Vec<u8> = audio
        .iter()
        .map(|b| g711::ULAW_TO_ALAW[usize::from(*b)])
        .collect();
    assert_eq!(h.payload(&p), expected.as_slice());

    let mut p = packet(0, 8, 1394, false, &audio);
    assert!(matches!(
        relay.process(&mut p, &mut out, t0 + Duration::from_millis(20)),
        Verdict::Forward { .. }
    ));
    let h = RtpHeader::parse(&p).expect("valid output");
    assert_eq!((h.sequence, h.timestamp, h.marker), (501, 90_160, false));

    let c = relay.counters();
    assert_eq!((c.received, c.forwarded, c.forwarded_bytes), (2, 2, 344));
}

#[test]
fn same_codec_leaves_payload_alone() {
    let t0 = common::epoch();
    let mut relay = Relay::new(
        PCMA_LEG,
        LegFormat {
            event_pt: None,
            ..PCMA_LEG
        },
        0,
    );
    let mut out = OutgoingStream::new(1, 0, 0);
    let audio = [0x12u8, 0x34, 0x56];
    let mut p = packet(8, 1, 1, false, &audio);
    assert!(matches!(
        relay.process(&mut p, &mut out, t0),
        Verdict::Forward { .. }
    ));
    assert_eq!(&p[12..], &audio);
}

#[test]
fn static_pt_of_the_other_law_is_decoded_as_that_law() {
    let t0 = common::epoch();
    let mut relay = Relay::new(PCMU_LEG, PCMU_LEG, 0);
    let mut out = OutgoingStream::new(1, 0, 0);
    let mut p = packet(8, 1, 1, false, &[0xD5; 4]); // A-law silence on a PCMU leg
    assert!(matches!(
        relay.process(&mut p, &mut out, t0),
        Verdict::Forward { .. }
    ));
    assert_eq!(p[1] & 0x7F, 0);
    assert_eq!(&p[12..], &[g711::ALAW_TO_ULAW[0xD5]; 4]);
}

#[test]
fn events_pass_through_with_mapped_payload_type() {
    let t0 = common::epoch();
    let mut relay = Relay::new(PCMU_LEG, PCMA_LEG, 0);
    let mut out = OutgoingStream::new(1, 0, 0);
    let mut a = packet(0, 1, 1000, false, &[0xFF; 160]);
    assert!(matches!(
        relay.process(&mut a, &mut out, t0),
        Verdict::Forward { event: false, .. }
    ));
    let ev = [5u8, 0x8A, 0x03, 0x20];
    let mut e1 = packet(101, 2, 1160, true, &ev);
    let mut e2 = packet(101, 3, 1160, false, &ev);
    let later = t0 + Duration::from_millis(20);
    assert!(matches!(
        relay.process(&mut e1, &mut out, later),
        Verdict::Forward { event: true, .. }
    ));
    assert!(matches!(
        relay.process(&mut e2, &mut out, later),
        Verdict::Forward { event: true, .. }
    ));
    let h1 = RtpHeader::parse(&e1).expect("valid");
    let h2 = RtpHeader::parse(&e2).expect("valid");
    assert_eq!((h1.payload_type, h1.marker, h1.timestamp), (96, true, 160));
    assert_eq!(
        (h2.payload_type, h2.marker, h2.timestamp, h2.sequence),
        (96, false, 160, 2)
    );
    assert_eq!(h1.payload(&e1), &ev, "event payload unchanged");
}

#[test]
fn drops_what_cannot_be_relayed_and_counts_it() {
    let t0 = common::epoch();
    let mut relay = Relay::new(
        PCMU_LEG,
        LegFormat {
            event_pt: None,
            ..PCMA_LEG
        },
        0,
    );
    let mut out = OutgoingStream::new(1, 0, 0);
    let mut cn = packet(13, 1, 0, false, &[40]);
    assert_eq!(
        relay.process(&mut cn, &mut out, t0),
        Verdict::Drop(DropReason::UnknownPayloadType)
    );
    let mut ev = packet(101, 2, 0, true, &[1, 0, 0, 160]);
    assert_eq!(
        relay.process(&mut ev, &mut out, t0),
        Verdict::Drop(DropReason::EventsNotNegotiated)
    );
    let mut junk = vec![0x00u8; 20];
    assert_eq!(
        relay.process(&mut junk, &mut out, t0),
        Verdict::Drop(DropReason::Malformed)
    );
    let mut rtcp = vec![0x80u8, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0];
    assert_eq!(
        relay.process(&mut rtcp, &mut out, t0),
        Verdict::Drop(DropReason::Malformed)
    );
    let mut a = packet(0, 3, 1000, false, &[0xFF; 160]);
    assert!(matches!(
        relay.process(&mut a, &mut out, t0),
        Verdict::Forward { .. }
    ));
    let mut late = packet(0, 2, 840, false, &[0xFF; 160]);
    assert_eq!(
        relay.process(&mut late, &mut out, t0),
        Verdict::Drop(DropReason::Late)
    );
    let c = relay.counters();
    assert_eq!(
        (
            c.received,
            c.forwarded,
            c.dropped_unknown_pt,
            c.dropped_no_events,
            c.dropped_malformed,
            c.dropped_late
        ),
        (6, 1, 1, 1, 2, 1)
    );
    assert_eq!(out.packets(), 1, "dropped packets use no sequence numbers");
}
