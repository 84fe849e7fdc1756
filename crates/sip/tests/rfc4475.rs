//! The 49 RFC 4475 torture messages, byte-exact from ../shared/testdata.
//!
//! Each message is classified as RFC 4475 does: section 3.1.1 (valid, must
//! parse), 3.1.2 (invalid, must be rejected: a request gets a reply whose
//! reason names the fault, a response is dropped), 3.2 and 3.3 (well-formed
//! at the message layer; the transaction or application layer decides, so
//! they must parse, except the three 3.3 cases whose fault is a missing or
//! duplicated mandatory header, which the parser rejects with 400), and 3.4
//! (RFC 2543 syntax, must parse).

use std::path::PathBuf;

use sip::{parse_message, Contacts, Message, Method, ParseError, Request, Response};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/rfc4475")
}

fn load(name: &str) -> Vec<u8> {
    let p = dir().join(format!("{name}.dat"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

fn request(name: &str) -> Request {
    match parse_message(&load(name)) {
        Ok(Message::Request(r)) => r,
        Ok(Message::Response(_)) => panic!("{name}: parsed as a response"),
        Err(e) => panic!("{name}: rejected: {e}"),
    }
}

fn response(name: &str) -> Response {
    match parse_message(&load(name)) {
        Ok(Message::Response(r)) => r,
        Ok(Message::Request(_)) => panic!("{name}: parsed as a request"),
        Err(e) => panic!("{name}: rejected: {e}"),
    }
}

fn rejected(name: &str) -> ParseError {
    match parse_message(&load(name)) {
        Ok(m) => panic!("{name}: accepted but RFC 4475 says it is invalid: {m:?}"),
        Err(e) => e,
    }
}

/// An invalid request: rejected with `status`, the reason contains `fault`,
/// and a reply can be built that echoes Call-ID and CSeq when they were read.
fn answered(name: &str, status: u16, fault: &str) -> Response {
    let e = rejected(name);
    assert_eq!(e.status, status, "{name}: {e}");
    assert!(
        e.reason.contains(fault),
        "{name}: reason {:?} should name {fault:?}",
        e.reason
    );
    let reply = e
        .bad_request_response()
        .unwrap_or_else(|| panic!("{name}: no reply built"));
    assert_eq!(reply.status, status);
    assert_eq!(reply.reason, e.reason);
    // Via, Call-ID and CSeq are echoed as received (even when malformed:
    // they are the sender's own text, used to match the reply).
    assert!(!e.raw.via.is_empty());
    assert_eq!(reply.headers.get_all("Via").count(), e.raw.via.len());
    for (name, raw) in [("Call-ID", &e.raw.call_id), ("CSeq", &e.raw.cseq)] {
        assert_eq!(
            reply.headers.get(name),
            raw.as_deref(),
            "{name}: {name} echoed"
        );
    }
    let wire = reply.to_bytes();
    let status_line = format!("SIP/2.0 {status} {}\r\n", e.reason);
    assert!(
        wire.starts_with(status_line.as_bytes()),
        "{name}: status line"
    );
    reply
}

/// An invalid response: rejected, never answered.
fn dropped(name: &str, fault: &str) {
    let e = rejected(name);
    assert!(e.reason.contains(fault), "{name}: {:?}", e.reason);
    assert!(
        e.bad_request_response().is_none(),
        "{name}: responses are never answered"
    );
}

/// Serialising a parsed message and parsing it again gives the same message
/// (the serializer writes one canonical Content-Length).
fn round_trips(name: &str) {
    let first = parse_message(&load(name)).expect("parses");
    let bytes = first.to_bytes();
    let mut second = parse_message(&bytes).unwrap_or_else(|e| {
        panic!(
            "{name}: re-parse failed: {e}\n{}",
            String::from_utf8_lossy(&bytes)
        )
    });
    let mut first = first;
    first.headers_mut().remove("Content-Length");
    second.headers_mut().remove("Content-Length");
    assert_eq!(first, second, "{name}: round trip changed the message");
}

// ------------------------------------------------------------ 3.1.1 valid

#[test]
fn s3_1_1_1_wsinv_short_tortuous_invite() {
    let r = request("wsinv");
    assert_eq!(r.method, Method::Invite);
    assert_eq!(r.uri, "sip:vivekg@chair-dnrc.example.com;unknownparam");
    assert_eq!(
        r.request_uri().expect("ruri").param("unknownparam"),
        Some("")
    );
    let to = r.to().expect("To");
    assert_eq!(to.uri.host, "chair-dnrc.example.com");
    assert_eq!(to.tag(), Some("1918181833n"));
    let from = r.from().expect("From");
    assert_eq!(from.display.as_deref(), Some(r#"J Rosenberg \""#));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(r.max_forwards().expect("MF"), Some(68));
    let cseq = r.cseq().expect("CSeq");
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    assert_eq!(r.headers.get("Subject"), Some(""));
    assert_eq!(
        r.headers.get("NewFangledHeader"),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        r.headers.get("UnknownHeaderWithUnusualValue"),
        Some(";;,,;;,;")
    );
    let vias = r.vias().expect("Vias");
    let hosts: Vec<&str> = vias.iter().map(|v| v.host.as_str()).collect();
    assert_eq!(
        hosts,
        ["192.0.2.2", "spindle.example.com", "192.168.255.111"]
    );
    assert_eq!(vias[1].transport, "TCP");
    assert_eq!(vias[1].branch(), Some("z9hG4bK9ikj8"));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    let route = r.routes().expect("Route");
    assert_eq!(route[0].uri.param("unknown-no-value"), Some(""));
    assert_eq!(route[0].uri.param("unknownwith"), Some("value"));
    let Contacts::Addrs(c) = r.contacts().expect("Contact") else {
        panic!("not a wildcard")
    };
    assert_eq!(c[0].display.as_deref(), Some(r#"Quoted string """#));
    assert_eq!(c[0].param("newparam"), Some("newvalue"));
    assert_eq!(c[0].param("secondparam"), Some(""));
    assert_eq!(c[0].param("q"), Some("0.33"));
    assert_eq!(r.content_type(), Some("application/sdp"));
    assert_eq!(r.body.len(), 150);
    round_trips("wsinv");
}

#[test]
fn s3_1_1_2_intmeth_wide_range_of_valid_characters() {
    let r = request("intmeth");
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(r.method, Method::Other(method.into()));
    assert_eq!(r.cseq().expect("CSeq").method, r.method);
    let ruri = r.request_uri().expect("ruri");
    assert_eq!(
        ruri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        ruri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    assert_eq!(ruri.host, "example.com");
    assert_eq!(
        r.to().expect("To").display.as_deref(),
        Some("BEL:\x07 NUL:\0 DEL:\x7f")
    );
    let from = r.from().expect("From");
    assert_eq!(
        from.display.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(
        r.call_id().expect("Call-ID"),
        "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    );
    assert_eq!(
        r.top_via().expect("Via").branch(),
        Some("z9hG4bK-.!%66*_+`'~")
    );
    assert_eq!(
        r.headers.get("extensionHeader-!.%*+_`'~"),
        Some("\u{FEFF}大停電")
    );
    round_trips("intmeth");
}

#[test]
fn s3_1_1_3_esc01_valid_escaping() {
    let r = request("esc01");
    let ruri = r.request_uri().expect("ruri");
    assert_eq!(
        ruri.user_unescaped().as_deref(),
        Some("sips:user@example.com")
    );
    assert_eq!(ruri.host, "example.net");
    assert_eq!(
        r.to().expect("To").uri.user_unescaped().as_deref(),
        Some("user")
    );
    assert_eq!(
        r.from().expect("From").uri.user_unescaped().as_deref(),
        Some("I have spaces")
    );
    let c = r.contact().expect("Contact").expect("one");
    assert_eq!(c.uri.user_unescaped().as_deref(), Some("caller"));
    assert_eq!(
        c.uri.param("lr"),
        Some(""),
        "escaped param names compare unescaped"
    );
    assert_eq!(
        c.uri.param("name").map(sip::uri::unescape).as_deref(),
        Some("value%41")
    );
    assert_eq!(r.content_type(), Some("application/sdp"));
    round_trips("esc01");
}

#[test]
fn s3_1_1_4_escnull_escaped_nulls() {
    let r = request("escnull");
    assert_eq!(r.method, Method::Register);
    assert_eq!(
        r.to().expect("To").uri.user_unescaped().as_deref(),
        Some("null-\0-null")
    );
    let Contacts::Addrs(c) = r.contacts().expect("Contact") else {
        panic!("not a wildcard")
    };
    let users: Vec<String> = c.iter().filter_map(|n| n.uri.user_unescaped()).collect();
    assert_eq!(users, ["\0", "\0\0"]);
    round_trips("escnull");
}

#[test]
fn s3_1_1_5_esc02_percent_that_is_not_an_escape() {
    let r = request("esc02");
    // Not REGISTER: methods are compared as tokens, never unescaped.
    assert_eq!(r.method, Method::Other("RE%47IST%45R".into()));
    assert_eq!(r.to().expect("To").display.as_deref(), Some("%Z%45"));
    assert_eq!(r.from().expect("From").display.as_deref(), Some("%Z%45"));
    assert_eq!(
        r.top_via().expect("Via").branch(),
        Some("z9hG4bK209%fzsnel234")
    );
    // "C%6Fntact" is an unknown header, not a third Contact.
    let Contacts::Addrs(c) = r.contacts().expect("Contact") else {
        panic!("not a wildcard")
    };
    assert_eq!(c.len(), 2);
    assert!(r.headers.get("C%6Fntact").is_some());
    round_trips("esc02");
}

#[test]
fn s3_1_1_6_lwsdisp_no_lws_before_angle() {
    let r = request("lwsdisp");
    assert_eq!(r.from().expect("From").display.as_deref(), Some("caller"));
    assert_eq!(r.from().expect("From").tag(), Some("323"));
    round_trips("lwsdisp");
}

#[test]
fn s3_1_1_7_longreq_long_values() {
    let r = request("longreq");
    let to = r.to().expect("To");
    let extreme = "extreme".repeat(10);
    assert_eq!(
        to.display.as_deref(),
        Some(format!("I have a user name of {extreme} proportion").as_str())
    );
    assert_eq!(to.uri.port, Some(6000));
    let long = format!("very{}value", "long".repeat(20));
    assert_eq!(to.uri.param("unknownparam1"), Some(long.as_str()));
    let from = r.from().expect("From");
    assert_eq!(
        from.uri.user.as_deref(),
        Some("amazinglylongcallername".repeat(5).as_str())
    );
    let tag = format!("12{}424", "982".repeat(50));
    assert_eq!(from.tag(), Some(tag.as_str()));
    let vias = r.vias().expect("Vias");
    assert_eq!(vias.len(), 34);
    for (i, v) in vias.iter().take(33).enumerate() {
        assert_eq!(v.host, format!("sip{}.example.com", 33 - i));
    }
    let branch = format!("very{}branchvalue", "long".repeat(50));
    assert_eq!(vias[33].branch(), Some(branch.as_str()));
    assert_eq!(
        r.call_id().expect("Call-ID"),
        format!("longreq.one{}longcallid", "really".repeat(20))
    );
    round_trips("longreq");
}

#[test]
fn s3_1_1_8_dblreq_trailing_octets_ignored() {
    let r = request("dblreq");
    assert_eq!(r.method, Method::Register);
    assert!(
        r.body.is_empty(),
        "Content-Length: 0 cuts off the second request"
    );
    round_trips("dblreq");
}

#[test]
fn s3_1_1_9_semiuri_semicolon_in_user_part() {
    let r = request("semiuri");
    let ruri = r.request_uri().expect("ruri");
    assert_eq!(
        ruri.user_unescaped().as_deref(),
        Some("user;par=u@example.net")
    );
    assert_eq!(ruri.host, "example.com");
    assert!(ruri.params.is_empty());
    round_trips("semiuri");
}

#[test]
fn s3_1_1_10_transports_varied_and_unknown() {
    let r = request("transports");
    let t: Vec<String> = r
        .vias()
        .expect("Vias")
        .into_iter()
        .map(|v| v.transport)
        .collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    assert_eq!(
        r.call_id().expect("Call-ID"),
        "transports.kijh4akdnaqjkwendsasfdj"
    );
    round_trips("transports");
}

#[test]
fn s3_1_1_11_mpart01_multipart_body() {
    let r = request("mpart01");
    assert_eq!(r.method, Method::Message);
    assert_eq!(r.body.len(), 553);
    assert!(r
        .content_type()
        .expect("type")
        .starts_with("multipart/mixed"));
    assert_eq!(r.top_via().expect("Via").rport(), Some(None));
    round_trips("mpart01");
}

#[test]
fn s3_1_1_12_unreason_unusual_reason_phrase() {
    let r = response("unreason");
    assert_eq!(r.status, 200);
    assert_eq!(r.reason, "= 2**3 * 5**2 но сто девяносто девять - простое");
    assert_eq!(r.body.len(), 154);
    round_trips("unreason");
}

#[test]
fn s3_1_1_13_noreason_empty_reason_phrase() {
    let r = response("noreason");
    assert_eq!(r.status, 100);
    assert_eq!(r.reason, "");
    round_trips("noreason");
}

// ------------------------------------------------------------ 3.1.2 invalid

#[test]
fn s3_1_2_1_badinv01_extraneous_separators() {
    answered("badinv01", 400, "Via");
}

#[test]
fn s3_1_2_2_clerr_content_length_larger_than_message() {
    let r = answered("clerr", 400, "Content-Length exceeds body");
    assert_eq!(r.reason, "Bad Request - Content-Length exceeds body");
}

#[test]
fn s3_1_2_3_ncl_negative_content_length() {
    answered("ncl", 400, "Content-Length");
}

#[test]
fn s3_1_2_4_scalar02_overlarge_request_scalars() {
    answered("scalar02", 400, "CSeq");
}

#[test]
fn s3_1_2_5_scalarlg_overlarge_response_scalars() {
    dropped("scalarlg", "CSeq");
}

#[test]
fn s3_1_2_6_quotbal_unterminated_quote() {
    answered("quotbal", 400, "To");
}

#[test]
fn s3_1_2_7_ltgtruri_angle_brackets_around_request_uri() {
    answered("ltgtruri", 400, "Request-URI");
}

#[test]
fn s3_1_2_8_lwsruri_lws_inside_request_uri() {
    answered("lwsruri", 400, "Request-Line");
}

#[test]
fn s3_1_2_9_lwsstart_multiple_sp_in_request_line() {
    answered("lwsstart", 400, "Request-Line");
}

#[test]
fn s3_1_2_10_trws_trailing_sp_in_request_line() {
    answered("trws", 400, "Request-Line");
}

#[test]
fn s3_1_2_11_escruri_headers_in_request_uri() {
    answered("escruri", 400, "Request-URI must not contain headers");
}

#[test]
fn s3_1_2_12_baddate_non_gmt_date() {
    answered("baddate", 400, "Date");
}

#[test]
fn s3_1_2_13_regbadct_unenclosed_uri_with_headers() {
    answered("regbadct", 400, "Contact");
}

#[test]
fn s3_1_2_14_badaspec_spaces_inside_angle_brackets() {
    answered("badaspec", 400, "To");
}

#[test]
fn s3_1_2_15_baddn_non_token_display_name() {
    answered("baddn", 400, "From");
}

#[test]
fn s3_1_2_16_badvers_unknown_protocol_version() {
    let r = answered("badvers", 505, "Version Not Supported");
    assert_eq!(
        r.headers.get("Call-ID"),
        Some("badvers.31417@c.example.com")
    );
}

#[test]
fn s3_1_2_17_mismatch01_cseq_method_mismatch() {
    answered("mismatch01", 400, "CSeq method");
}

#[test]
fn s3_1_2_18_mismatch02_unknown_method_cseq_mismatch() {
    answered("mismatch02", 400, "CSeq method");
}

#[test]
fn s3_1_2_19_bigcode_overlarge_status_code() {
    dropped("bigcode", "Status-Code");
}

// ------------------------------------------------------------ 3.2 transaction layer

#[test]
fn s3_2_1_badbranch_missing_transaction_id() {
    // Parses; the transaction layer must not treat "z9hG4bK" alone as an
    // RFC 3261 branch.
    let r = request("badbranch");
    let via = r.top_via().expect("Via");
    assert_eq!(via.branch(), Some("z9hG4bK"));
    assert!(!via.has_rfc3261_branch());
    round_trips("badbranch");
}

// ------------------------------------------------------------ 3.3 application layer

#[test]
fn s3_3_1_insuf_missing_required_headers() {
    let r = answered("insuf", 400, "missing From, To, Call-ID");
    assert_eq!(r.headers.get("CSeq"), Some("193942 INVITE"));
    assert!(r.headers.get("From").is_none(), "nothing is invented");
}

#[test]
fn s3_3_2_unkscm_unknown_request_uri_scheme() {
    // Well-formed; the application answers 416.
    let r = request("unkscm");
    let ruri = r.request_uri().expect("opaque URI");
    assert_eq!(ruri.scheme, "nobodyknowsthisscheme");
    assert!(!ruri.is_sip());
    round_trips("unkscm");
}

#[test]
fn s3_3_3_novelsc_known_atypical_scheme() {
    let r = request("novelsc");
    let ruri = r.request_uri().expect("opaque URI");
    assert_eq!(ruri.scheme, "soap.beep");
    assert!(!ruri.is_sip());
    round_trips("novelsc");
}

#[test]
fn s3_3_4_unksm2_unknown_schemes_in_headers() {
    let r = request("unksm2");
    assert_eq!(r.to().expect("To").uri.scheme, "isbn");
    assert_eq!(r.from().expect("From").uri.scheme, "http");
    assert_eq!(
        r.contact().expect("Contact").expect("one").uri.scheme,
        "name"
    );
    round_trips("unksm2");
}

#[test]
fn s3_3_5_bext01_require_and_proxy_require() {
    let r = request("bext01");
    assert_eq!(
        sip::parse::split_list(r.headers.get("Require").expect("Require")),
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    round_trips("bext01");
}

#[test]
fn s3_3_6_invut_unknown_content_type() {
    let r = request("invut");
    assert_eq!(r.content_type(), Some("application/unknownformat"));
    assert_eq!(r.body.len(), 40);
    round_trips("invut");
}

#[test]
fn s3_3_7_regaut01_unknown_authorization_scheme() {
    let r = request("regaut01");
    assert_eq!(
        r.headers.get("Authorization"),
        Some("NoOneKnowsThisScheme opaque-data=here")
    );
    round_trips("regaut01");
}

#[test]
fn s3_3_8_multi01_multiple_single_value_headers() {
    answered("multi01", 400, "multiple");
}

#[test]
fn s3_3_9_mcl01_multiple_content_length() {
    answered("mcl01", 400, "multiple Content-Length");
}

#[test]
fn s3_3_10_bcast_broadcast_via_in_response() {
    // Parses; the transport must refuse to send to a broadcast address.
    let r = response("bcast");
    assert_eq!(r.vias().expect("Vias")[1].host, "255.255.255.255");
    round_trips("bcast");
}

#[test]
fn s3_3_11_zeromf_max_forwards_zero() {
    let r = request("zeromf");
    assert_eq!(r.max_forwards().expect("MF"), Some(0));
    round_trips("zeromf");
}

#[test]
fn s3_3_12_cparam01_contact_header_parameter() {
    let c = request("cparam01")
        .contact()
        .expect("Contact")
        .expect("one");
    assert_eq!(c.param("unknownparam"), Some(""));
    assert!(c.uri.params.is_empty());
    round_trips("cparam01");
}

#[test]
fn s3_3_13_cparam02_contact_uri_parameter() {
    let c = request("cparam02")
        .contact()
        .expect("Contact")
        .expect("one");
    assert_eq!(c.uri.param("unknownparam"), Some(""));
    assert!(c.params.is_empty());
    round_trips("cparam02");
}

#[test]
fn s3_3_14_regescrt_escaped_header_in_contact() {
    let c = request("regescrt")
        .contact()
        .expect("Contact")
        .expect("one");
    assert_eq!(
        c.uri.headers,
        [("Route".to_string(), "%3Csip:sip.example.com%3E".to_string())]
    );
    assert_eq!(
        sip::uri::unescape(&c.uri.headers[0].1),
        "<sip:sip.example.com>"
    );
    round_trips("regescrt");
}

#[test]
fn s3_3_15_sdp01_unacceptable_accept() {
    let r = request("sdp01");
    assert_eq!(r.headers.get("Accept"), Some("text/nobodyKnowsThis"));
    round_trips("sdp01");
}

// ------------------------------------------------------------ 3.4 backward compatibility

#[test]
fn s3_4_1_inv2543_rfc2543_syntax() {
    let r = request("inv2543");
    assert_eq!(r.top_via().expect("Via").branch(), None);
    assert_eq!(r.from().expect("From").tag(), None);
    assert_eq!(r.max_forwards().expect("MF"), None);
    assert!(r.headers.get("Content-Length").is_none());
    assert_eq!(
        r.body,
        b"v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\nm=audio 49217 RTP/AVP 0\r\n"
    );
    round_trips("inv2543");
}

// ------------------------------------------------------------ coverage

/// Every file in the directory is one of the 49 classified above, and every
/// one of them (and every prefix of it, as a truncated datagram would be)
/// goes through the parser without panicking.
#[test]
fn all_49_messages_are_classified_and_nothing_panics() {
    const CLASSIFIED: [&str; 49] = [
        "wsinv",
        "intmeth",
        "esc01",
        "escnull",
        "esc02",
        "lwsdisp",
        "longreq",
        "dblreq",
        "semiuri",
        "transports",
        "mpart01",
        "unreason",
        "noreason",
        "badinv01",
        "clerr",
        "ncl",
        "scalar02",
        "scalarlg",
        "quotbal",
        "ltgtruri",
        "lwsruri",
        "lwsstart",
        "trws",
        "escruri",
        "baddate",
        "regbadct",
        "badaspec",
        "baddn",
        "badvers",
        "mismatch01",
        "mismatch02",
        "bigcode",
        "badbranch",
        "insuf",
        "unkscm",
        "novelsc",
        "unksm2",
        "bext01",
        "invut",
        "regaut01",
        "multi01",
        "mcl01",
        "bcast",
        "zeromf",
        "cparam01",
        "cparam02",
        "regescrt",
        "sdp01",
        "inv2543",
    ];
    let mut on_disk: Vec<String> = std::fs::read_dir(dir())
        .expect("test data directory")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".dat")
                .map(str::to_string)
        })
        .collect();
    on_disk.sort();
    let mut expected: Vec<String> = CLASSIFIED.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(on_disk, expected);
    for name in CLASSIFIED {
        let bytes = load(name);
        for cut in 0..=bytes.len() {
            let _ = parse_message(&bytes[..cut]);
        }
        let mut framer = sip::StreamFramer::new();
        framer.push(&bytes);
        while framer.next_message().is_some() {}
    }
}
