//! Property tests: generated requests and responses survive
//! serialise-then-parse unchanged, typed header views print back to text
//! that parses to the same value, and the parser and framer never panic on
//! arbitrary or mutated input.

use proptest::prelude::*;
use sip::{
    parse_message, CSeq, Message, Method, NameAddr, Request, Response, SipUri, StreamFramer, Via,
};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,11}"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9-]{0,8}){0,2}",
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        any::<[u16; 8]>().prop_map(|s| format!("[{}]", std::net::Ipv6Addr::from(s))),
    ]
}

/// Header parameters: tokens (which may contain `%` and backquote).
fn params() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    prop::collection::vec((token(), prop::option::of(token())), 0..3)
}

/// URI parameters: unreserved characters and valid escapes only.
fn uri_params() -> impl Strategy<Value = Vec<(String, Option<String>)>> {
    let pchar = "[A-Za-z0-9.!*_~'()-]{1,8}(%[0-9a-fA-F]{2})?";
    prop::collection::vec((pchar, prop::option::of(pchar)), 0..3)
}

fn sip_uri() -> impl Strategy<Value = SipUri> {
    (
        prop::option::of("[a-zA-Z0-9_.!~*'()&=+$,;?/-]{1,10}|%[0-9A-F]{2}[a-z]{1,4}"),
        host(),
        prop::option::of(any::<u16>()),
        uri_params(),
        prop::bool::ANY,
    )
        .prop_map(|(user, host, port, params, sips)| SipUri {
            scheme: if sips { "sips" } else { "sip" }.to_string(),
            user,
            password: None,
            host,
            port,
            params,
            headers: Vec::new(),
        })
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        prop::option::of("[ -~\u{e9}\u{4e2d}]{0,12}"),
        sip_uri(),
        params(),
    )
        .prop_map(|(display, uri, params)| NameAddr {
            display,
            uri,
            params,
        })
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop_oneof!["UDP", "TCP", "TLS", "WS"],
        host(),
        prop::option::of(any::<u16>()),
        "z9hG4bK[a-zA-Z0-9]{1,16}",
        prop::bool::ANY,
    )
        .prop_map(|(t, h, p, b, rport)| {
            let mut v = Via::new(&t, &h, p, &b);
            if rport {
                v.set_param("rport", None);
            }
            v
        })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Options),
        Just(Method::Register),
        Just(Method::Info),
        Just(Method::Message),
        "[A-Z][A-Z-]{2,10}".prop_map(|s| Method::from_token(&s)),
    ]
}

/// Headers every message needs, then some extension headers.
fn common_headers(method: Method) -> impl Strategy<Value = Vec<(String, String)>> {
    (
        prop::collection::vec(via(), 1..4),
        name_addr(),
        name_addr(),
        "[a-zA-Z0-9.@-]{1,30}",
        any::<u32>(),
        prop::collection::vec(name_addr(), 0..3),
        prop::collection::vec(("X-[A-Za-z0-9-]{1,10}", "[!-~]([ -~]{0,20}[!-~])?"), 0..3),
    )
        .prop_map(move |(vias, from, to, call_id, seq, contacts, extra)| {
            let mut h = Vec::new();
            for v in vias {
                h.push(("Via".to_string(), v.to_string()));
            }
            h.push(("From".to_string(), from.to_string()));
            h.push(("To".to_string(), to.to_string()));
            h.push(("Call-ID".to_string(), call_id));
            h.push((
                "CSeq".to_string(),
                CSeq::new(seq, method.clone()).to_string(),
            ));
            if !contacts.is_empty() {
                let list: Vec<String> = contacts.iter().map(|c| c.to_string()).collect();
                h.push(("Contact".to_string(), list.join(", ")));
            }
            h.extend(extra);
            h
        })
}

fn request() -> impl Strategy<Value = Request> {
    method().prop_flat_map(|m| {
        (
            Just(m.clone()),
            sip_uri(),
            common_headers(m),
            prop::collection::vec(any::<u8>(), 0..200),
        )
            .prop_map(|(method, uri, headers, body)| {
                let mut r = Request::new(method, uri.to_string());
                for (n, v) in headers {
                    r.headers.push(n, v);
                }
                r.headers.push("Max-Forwards", "70");
                r.body = body;
                r
            })
    })
}

fn response() -> impl Strategy<Value = Response> {
    (
        100u16..700,
        "[ -~]{0,20}",
        method().prop_flat_map(common_headers),
        prop::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(status, reason, headers, body)| {
            let mut r = Response::new(status, reason.trim());
            for (n, v) in headers {
                r.headers.push(n, v);
            }
            r.body = body;
            r
        })
}

/// What the parser should give back: the same message with the one
/// Content-Length the serializer wrote.
fn with_length(mut m: Message) -> Message {
    let len = m.body().len().to_string();
    m.headers_mut().push("Content-Length", len);
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn requests_round_trip(r in request()) {
        let m = Message::Request(r);
        let parsed = parse_message(&m.to_bytes());
        prop_assert_eq!(parsed, Ok(with_length(m)));
    }

    #[test]
    fn responses_round_trip(r in response()) {
        let m = Message::Response(r);
        let parsed = parse_message(&m.to_bytes());
        prop_assert_eq!(parsed, Ok(with_length(m)));
    }

    #[test]
    fn typed_views_round_trip(u in sip_uri(), n in name_addr(), v in via()) {
        prop_assert_eq!(SipUri::parse(&u.to_string()), Ok(u));
        prop_assert_eq!(NameAddr::parse(&n.to_string()), Ok(n));
        prop_assert_eq!(Via::parse(&v.to_string()), Ok(v));
    }

    #[test]
    fn stream_framing_recovers_messages(reqs in prop::collection::vec(request(), 1..4), chunk in 1usize..300) {
        let mut stream = Vec::new();
        for r in &reqs {
            stream.extend(b"\r\n");
            stream.extend(r.to_bytes());
        }
        let mut f = StreamFramer::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            f.push(piece);
            while let Some(m) = f.next_message() {
                got.push(parse_message(&m.expect("frames")).expect("parses"));
            }
        }
        let want: Vec<Message> = reqs.into_iter().map(|r| with_length(Message::Request(r))).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_message(&data);
        let mut f = StreamFramer::new();
        f.push(&data);
        while f.next_message().is_some() {}
    }

    #[test]
    fn mutated_messages_never_panic(
        r in request(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = r.to_bytes();
        for (i, b) in edits {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        if let Err(e) = parse_message(&bytes) {
            // Any rejection of a request still yields a well-formed reply or none.
            if let Some(reply) = e.bad_request_response() {
                prop_assert!(reply.status >= 400);
                let _ = reply.to_bytes();
            }
        }
    }
}
