//! The scenario driver: one `switch::Core` on a simulated clock, a media
//! double that records what the core asked of it, and helpers that build SIP
//! messages as text the way SIPp or a softphone would put them on the wire.
//!
//! Every message the core sends is parsed back with `sip::parse_message`, so
//! the tests assert on what a real peer would receive.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sip::{Message, Method, Request, Response};
use switchboard::media::{LegId, MediaControl};
use switchboard::switch::{Core, Effect, WallClock};
use switchboard::transport::{Peer, Transport};

/// The test config: the shipped example with documentation addresses, so
/// trunk, operators and strangers are told apart by source address.
pub const CONFIG: &str = r#"
[server]
sip_listen = "0.0.0.0:5060"
public_address = "192.0.2.1"
rtp_ports = "20000-29999"
ring_timeout = 30
node_id = "node1"

[registrar]
realm = "switchboard"
min_expires = 60
max_expires = 3600
default_expires = 600
keepalive_interval = 30
keepalive_max_missed = 2
nonce_ttl = 300

[[trunk]]
name = "demo"
addresses = ["203.0.113.5"]
proxy = "203.0.113.5:5060"
caller_id = "+74950000000"

[trunk.outbound]
prefixes = ["+7", "8"]
min_digits = 11
max_digits = 11

[[group]]
name = "sales"

[[group]]
name = "night"

[[operator]]
username = "alice"
password = "alice-secret-1"
display_name = "Alice"
can_call_out = true
groups = ["sales"]

[[operator]]
username = "bob"
password = "bob-secret-2"
display_name = "Bob"
can_call_out = false
groups = ["sales"]

[[operator]]
username = "carol"
password = "carol-secret-3"
groups = ["night"]

[[number]]
number = "+74950000001"
name = "promo"
landing_page = "https://shop.example/promo"
campaign = "spring-sale"
ring = { group = "sales" }

[[number]]
number = "+74950000002"
name = "night-line"
ring = { group = "night", timeout = 20 }
"#;

/// Our public address as the config states it.
pub const SWITCH: &str = "192.0.2.1:5060";
/// Wall clock at the simulated origin.
pub const UNIX_AT_ORIGIN: u64 = 1_800_000_000;

pub fn udp(addr: &str) -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: addr.parse().expect("test address"),
    }
}

/// The trunk's signalling address (in the config's allow-list).
pub fn trunk() -> Peer {
    udp("203.0.113.5:5060")
}

/// One thing the core asked of the media engine.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaOp {
    Open(LegId, u16),
    Configure(LegId, sdp::NegotiatedAudio),
    Bridge(LegId, LegId),
    Ringback(LegId),
    Close(LegId),
    /// Clips by name (their file path), and whether they loop.
    Play(LegId, Vec<String>, bool),
    Stop(LegId),
    /// Caller and operator channels, and the name asked for the file.
    Record(LegId, LegId, String),
    /// What both legs hear as the recording starts: "none", "beep" or the
    /// prompt clip's name.
    Notice(String),
    /// A one-leg recording: the leg, the file name, the silence limit.
    RecordMono(LegId, String, Option<Duration>),
    StopRecording(LegId),
    /// The leg's own audio is sent back to it (echo test).
    Echo(LegId),
    /// The leg went on hold (`true`) or came back (`false`).
    Hold(LegId, bool),
}

#[derive(Debug, Default)]
pub struct MediaLog {
    pub ops: Vec<MediaOp>,
    pub next: u64,
    /// Makes `open_leg` fail (port range exhausted).
    pub exhausted: bool,
}

impl MediaLog {
    pub fn open(&self) -> Vec<LegId> {
        self.ops
            .iter()
            .filter_map(|o| match o {
                MediaOp::Open(l, _) => Some(*l),
                _ => None,
            })
            .collect()
    }

    pub fn closed(&self) -> Vec<LegId> {
        self.ops
            .iter()
            .filter_map(|o| match o {
                MediaOp::Close(l) => Some(*l),
                _ => None,
            })
            .collect()
    }

    pub fn bridges(&self) -> Vec<(LegId, LegId)> {
        self.ops
            .iter()
            .filter_map(|o| match o {
                MediaOp::Bridge(a, b) => Some((*a, *b)),
                _ => None,
            })
            .collect()
    }

    /// Legs opened and not (yet) closed.
    pub fn live(&self) -> Vec<LegId> {
        let closed = self.closed();
        self.open()
            .into_iter()
            .filter(|l| !closed.contains(l))
            .collect()
    }

    /// What was played into `leg`, in order: clip file names and looping.
    pub fn plays(&self, leg: LegId) -> Vec<(Vec<String>, bool)> {
        self.ops
            .iter()
            .filter_map(|o| match o {
                MediaOp::Play(l, clips, looping) if *l == leg => {
                    let names = clips
                        .iter()
                        .map(|c| {
                            std::path::Path::new(c)
                                .file_name()
                                .map_or(c.clone(), |n| n.to_string_lossy().into_owned())
                        })
                        .collect();
                    Some((names, *looping))
                }
                _ => None,
            })
            .collect()
    }

    /// Index of the first op matching `f` (to check what came first).
    pub fn position(&self, f: impl Fn(&MediaOp) -> bool) -> Option<usize> {
        self.ops.iter().position(f)
    }

    pub fn port_of(&self, leg: LegId) -> Option<u16> {
        self.ops.iter().find_map(|o| match o {
            MediaOp::Open(l, p) if *l == leg => Some(*p),
            _ => None,
        })
    }
}

/// The signalling tests' media engine: hands out ports, records every call.
pub struct MediaDouble(pub Arc<Mutex<MediaLog>>);

impl MediaControl for MediaDouble {
    fn open_leg(&mut self) -> std::io::Result<(LegId, u16)> {
        let mut log = self.0.lock().expect("media log");
        if log.exhausted {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                "no free RTP port",
            ));
        }
        log.next += 1;
        let leg = LegId(log.next);
        let port = 20000 + 2 * log.next as u16;
        log.ops.push(MediaOp::Open(leg, port));
        Ok((leg, port))
    }

    fn configure(&mut self, leg: LegId, audio: &sdp::NegotiatedAudio) {
        let mut log = self.0.lock().expect("media log");
        log.ops.push(MediaOp::Configure(leg, audio.clone()));
    }

    fn bridge(&mut self, a: LegId, b: LegId) {
        self.0
            .lock()
            .expect("media log")
            .ops
            .push(MediaOp::Bridge(a, b));
    }

    fn ringback(&mut self, leg: LegId) {
        self.0
            .lock()
            .expect("media log")
            .ops
            .push(MediaOp::Ringback(leg));
    }

    fn close_leg(&mut self, leg: LegId) {
        self.0
            .lock()
            .expect("media log")
            .ops
            .push(MediaOp::Close(leg));
    }

    fn play(&mut self, leg: LegId, clips: Vec<media::player::Clip>, looping: bool) {
        let names = clips.iter().map(|c| c.name().to_string()).collect();
        let mut log = self.0.lock().expect("media log");
        log.ops.push(MediaOp::Play(leg, names, looping));
    }

    fn stop(&mut self, leg: LegId) {
        let mut log = self.0.lock().expect("media log");
        log.ops.push(MediaOp::Stop(leg));
    }

    fn start_recording(
        &mut self,
        caller: LegId,
        operator: LegId,
        call_id: &str,
        notice: switchboard::media::Notice,
    ) -> Option<std::path::PathBuf> {
        let mut log = self.0.lock().expect("media log");
        log.ops
            .push(MediaOp::Record(caller, operator, call_id.to_string()));
        let notice = match notice {
            switchboard::media::Notice::None => "none".to_string(),
            switchboard::media::Notice::Beep => "beep".to_string(),
            switchboard::media::Notice::Prompt(clip) => clip.name().to_string(),
        };
        log.ops.push(MediaOp::Notice(notice));
        Some(std::path::PathBuf::from(format!("/rec/{call_id}.wav")))
    }

    fn start_recording_mono(
        &mut self,
        leg: LegId,
        name: &str,
        silence: Option<Duration>,
    ) -> Option<std::path::PathBuf> {
        let mut log = self.0.lock().expect("media log");
        log.ops
            .push(MediaOp::RecordMono(leg, name.to_string(), silence));
        Some(std::path::PathBuf::from(format!("/rec/{name}.wav")))
    }

    fn stop_recording(&mut self, leg: LegId) {
        let mut log = self.0.lock().expect("media log");
        log.ops.push(MediaOp::StopRecording(leg));
    }

    fn echo(&mut self, leg: LegId) {
        let mut log = self.0.lock().expect("media log");
        log.ops.push(MediaOp::Echo(leg));
    }

    fn set_hold(&mut self, leg: LegId, on_hold: bool) {
        let mut log = self.0.lock().expect("media log");
        log.ops.push(MediaOp::Hold(leg, on_hold));
    }
}

/// A message the core sent, parsed.
#[derive(Debug, Clone)]
pub struct Sent {
    pub at: Instant,
    pub peer: Peer,
    pub msg: Message,
}

impl Sent {
    pub fn request(&self) -> Option<&Request> {
        match &self.msg {
            Message::Request(r) => Some(r),
            _ => None,
        }
    }

    pub fn response(&self) -> Option<&Response> {
        match &self.msg {
            Message::Response(r) => Some(r),
            _ => None,
        }
    }

    pub fn is_request(&self, method: &Method) -> bool {
        self.request().is_some_and(|r| &r.method == method)
    }

    pub fn is_response(&self, status: u16) -> bool {
        self.response().is_some_and(|r| r.status == status)
    }
}

pub struct Sim {
    pub core: Core,
    pub origin: Instant,
    pub now: Instant,
    pub media: Arc<Mutex<MediaLog>>,
    /// Sent and not yet taken by the test.
    pub outbox: Vec<Sent>,
    pub saved: Vec<store::Registration>,
    pub removed: Vec<(String, String)>,
    pub records: Vec<store::CallRecord>,
    /// `Effect::CallMedia` updates: (node id, record id, figures).
    pub media_updates: Vec<(String, String, store::CallMedia)>,
    pub voicemails: Vec<store::VoicemailMessage>,
    /// Messages the core sent that do not parse; a panic unless allowed.
    pub unparsable: Vec<Vec<u8>>,
    pub allow_unparsable: bool,
}

impl Sim {
    pub fn new() -> Sim {
        Sim::with_config(CONFIG)
    }

    pub fn with_config(text: &str) -> Sim {
        Sim::with_config_at(text, UNIX_AT_ORIGIN)
    }

    /// A core whose wall clock reads `unix` at the simulated origin (for
    /// business hours).
    pub fn with_config_at(text: &str, unix: u64) -> Sim {
        let plan = dialplan::load_str("test.toml", text).expect("test config is valid");
        Sim::with_plan_at(Arc::new(plan), unix)
    }

    pub fn with_plan_at(plan: Arc<dialplan::Plan>, unix: u64) -> Sim {
        // The simulated clock's origin: the only clock reading in these
        // tests; everything after is origin + simulated durations.
        #[allow(clippy::disallowed_methods)]
        let origin = Instant::now();
        let media = Arc::new(Mutex::new(MediaLog::default()));
        let listen: SocketAddr = "0.0.0.0:5060".parse().expect("listen address");
        let core = Core::new(
            plan,
            Box::new(MediaDouble(media.clone())),
            listen,
            WallClock { at: origin, unix },
            7,
        );
        Sim {
            core,
            origin,
            now: origin,
            media,
            outbox: Vec::new(),
            saved: Vec::new(),
            removed: Vec::new(),
            records: Vec::new(),
            media_updates: Vec::new(),
            voicemails: Vec::new(),
            unparsable: Vec::new(),
            allow_unparsable: false,
        }
    }

    pub fn media(&self) -> std::sync::MutexGuard<'_, MediaLog> {
        self.media.lock().expect("media log")
    }

    /// Seconds since the origin (for messages).
    pub fn elapsed(&self) -> Duration {
        self.now - self.origin
    }

    /// Delivers raw bytes from `from`.
    pub fn deliver_bytes(&mut self, from: Peer, data: &[u8]) {
        self.core.handle_message(from, data, self.now);
        self.drain();
    }

    /// Delivers a message written as text (see `wire`).
    pub fn deliver(&mut self, from: Peer, text: &str) {
        let data = wire(text);
        self.deliver_bytes(from, &data);
    }

    /// Hands the core an event from the media engine.
    pub fn media_event(&mut self, event: switchboard::media::MediaEvent) {
        self.core.handle_media_event(event, self.now);
        self.drain();
    }

    /// Hands the core a report from the media engine.
    pub fn media_report(&mut self, report: switchboard::media::MediaReport) {
        self.core.handle_media_report(report, self.now);
        self.drain();
    }

    /// Moves the clock forward by `d`, firing every timer due on the way at
    /// its own moment.
    pub fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        let mut spins = 0;
        while let Some(t) = self.core.poll_timeout() {
            if t > target {
                break;
            }
            spins += 1;
            assert!(
                spins < 100_000,
                "timer busy loop: poll_timeout keeps returning {:?} after handle_timeout",
                t - self.origin
            );
            self.now = self.now.max(t);
            self.core.handle_timeout(self.now);
            self.drain();
        }
        self.now = target;
    }

    pub fn advance_ms(&mut self, ms: u64) {
        self.advance(Duration::from_millis(ms));
    }

    pub fn advance_s(&mut self, s: u64) {
        self.advance(Duration::from_secs(s));
    }

    fn drain(&mut self) {
        while let Some(e) = self.core.poll_effect() {
            match e {
                Effect::Send { peer, data } => {
                    let msg = match sip::parse_message(&data) {
                        Ok(m) => m,
                        Err(_) if self.allow_unparsable => {
                            self.unparsable.push(data);
                            continue;
                        }
                        Err(err) => panic!(
                            "the core sent an unparsable message ({err:?}):\n{}",
                            String::from_utf8_lossy(&data)
                        ),
                    };
                    self.outbox.push(Sent {
                        at: self.now,
                        peer,
                        msg,
                    });
                }
                Effect::SaveBinding(r) => self.saved.push(r),
                Effect::RemoveBinding { username, contact } => {
                    self.removed.push((username, contact))
                }
                Effect::CallRecord(r) => self.records.push(r),
                Effect::Voicemail(m) => self.voicemails.push(m),
                Effect::CallMedia { node_id, id, media } => {
                    self.media_updates.push((node_id, id, media))
                }
            }
        }
    }

    /// Everything sent since the last take.
    pub fn take(&mut self) -> Vec<Sent> {
        std::mem::take(&mut self.outbox)
    }

    /// Takes and returns what was sent to `peer`, leaving the rest.
    pub fn take_to(&mut self, peer: Peer) -> Vec<Sent> {
        let (mine, rest): (Vec<_>, Vec<_>) = self.outbox.drain(..).partition(|s| s.peer == peer);
        self.outbox = rest;
        mine
    }

    /// The one response with `status` sent to `peer` (taken); panics with
    /// the outbox when there is none.
    pub fn expect_response(&mut self, peer: Peer, status: u16) -> Response {
        let i = self
            .outbox
            .iter()
            .position(|s| s.peer == peer && s.is_response(status))
            .unwrap_or_else(|| {
                panic!(
                    "expected {status} to {:?}; outbox:\n{}",
                    peer.addr,
                    self.dump()
                )
            });
        match self.outbox.remove(i).msg {
            Message::Response(r) => r,
            Message::Request(_) => unreachable!(),
        }
    }

    /// The first `method` request sent to `peer` (taken).
    pub fn expect_request(&mut self, peer: Peer, method: Method) -> Request {
        let i = self
            .outbox
            .iter()
            .position(|s| s.peer == peer && s.is_request(&method))
            .unwrap_or_else(|| {
                panic!(
                    "expected {method:?} to {:?}; outbox:\n{}",
                    peer.addr,
                    self.dump()
                )
            });
        match self.outbox.remove(i).msg {
            Message::Request(r) => r,
            Message::Response(_) => unreachable!(),
        }
    }

    /// Whether any not-yet-taken message to `peer` matches.
    pub fn count(&self, peer: Peer, f: impl Fn(&Sent) -> bool) -> usize {
        self.outbox
            .iter()
            .filter(|s| s.peer == peer && f(s))
            .count()
    }

    pub fn dump(&self) -> String {
        self.outbox
            .iter()
            .map(|s| {
                let first = match &s.msg {
                    Message::Request(r) => format!("{} {}", r.method.as_str(), r.uri),
                    Message::Response(r) => format!("{} {}", r.status, r.reason),
                };
                format!("  +{:?} -> {}: {first}\n", s.at - self.origin, s.peer.addr)
            })
            .collect()
    }

    pub fn record(&self) -> &store::CallRecord {
        assert_eq!(
            self.records.len(),
            1,
            "expected exactly one call record: {:#?}",
            self.records
        );
        &self.records[0]
    }
}

/// Text to wire bytes: lines are trimmed at the start (so messages can be
/// indented in the source) and end with CRLF, blank lines are dropped, and
/// `Content-Length` plus the body (the lines after a line `--`, if any, kept
/// as written) are appended.
pub fn wire(text: &str) -> Vec<u8> {
    let mut head = String::new();
    let mut body: Option<String> = None;
    for line in text.lines() {
        match &mut body {
            Some(b) => {
                b.push_str(line.trim_start());
                b.push_str("\r\n");
            }
            None if line.trim() == "--" => body = Some(String::new()),
            None if line.trim().is_empty() => {}
            None => {
                head.push_str(line.trim());
                head.push_str("\r\n");
            }
        }
    }
    let body = body.unwrap_or_default();
    let mut out = head;
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    out.push_str(&body);
    out.into_bytes()
}

/// An SDP offer like a softphone or SIPp sends (PCMU, PCMA, telephone-event).
pub fn sdp_offer(ip: &str, port: u16) -> String {
    format!(
        "v=0\no=- 1000 1 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\n\
         m=audio {port} RTP/AVP 0 8 101\na=rtpmap:0 PCMU/8000\na=rtpmap:8 PCMA/8000\n\
         a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=ptime:20\na=sendrecv\n"
    )
}

/// An SDP answer choosing PCMU.
pub fn sdp_answer(ip: &str, port: u16) -> String {
    format!(
        "v=0\no=- 2000 1 IN IP4 {ip}\ns=-\nc=IN IP4 {ip}\nt=0 0\n\
         m=audio {port} RTP/AVP 0 101\na=rtpmap:0 PCMU/8000\n\
         a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=sendrecv\n"
    )
}

/// Parses an SDP body the core sent.
pub fn parse_sdp(body: &[u8]) -> sdp::SessionDescription {
    sdp::SessionDescription::parse(body).unwrap_or_else(|e| {
        panic!(
            "core sent bad SDP ({e}):\n{}",
            String::from_utf8_lossy(body)
        )
    })
}

/// The port and connection address of the first audio stream.
pub fn audio_target(sdp: &sdp::SessionDescription) -> (String, u16) {
    let (_, m) = sdp.first_audio().expect("an audio stream");
    let c = sdp.effective_connection(m).expect("a c= line");
    (c.address.clone(), m.port)
}

/// A response a UA would send to `req`: Via, From, Call-ID and CSeq copied,
/// To copied with `to_tag` added, `extra` header lines, and `body` (SDP).
pub fn reply(req: &Request, status: u16, to_tag: Option<&str>, extra: &str, body: &str) -> String {
    let reason = Response::default_reason(status);
    let mut s = format!("SIP/2.0 {status} {reason}\n");
    for v in req.headers.get_all("Via") {
        s.push_str(&format!("Via: {v}\n"));
    }
    s.push_str(&format!(
        "From: {}\n",
        req.headers.get("From").expect("From")
    ));
    let to = req.headers.get("To").expect("To");
    match to_tag {
        Some(t) if !to.contains(";tag=") => s.push_str(&format!("To: {to};tag={t}\n")),
        _ => s.push_str(&format!("To: {to}\n")),
    }
    s.push_str(&format!(
        "Call-ID: {}\n",
        req.headers.get("Call-ID").expect("Call-ID")
    ));
    s.push_str(&format!(
        "CSeq: {}\n",
        req.headers.get("CSeq").expect("CSeq")
    ));
    for line in extra.lines().filter(|l| !l.trim().is_empty()) {
        s.push_str(line.trim());
        s.push('\n');
    }
    if !body.is_empty() {
        s.push_str("Content-Type: application/sdp\n--\n");
        s.push_str(body);
    }
    s
}

/// The value of a `name=value` parameter in a header value.
pub fn param<'a>(value: &'a str, name: &str) -> Option<&'a str> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        k.trim().eq_ignore_ascii_case(name).then_some(v.trim())
    })
}

/// The tag of the To header.
pub fn to_tag(m: &impl HasHeaders) -> String {
    m.header("To")
        .and_then(|t| param(t, "tag").map(str::to_string))
        .expect("To has a tag")
}

pub trait HasHeaders {
    fn header(&self, name: &str) -> Option<&str>;
}

impl HasHeaders for Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}

impl HasHeaders for Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }
}
