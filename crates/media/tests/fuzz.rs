//! Property tests: random bytes into every parser never panic, and what the
//! relay forwards is always well-formed RTP for the outgoing leg.

mod common;

use std::time::Duration;

use media::dtmf::{DtmfReceiver, EventPayload};
use media::g711::Codec;
use media::player::Clip;
use media::relay::{LegFormat, Relay, Verdict};
use media::rtcp::{Compound, Report};
use media::rtp::{looks_like_rtcp, RtpHeader, RtpPacketMut};
use media::stream::OutgoingStream;
use proptest::prelude::*;

/// Random bytes, half of them starting like an RTP header so the deeper
/// checks (CSRC, extension, padding) are reached.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        (
            0x80u8..0xC0,
            proptest::sample::select(vec![0u8, 8, 101, 96, 13, 0x80, 0x88, 0xE5]),
            proptest::collection::vec(any::<u8>(), 0..200)
        )
            .prop_map(|(b0, b1, rest)| {
                let mut v = vec![b0, b1];
                v.extend(rest);
                v
            }),
    ]
}

proptest! {
    #[test]
    fn rtp_parsers_never_panic(mut bytes in datagram()) {
        let _ = looks_like_rtcp(&bytes);
        if let Ok(h) = RtpHeader::parse(&bytes) {
            prop_assert!(h.payload_offset + h.payload_len <= bytes.len());
            prop_assert_eq!(h.payload(&bytes).len(), h.payload_len);
        }
        if let Ok(mut p) = RtpPacketMut::new(&mut bytes) {
            p.set_sequence(1);
            p.set_timestamp(2);
            p.set_ssrc(3);
            p.set_marker(true);
            p.set_payload_type(0xFF);
            p.payload_mut().fill(0);
        }
    }

    #[test]
    fn rtcp_parser_never_panics(mut bytes in datagram(), rr in any::<bool>()) {
        if rr && bytes.len() >= 2 {
            bytes[0] = 0x80 | (bytes[0] & 0x1F);
            bytes[1] = 201;
        }
        if let Ok(c) = Compound::parse(&bytes) {
            let total: usize = c.packets().map(|p| 4 + p.body.len()).sum();
            prop_assert!(total <= bytes.len());
            for p in c.packets() {
                if let Some(r) = Report::parse(&p) {
                    prop_assert!(r.blocks().count() <= usize::from(p.count));
                }
            }
            let _ = c.has_goodbye();
        }
    }

    #[test]
    fn relay_never_panics_and_forwards_only_valid_rtp(
        packets in proptest::collection::vec(datagram(), 1..30),
        transcode in any::<bool>(),
    ) {
        let t0 = common::epoch();
        let from = LegFormat { codec: Codec::Pcmu, pt: 0, event_pt: Some(101) };
        let to = if transcode {
            LegFormat { codec: Codec::Pcma, pt: 8, event_pt: Some(96) }
        } else {
            LegFormat { codec: Codec::Pcmu, pt: 0, event_pt: Some(101) }
        };
        let mut relay = Relay::new(from, to, 0);
        let mut out = OutgoingStream::new(77, 0, 0);
        for (i, mut p) in packets.into_iter().enumerate() {
            let now = t0 + Duration::from_millis(20 * i as u64);
            if let Verdict::Forward { len, .. } = relay.process(&mut p, &mut out, now) {
                let h = RtpHeader::parse(&p[..len]).expect("forwarded packet is valid RTP");
                prop_assert_eq!(h.ssrc, 77);
                prop_assert!(h.payload_type == to.pt || Some(h.payload_type) == to.event_pt);
            }
        }
        let c = relay.counters();
        prop_assert_eq!(
            c.received,
            c.forwarded + c.dropped_malformed + c.dropped_unknown_pt + c.dropped_no_events + c.dropped_late
        );
    }

    #[test]
    fn dtmf_receiver_never_panics(
        packets in proptest::collection::vec(
            (0u32..5, any::<bool>(), proptest::collection::vec(any::<u8>(), 0..8), 0u64..600),
            0..40,
        ),
    ) {
        let t0 = common::epoch();
        let mut rx = DtmfReceiver::default();
        let mut now = t0;
        let mut digits = 0usize;
        for (ts, marker, payload, step) in packets {
            now += Duration::from_millis(step);
            let parsed = EventPayload::parse(&payload);
            prop_assert_eq!(rx.handle_packet(ts, marker, &payload, now).is_ok(), parsed.is_ok());
            while let Some(d) = rx.poll_digit(now) {
                prop_assert!(d.event <= 16);
                digits += 1;
            }
        }
        while rx.poll_digit(now + Duration::from_secs(10)).is_some() {
            digits += 1;
        }
        // Never more digits than packets that could start one.
        prop_assert!(digits <= 40);
    }

    #[test]
    fn wav_loader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), riff in any::<bool>()) {
        let mut data = if riff { b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00".to_vec() } else { Vec::new() };
        data.extend(bytes);
        let _ = Clip::from_wav_bytes("fuzz.wav", &data);
    }
}
