//! RFC 3264 offer/answer as the switch does it on each leg.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use sdp::{
    answer, negotiated_from_answer, offer, AnswerParams, AudioCodec, Direction, OfferParams,
    SdpError, SessionDescription,
};

const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 5));

fn offer_text(formats: &str, attrs: &str, conn: &str) -> SessionDescription {
    let text = format!(
        "v=0\r\no=trunk 42 1 IN IP4 198.51.100.7\r\ns=call\r\nc=IN IP4 {conn}\r\nt=0 0\r\n\
         m=audio 30000 RTP/AVP {formats}\r\n{attrs}"
    );
    SessionDescription::parse(text.as_bytes()).expect("test offer parses")
}

fn params() -> AnswerParams<'static> {
    AnswerParams::new(LOCAL, 40000, 7, 1)
}

#[test]
fn answer_picks_first_supported_codec_in_offer_order_and_echoes_dtmf_pt() {
    let o = offer_text(
        "18 8 0 96",
        "a=rtpmap:18 G729/8000\r\na=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-15\r\n",
        "198.51.100.7",
    );
    let (sdp, neg) = answer(&o, &params()).expect("acceptable");
    assert_eq!(neg.codec, AudioCodec::Pcma);
    assert_eq!(neg.pt, 8);
    assert_eq!(neg.telephone_event_pt, Some(96));
    assert_eq!(neg.direction, Direction::SendRecv);
    assert_eq!(
        neg.remote,
        Some("198.51.100.7:30000".parse::<SocketAddr>().unwrap())
    );
    assert_eq!(neg.ptime, 20);
    let text = sdp.to_string();
    assert_eq!(
        text,
        "v=0\r\no=switchboard 7 1 IN IP4 203.0.113.5\r\ns=switchboard\r\nc=IN IP4 203.0.113.5\r\n\
         t=0 0\r\nm=audio 40000 RTP/AVP 8 96\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    );
    // Our own output is valid SDP.
    assert_eq!(
        SessionDescription::parse(text.as_bytes()).expect("reparse"),
        sdp
    );
}

#[test]
fn static_payload_types_need_no_rtpmap() {
    let o = offer_text("0", "", "198.51.100.7");
    let (_, neg) = answer(&o, &params()).expect("acceptable");
    assert_eq!(
        (neg.codec, neg.pt, neg.telephone_event_pt),
        (AudioCodec::Pcmu, 0, None)
    );
}

#[test]
fn rtpmap_overrides_static_assignment() {
    // PT 0 remapped to something else, PCMU on a dynamic PT.
    let o = offer_text(
        "0 97",
        "a=rtpmap:0 L16/8000\r\na=rtpmap:97 pcmu/8000\r\n",
        "198.51.100.7",
    );
    let (_, neg) = answer(&o, &params()).expect("acceptable");
    assert_eq!((neg.codec, neg.pt), (AudioCodec::Pcmu, 97));
}

#[test]
fn direction_follows_rfc3264() {
    let cases = [
        ("a=sendrecv\r\n", Direction::SendRecv),
        ("a=sendonly\r\n", Direction::RecvOnly),
        ("a=recvonly\r\n", Direction::SendOnly),
        ("a=inactive\r\n", Direction::Inactive),
        ("", Direction::SendRecv),
    ];
    for (attr, expected) in cases {
        let o = offer_text("0", attr, "198.51.100.7");
        let (sdp, neg) = answer(&o, &params()).expect("acceptable");
        assert_eq!(neg.direction, expected, "offer {attr:?}");
        assert_eq!(sdp.media[0].direction(), Some(expected));
    }
}

#[test]
fn old_style_hold_means_do_not_send() {
    let o = offer_text("0", "", "0.0.0.0");
    let (_, neg) = answer(&o, &params()).expect("acceptable");
    assert_eq!(neg.remote, None);
    assert_eq!(neg.direction, Direction::RecvOnly);
}

#[test]
fn our_own_hold_preference_is_intersected() {
    let o = offer_text("0", "a=sendrecv\r\n", "198.51.100.7");
    let mut p = params();
    p.direction = Direction::SendOnly;
    let (_, neg) = answer(&o, &p).expect("acceptable");
    assert_eq!(neg.direction, Direction::SendOnly);
}

#[test]
fn other_streams_are_rejected_with_port_zero() {
    let text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                m=video 5000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n\
                m=audio 5002 RTP/SAVP 0\r\n\
                m=audio 5004 RTP/AVP 0\r\n";
    let o = SessionDescription::parse(text.as_bytes()).expect("valid");
    let (sdp, neg) = answer(&o, &params()).expect("acceptable");
    assert_eq!(sdp.media.len(), 3);
    assert_eq!(
        (sdp.media[0].port, sdp.media[0].media.as_str()),
        (0, "video")
    );
    assert_eq!(
        (sdp.media[1].port, sdp.media[1].proto.as_str()),
        (0, "RTP/SAVP")
    );
    assert_eq!(sdp.media[2].port, 40000);
    assert_eq!(neg.remote, Some("10.0.0.1:5004".parse().unwrap()));
}

#[test]
fn media_level_connection_wins() {
    let text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n\
                m=audio 5004 RTP/AVP 0\r\nc=IN IP4 10.0.0.2\r\n";
    let o = SessionDescription::parse(text.as_bytes()).expect("valid");
    let (_, neg) = answer(&o, &params()).expect("acceptable");
    assert_eq!(neg.remote, Some("10.0.0.2:5004".parse().unwrap()));
}

#[test]
fn unacceptable_offers_give_488_errors() {
    let o = offer_text("18 9", "a=rtpmap:18 G729/8000\r\n", "198.51.100.7");
    let e = answer(&o, &params()).expect_err("no common codec");
    assert_eq!(e, SdpError::NoCommonCodec);
    assert!(e.is_not_acceptable());

    let text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\n";
    let o = SessionDescription::parse(text.as_bytes()).expect("valid");
    assert_eq!(
        answer(&o, &params()).expect_err("no audio"),
        SdpError::NoAudio
    );

    let text = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n";
    let o = SessionDescription::parse(text.as_bytes()).expect("valid");
    let e = answer(&o, &params()).expect_err("no c=");
    assert_eq!(e, SdpError::Missing('c'));
    assert!(!e.is_not_acceptable());
}

#[test]
fn pcmu_only_supported_skips_pcma() {
    let o = offer_text("8 0", "", "198.51.100.7");
    let mut p = params();
    p.supported = &[AudioCodec::Pcmu];
    p.telephone_event = false;
    let (_, neg) = answer(&o, &p).expect("acceptable");
    assert_eq!((neg.codec, neg.pt), (AudioCodec::Pcmu, 0));
}

#[test]
fn offer_builder_matches_the_switch_defaults() {
    let o = offer(&OfferParams::new(LOCAL, 40002, 9, 3));
    assert_eq!(
        o.to_string(),
        "v=0\r\no=switchboard 9 3 IN IP4 203.0.113.5\r\ns=switchboard\r\nc=IN IP4 203.0.113.5\r\n\
         t=0 0\r\nm=audio 40002 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    );
}

#[test]
fn offer_then_answer_round_trip_between_two_switches() {
    let ours = offer(&OfferParams::new(LOCAL, 40002, 9, 3));
    let peer_ip: IpAddr = "192.0.2.9".parse().unwrap();
    let (their_answer, their_view) =
        answer(&ours, &AnswerParams::new(peer_ip, 50000, 1, 1)).expect("acceptable");
    let our_view = negotiated_from_answer(&ours, &their_answer).expect("agreed");
    assert_eq!(our_view.codec, AudioCodec::Pcmu);
    assert_eq!(our_view.pt, 0);
    assert_eq!(our_view.telephone_event_pt, Some(101));
    assert_eq!(our_view.remote, Some("192.0.2.9:50000".parse().unwrap()));
    assert_eq!(our_view.direction, Direction::SendRecv);
    assert_eq!(their_view.remote, Some(SocketAddr::new(LOCAL, 40002)));
}

#[test]
fn hold_offer_gets_recvonly_answer_and_we_stop_receiving() {
    let mut p = OfferParams::new(LOCAL, 40002, 9, 4);
    p.direction = Direction::SendOnly;
    let ours = offer(&p);
    let (their_answer, their_view) = answer(
        &ours,
        &AnswerParams::new("192.0.2.9".parse().unwrap(), 50000, 1, 2),
    )
    .expect("ok");
    assert_eq!(their_view.direction, Direction::RecvOnly);
    assert_eq!(their_answer.media[0].direction(), Some(Direction::RecvOnly));
    let our_view = negotiated_from_answer(&ours, &their_answer).expect("agreed");
    assert_eq!(our_view.direction, Direction::SendOnly);
}

#[test]
fn answer_without_rtpmap_for_dynamic_pt_uses_our_offer() {
    let ours = offer(&OfferParams::new(LOCAL, 40002, 9, 3));
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\n\
                m=audio 50000 RTP/AVP 8 101\r\n";
    let ans = SessionDescription::parse(text.as_bytes()).expect("valid");
    let v = negotiated_from_answer(&ours, &ans).expect("agreed");
    assert_eq!(
        (v.codec, v.pt, v.telephone_event_pt),
        (AudioCodec::Pcma, 8, Some(101))
    );
}

#[test]
fn rejected_answer_is_an_error() {
    let ours = offer(&OfferParams::new(LOCAL, 40002, 9, 3));
    let text = "v=0\r\no=- 1 1 IN IP4 192.0.2.9\r\ns=-\r\nc=IN IP4 192.0.2.9\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
    let ans = SessionDescription::parse(text.as_bytes()).expect("valid");
    assert_eq!(negotiated_from_answer(&ours, &ans), Err(SdpError::NoAudio));
}
