//! Property tests: no input panics the parser, and the model survives
//! serialise-then-parse unchanged.

use proptest::prelude::*;
use sdp::{Attribute, Connection, Direction, MediaDescription, Origin, RtpMap, SessionDescription};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._+-]{1,12}"
}

fn text() -> impl Strategy<Value = String> {
    // Free text for s=/i=/attribute values: printable, no line breaks.
    "[ -~]{0,24}"
}

fn connection() -> impl Strategy<Value = Connection> {
    (token(), token(), token()).prop_map(|(net_type, addr_type, address)| Connection {
        net_type,
        addr_type,
        address,
    })
}

fn direction() -> impl Strategy<Value = Direction> {
    prop_oneof![
        Just(Direction::SendRecv),
        Just(Direction::SendOnly),
        Just(Direction::RecvOnly),
        Just(Direction::Inactive)
    ]
}

fn attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        (
            any::<u8>(),
            "[A-Za-z0-9-]{1,16}",
            any::<u32>(),
            proptest::option::of(any::<u16>())
        )
            .prop_map(
                |(pt, encoding, clock_rate, channels)| Attribute::Rtpmap(RtpMap {
                    pt,
                    encoding,
                    clock_rate,
                    channels
                })
            ),
        (any::<u8>(), "([!-~]([ -~]{0,16}[!-~])?)?")
            .prop_map(|(pt, params)| Attribute::Fmtp { pt, params }),
        any::<u32>().prop_map(Attribute::Ptime),
        direction().prop_map(Attribute::Direction),
        // Unknown attribute names; "x-" keeps them clear of the typed ones.
        ("x-[a-z0-9-]{0,10}", proptest::option::of(text()))
            .prop_map(|(name, value)| Attribute::Other { name, value }),
    ]
}

fn extra(kinds: &'static str) -> impl Strategy<Value = Vec<(char, String)>> {
    let kinds: Vec<char> = kinds.chars().collect();
    proptest::collection::vec((proptest::sample::select(kinds), text()), 0..4)
}

fn media() -> impl Strategy<Value = MediaDescription> {
    (
        token(),
        any::<u16>(),
        proptest::option::of(any::<u16>()),
        token(),
        proptest::collection::vec(token(), 0..5),
        proptest::option::of(connection()),
        extra("ibk"),
        proptest::collection::vec(attribute(), 0..6),
    )
        .prop_map(
            |(media, port, port_count, proto, formats, connection, mut extra, attributes)| {
                // The parser keeps extras in canonical (stable) order.
                extra.sort_by_key(|(k, _)| u8::from(*k != 'i'));
                MediaDescription {
                    media,
                    port,
                    port_count,
                    proto,
                    formats,
                    connection,
                    extra,
                    attributes,
                }
            },
        )
}

fn session() -> impl Strategy<Value = SessionDescription> {
    (
        proptest::collection::vec(token(), 6),
        text(),
        proptest::option::of(connection()),
        (token(), token()),
        extra("iuepbrzk"),
        proptest::collection::vec(attribute(), 0..4),
        proptest::collection::vec(media(), 0..3),
    )
        .prop_map(
            |(o, session_name, connection, timing, mut extra, attributes, media)| {
                extra.sort_by_key(|(k, _)| match k {
                    'i' | 'u' | 'e' | 'p' => 0u8,
                    'b' => 1,
                    _ => 2,
                });
                SessionDescription {
                    origin: Origin {
                        username: o[0].clone(),
                        session_id: o[1].clone(),
                        session_version: o[2].clone(),
                        net_type: o[3].clone(),
                        addr_type: o[4].clone(),
                        address: o[5].clone(),
                    },
                    session_name,
                    connection,
                    timing,
                    extra,
                    attributes,
                    media,
                }
            },
        )
}

proptest! {
    #[test]
    fn random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = SessionDescription::parse(&body);
    }

    #[test]
    fn sdp_shaped_lines_never_panic(lines in proptest::collection::vec("[vosctambiz]=[ -~]{0,30}", 0..20)) {
        let body = format!("v=0\r\n{}", lines.join("\r\n"));
        if let Ok(sdp) = SessionDescription::parse(body.as_bytes()) {
            // Whatever parses, serialises to something that parses the same.
            let again = SessionDescription::parse(&sdp.to_bytes()).expect("own output parses");
            prop_assert_eq!(again, sdp);
        }
    }

    #[test]
    fn serialise_then_parse_round_trips(sdp in session()) {
        let bytes = sdp.to_bytes();
        let parsed = SessionDescription::parse(&bytes).expect("own output parses");
        prop_assert_eq!(parsed, sdp);
    }

    #[test]
    fn answer_never_panics_on_parsed_offers(lines in proptest::collection::vec(
        prop_oneof![
            Just("c=IN IP4 10.0.0.1".to_owned()),
            Just("c=IN IP4 0.0.0.0".to_owned()),
            "m=audio [0-9]{1,5} RTP/AVP( [0-9]{1,3}){0,4}",
            "a=rtpmap:[0-9]{1,3} (PCMU|PCMA|telephone-event|opus)/(8000|48000)",
            "a=(sendrecv|sendonly|recvonly|inactive)",
            "a=ptime:[0-9]{1,3}",
        ], 0..10)) {
        let body = format!("v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\n{}\r\n", lines.join("\r\n"));
        if let Ok(offer) = SessionDescription::parse(body.as_bytes()) {
            let params = sdp::AnswerParams::new("127.0.0.1".parse().unwrap(), 4000, 1, 1);
            if let Ok((ans, neg)) = sdp::answer(&offer, &params) {
                prop_assert_eq!(ans.media.len(), offer.media.len());
                prop_assert!(ans.media.iter().filter(|m| m.port != 0).count() == 1);
                prop_assert!(neg.ptime > 0);
            }
        }
    }
}
