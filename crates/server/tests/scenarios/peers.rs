//! The far ends as scenario actors: an operator's softphone (registers with
//! digest, answers keepalives and INVITEs, hangs up) and the trunk placing a
//! customer's call. They write the text a real softphone or SIPp would.

use sip::auth::{authorization_for, Challenge};
use sip::{Method, Request, Response};
use switchboard::transport::Peer;

use crate::harness::{param, reply, sdp_offer, udp, Sim, SWITCH};

/// An operator's softphone.
pub struct Phone {
    pub user: String,
    pub password: String,
    /// Where its packets come from (the NAT's public side, if any).
    pub peer: Peer,
    /// What it writes in Via sent-by (its private address behind NAT).
    pub via: String,
    /// Its Contact URI (also private behind NAT).
    pub contact: String,
    pub call_id: String,
    pub cseq: u32,
    pub tag: String,
    branches: u32,
}

impl Phone {
    pub fn new(user: &str, password: &str, source: &str, local: &str) -> Phone {
        Phone {
            user: user.to_string(),
            password: password.to_string(),
            peer: udp(source),
            via: local.to_string(),
            contact: format!("sip:{user}@{local}"),
            call_id: format!("reg-{user}-0001@{local}"),
            cseq: 0,
            tag: format!("{user}tag1"),
            branches: 0,
        }
    }

    pub fn alice() -> Phone {
        Phone::new(
            "alice",
            "alice-secret-1",
            "198.51.100.10:5062",
            "198.51.100.10:5062",
        )
    }

    pub fn bob() -> Phone {
        Phone::new(
            "bob",
            "bob-secret-2",
            "198.51.100.20:5060",
            "198.51.100.20:5060",
        )
    }

    pub fn branch(&mut self) -> String {
        self.branches += 1;
        format!("z9hG4bK-{}-{}", self.user, self.branches)
    }

    /// A REGISTER with `contact_header` (e.g. `<sip:...>` or `*`), the
    /// Expires header if given, and an Authorization line if given.
    pub fn register_text(
        &mut self,
        contact_header: &str,
        expires: Option<u32>,
        authorization: Option<&str>,
    ) -> String {
        self.cseq += 1;
        let branch = self.branch();
        let mut s = format!(
            "REGISTER sip:192.0.2.1 SIP/2.0
            Via: SIP/2.0/UDP {via};rport;branch={branch}
            Max-Forwards: 70
            From: <sip:{user}@192.0.2.1>;tag={tag}
            To: <sip:{user}@192.0.2.1>
            Call-ID: {call_id}
            CSeq: {cseq} REGISTER
            Contact: {contact_header}
            User-Agent: baresip v3.10.1 (x86_64/linux)
            ",
            via = self.via,
            user = self.user,
            tag = self.tag,
            call_id = self.call_id,
            cseq = self.cseq,
        );
        if let Some(e) = expires {
            s.push_str(&format!("Expires: {e}\n"));
        }
        if let Some(a) = authorization {
            s.push_str(&format!("Authorization: {a}\n"));
        }
        s
    }

    /// The Authorization value answering a 401, with this phone's password
    /// (or `password` if given).
    pub fn authorization(&self, challenge: &Response, password: Option<&str>) -> String {
        let ch = Challenge::best(challenge.headers.get_all("WWW-Authenticate"))
            .expect("a digest challenge we can answer");
        authorization_for(
            &ch,
            &Method::Register,
            "sip:192.0.2.1",
            &self.user,
            password.unwrap_or(&self.password),
            "0a4f113b",
            1,
        )
        .expect("authorization")
    }

    /// REGISTER, 401, REGISTER with credentials, 200: returns the 200.
    pub fn register(&mut self, sim: &mut Sim, expires: u32) -> Response {
        let contact = format!("<{}>", self.contact);
        self.register_with(sim, &contact, Some(expires))
    }

    pub fn register_with(
        &mut self,
        sim: &mut Sim,
        contact_header: &str,
        expires: Option<u32>,
    ) -> Response {
        let first = self.register_text(contact_header, expires, None);
        sim.deliver(self.peer, &first);
        let challenge = sim.expect_response(self.peer, 401);
        let auth = self.authorization(&challenge, None);
        let second = self.register_text(contact_header, expires, Some(&auth));
        sim.deliver(self.peer, &second);
        sim.expect_response(self.peer, 200)
    }

    /// Answers every OPTIONS waiting for this phone with 200; returns how many.
    pub fn answer_keepalives(&self, sim: &mut Sim) -> usize {
        let pings: Vec<Request> = sim
            .take_to(self.peer)
            .into_iter()
            .filter_map(|s| s.request().cloned())
            .filter(|r| r.method == Method::Options)
            .collect();
        for p in &pings {
            let text = reply(p, 200, Some("ka"), "", "");
            sim.deliver(self.peer, &text);
        }
        pings.len()
    }

    /// This phone's answer to an INVITE from the switch.
    pub fn respond(&self, sim: &mut Sim, invite: &Request, status: u16, body: &str) {
        let contact = format!("Contact: <{}>", self.contact);
        let text = reply(invite, status, Some(&self.dialog_tag()), &contact, body);
        sim.deliver(self.peer, &text);
    }

    pub fn dialog_tag(&self) -> String {
        format!("{}-dlg", self.user)
    }

    /// The BYE this phone sends in the dialog `invite` (from the switch,
    /// answered by us) created.
    pub fn bye_text(&mut self, invite: &Request) -> String {
        let branch = self.branch();
        let target = contact_uri(invite.headers.get("Contact").expect("INVITE has Contact"));
        format!(
            "BYE {target} SIP/2.0
            Via: SIP/2.0/UDP {via};rport;branch={branch}
            Max-Forwards: 70
            From: {to};tag={tag}
            To: {from}
            Call-ID: {call_id}
            CSeq: 1 BYE
            ",
            via = self.via,
            to = invite.headers.get("To").expect("To"),
            tag = self.dialog_tag(),
            from = invite.headers.get("From").expect("From"),
            call_id = invite.headers.get("Call-ID").expect("Call-ID"),
        )
    }
}

/// The URI inside `<...>` of a Contact value (or the bare value).
pub fn contact_uri(value: &str) -> String {
    match (value.find('<'), value.find('>')) {
        (Some(a), Some(b)) if a < b => value[a + 1..b].to_string(),
        _ => value.split(';').next().unwrap_or(value).trim().to_string(),
    }
}

/// A customer's call arriving from the trunk, as SIPp's uac would send it.
pub struct TrunkCall {
    pub peer: Peer,
    pub number: String,
    pub caller: String,
    pub call_id: String,
    pub from_tag: String,
    pub invite_branch: String,
    /// Our (the switch's) tag once it answered.
    pub to_tag: Option<String>,
    /// The switch's Contact once it answered.
    pub remote_target: Option<String>,
    pub cseq: u32,
}

impl TrunkCall {
    pub fn new(peer: Peer, number: &str, id: &str) -> TrunkCall {
        TrunkCall {
            peer,
            number: number.to_string(),
            caller: "+79161234567".to_string(),
            call_id: format!("{id}@203.0.113.5"),
            from_tag: format!("{id}-ft"),
            invite_branch: format!("z9hG4bK-{id}-inv"),
            to_tag: None,
            remote_target: None,
            cseq: 1,
        }
    }

    pub fn invite(&self) -> String {
        format!(
            "INVITE sip:{number}@{SWITCH} SIP/2.0
            Via: SIP/2.0/UDP {src};branch={branch}
            From: \"{caller}\" <sip:{caller}@203.0.113.5>;tag={tag}
            To: <sip:{number}@192.0.2.1>
            Call-ID: {call_id}
            CSeq: 1 INVITE
            Contact: <sip:{caller}@{src}>
            Max-Forwards: 70
            Subject: Performance Test
            Content-Type: application/sdp
            --
            {sdp}",
            number = self.number,
            src = self.peer.addr,
            branch = self.invite_branch,
            caller = self.caller,
            tag = self.from_tag,
            call_id = self.call_id,
            sdp = sdp_offer("203.0.113.50", 40000),
        )
    }

    /// Learns the switch's tag and Contact from its 2xx.
    pub fn answered(&mut self, ok: &Response) {
        self.to_tag = param(ok.headers.get("To").expect("To"), "tag").map(str::to_string);
        self.remote_target = ok.headers.get("Contact").map(contact_uri);
    }

    fn to_header(&self) -> String {
        match &self.to_tag {
            Some(t) => format!("<sip:{}@192.0.2.1>;tag={t}", self.number),
            None => format!("<sip:{}@192.0.2.1>", self.number),
        }
    }

    /// ACK for a non-2xx final response: same branch as the INVITE
    /// (RFC 3261 17.1.1.3), To tag of that response.
    pub fn ack_failure(&self, resp: &Response) -> String {
        let to = resp.headers.get("To").expect("To");
        format!(
            "ACK sip:{number}@{SWITCH} SIP/2.0
            Via: SIP/2.0/UDP {src};branch={branch}
            From: \"{caller}\" <sip:{caller}@203.0.113.5>;tag={tag}
            To: {to}
            Call-ID: {call_id}
            CSeq: 1 ACK
            Max-Forwards: 70
            ",
            number = self.number,
            src = self.peer.addr,
            branch = self.invite_branch,
            caller = self.caller,
            tag = self.from_tag,
            call_id = self.call_id,
        )
    }

    /// ACK for the 2xx: a new transaction to the switch's Contact.
    pub fn ack(&self) -> String {
        self.in_dialog("ACK", 1, "ack")
    }

    pub fn cancel(&self) -> String {
        format!(
            "CANCEL sip:{number}@{SWITCH} SIP/2.0
            Via: SIP/2.0/UDP {src};branch={branch}
            From: \"{caller}\" <sip:{caller}@203.0.113.5>;tag={tag}
            To: <sip:{number}@192.0.2.1>
            Call-ID: {call_id}
            CSeq: 1 CANCEL
            Max-Forwards: 70
            ",
            number = self.number,
            src = self.peer.addr,
            branch = self.invite_branch,
            caller = self.caller,
            tag = self.from_tag,
            call_id = self.call_id,
        )
    }

    pub fn bye(&mut self) -> String {
        self.cseq += 1;
        self.in_dialog("BYE", self.cseq, "bye")
    }

    /// A DTMF INFO as SIP INFO (application/dtmf-relay).
    pub fn info_dtmf(&mut self, digit: char) -> String {
        self.cseq += 1;
        let mut s = self.in_dialog("INFO", self.cseq, "info");
        s.push_str(&format!(
            "Content-Type: application/dtmf-relay\n--\nSignal={digit}\nDuration=160\n"
        ));
        s
    }

    fn in_dialog(&self, method: &str, cseq: u32, what: &str) -> String {
        let target = self
            .remote_target
            .clone()
            .unwrap_or_else(|| format!("sip:{}@{SWITCH}", self.number));
        format!(
            "{method} {target} SIP/2.0
            Via: SIP/2.0/UDP {src};branch=z9hG4bK-{id}-{what}{cseq}
            From: \"{caller}\" <sip:{caller}@203.0.113.5>;tag={tag}
            To: {to}
            Call-ID: {call_id}
            CSeq: {cseq} {method}
            Max-Forwards: 70
            ",
            src = self.peer.addr,
            id = self.from_tag,
            caller = self.caller,
            tag = self.from_tag,
            to = self.to_header(),
            call_id = self.call_id,
        )
    }

    /// 200 to a request the switch sent on this leg (its BYE).
    pub fn ok_to(&self, req: &Request) -> String {
        reply(req, 200, None, "", "")
    }
}
