//! Parsing real-world shaped SDP bodies and rejecting malformed ones.

use sdp::{Attribute, Direction, RtpMap, SdpError, SessionDescription};

const BARESIP: &str = "v=0\r\n\
o=- 1234 5678 IN IP4 192.168.1.20\r\n\
s=-\r\n\
c=IN IP4 192.168.1.20\r\n\
t=0 0\r\n\
m=audio 10000 RTP/AVP 0 8 101\r\n\
b=AS:64\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n\
a=rtcp-mux\r\n\
a=label:1\r\n";

#[test]
fn parses_a_softphone_offer() {
    let sdp = SessionDescription::parse(BARESIP.as_bytes()).expect("valid SDP");
    assert_eq!(sdp.origin.session_id, "1234");
    assert_eq!(sdp.origin.session_version, "5678");
    assert_eq!(
        sdp.connection.as_ref().and_then(|c| c.ip()),
        Some("192.168.1.20".parse().unwrap())
    );
    assert_eq!(sdp.media.len(), 1);
    let m = &sdp.media[0];
    assert_eq!(m.port, 10000);
    assert_eq!(m.payload_types().collect::<Vec<_>>(), vec![0, 8, 101]);
    assert_eq!(
        m.rtpmap(101),
        Some(&RtpMap {
            pt: 101,
            encoding: "telephone-event".into(),
            clock_rate: 8000,
            channels: None
        })
    );
    assert_eq!(m.fmtp(101), Some("0-15"));
    assert_eq!(m.ptime(), Some(20));
    assert_eq!(m.direction(), Some(Direction::SendRecv));
    assert_eq!(m.extra, vec![('b', "AS:64".to_owned())]);
    assert!(m.attributes.contains(&Attribute::Other {
        name: "rtcp-mux".into(),
        value: None
    }));
    assert!(m.attributes.contains(&Attribute::Other {
        name: "label".into(),
        value: Some("1".into())
    }));
}

#[test]
fn serialises_back_to_the_same_text() {
    let sdp = SessionDescription::parse(BARESIP.as_bytes()).expect("valid SDP");
    assert_eq!(sdp.to_string(), BARESIP);
}

#[test]
fn accepts_bare_lf_blank_lines_and_missing_t() {
    let text = "v=0\no=- 1 1 IN IP4 10.0.0.1\ns=\n\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 8\n\n";
    let sdp = SessionDescription::parse(text.as_bytes()).expect("lenient parse");
    assert_eq!(sdp.session_name, "");
    assert_eq!(sdp.timing, ("0".to_owned(), "0".to_owned()));
    assert_eq!(sdp.media[0].formats, vec!["8"]);
}

#[test]
fn session_level_direction_applies_unless_media_overrides() {
    let text =
        "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendonly\r\n\
                m=audio 4000 RTP/AVP 0\r\nm=audio 4002 RTP/AVP 0\r\na=inactive\r\n";
    let sdp = SessionDescription::parse(text.as_bytes()).expect("valid");
    assert_eq!(sdp.direction(), Some(Direction::SendOnly));
    assert_eq!(sdp.effective_direction(&sdp.media[0]), Direction::SendOnly);
    assert_eq!(sdp.effective_direction(&sdp.media[1]), Direction::Inactive);
}

#[test]
fn hold_address_is_recognised() {
    let text = "v=0\r\no=- 1 2 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    let sdp = SessionDescription::parse(text.as_bytes()).expect("valid");
    assert!(sdp.connection.as_ref().is_some_and(|c| c.is_hold()));
}

#[test]
fn unreadable_known_attributes_are_kept_not_fatal() {
    let text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n\
                a=rtpmap:zero PCMU/8000\r\na=ptime:twenty\r\n";
    let sdp = SessionDescription::parse(text.as_bytes()).expect("valid");
    assert_eq!(
        sdp.media[0].attributes,
        vec![
            Attribute::Other {
                name: "rtpmap".into(),
                value: Some("zero PCMU/8000".into())
            },
            Attribute::Other {
                name: "ptime".into(),
                value: Some("twenty".into())
            },
        ]
    );
    assert_eq!(sdp.to_string(), text);
}

#[test]
fn rejects_malformed_bodies() {
    let cases: &[(&[u8], SdpError)] = &[
        (b"", SdpError::Empty),
        (b"\r\n\r\n", SdpError::Empty),
        (b"o=- 1 1 IN IP4 1.2.3.4\r\n", SdpError::Malformed { line: 1, reason: "first line must be v=" }),
        (b"v=1\r\n", SdpError::Malformed { line: 1, reason: "unsupported SDP version" }),
        (b"v=0\r\ns=-\r\n", SdpError::Missing('o')),
        (b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\n", SdpError::Missing('s')),
        (b"v=0\r\no=- 1 1 IN IP4\r\ns=-\r\n", SdpError::Malformed { line: 2, reason: "o= needs 6 fields" }),
        (
            b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4\r\n",
            SdpError::Malformed { line: 4, reason: "c= needs 3 fields" },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 70000 RTP/AVP 0\r\n",
            SdpError::Malformed { line: 4, reason: "m= port is not a number" },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio\r\n",
            SdpError::Malformed { line: 4, reason: "m= needs media, port and proto" },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nhello\r\n",
            SdpError::Malformed { line: 4, reason: "line is not <type>=<value>" },
        ),
        (
            b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nm=audio 1 RTP/AVP 0\r\no=- 1 1 IN IP4 1.2.3.4\r\n",
            SdpError::Malformed { line: 5, reason: "session-level line inside a media section" },
        ),
        (b"v=0\r\no=\xff\r\n", SdpError::NotUtf8),
    ];
    for (body, expected) in cases {
        assert_eq!(
            SessionDescription::parse(body).as_ref().err(),
            Some(expected),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}
