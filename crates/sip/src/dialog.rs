//! RFC 3261 section 12 dialogs: the state two UAs share between an INVITE's
//! 1xx/2xx and the BYE. A `Dialog` is plain data plus rules; it neither sends
//! nor times anything (the transaction layer does), so it needs no `now`.
//!
//! The TU keeps its dialogs in a map keyed by [`DialogId`]; an incoming
//! in-dialog request finds its dialog with [`DialogId::of_request`] (no
//! match: answer 481), passes [`Dialog::receive_request`] (CSeq order,
//! target refresh), and requests of our own come from [`Dialog::request`]
//! and, for the ACK of a 2xx, [`Dialog::ack`].

use crate::error::SipError;
use crate::headers::{CSeq, NameAddr, Via};
use crate::message::{Method, Request, Response};
use crate::uri::SipUri;

/// Call-ID plus both tags (12): what identifies a dialog at one UA. "Local"
/// and "remote" are from this UA's point of view.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

impl DialogId {
    /// The dialog an incoming request claims to belong to: our tag is in To,
    /// theirs in From. `None` for a request outside any dialog (no To tag)
    /// or missing the headers.
    pub fn of_request(request: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: request.call_id().ok()?.to_string(),
            local_tag: request.to().ok()?.tag()?.to_string(),
            remote_tag: request.from().ok()?.tag().unwrap_or_default().to_string(),
        })
    }

    /// The dialog a response to one of our requests belongs to: our tag is in
    /// From, theirs in To. `None` when To has no tag (a 100, or no dialog).
    pub fn of_response(response: &Response) -> Option<DialogId> {
        Some(DialogId {
            call_id: response.call_id().ok()?.to_string(),
            local_tag: response.from().ok()?.tag()?.to_string(),
            remote_tag: response.to().ok()?.tag()?.to_string(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a 1xx with a To tag; a 2xx confirms it, a non-2xx ends it.
    Early,
    Confirmed,
    Terminated,
}

/// Which side of the INVITE created the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Uac,
    Uas,
}

/// Why an in-dialog request was refused, with the status to answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// Call-ID or tags differ, or the dialog is over: 481.
    #[error("request does not belong to this dialog")]
    NoSuchDialog,
    /// 12.2.2: a CSeq lower than the last one seen is out of order: 500.
    #[error("CSeq {got} is lower than the dialog's remote CSeq {last}")]
    OutOfOrder { got: u32, last: u32 },
    /// A header the dialog needs is missing or malformed: 400.
    #[error(transparent)]
    Message(#[from] SipError),
}

impl DialogError {
    /// The response status RFC 3261 prescribes for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            DialogError::NoSuchDialog => 481,
            DialogError::OutOfOrder { .. } => 500,
            DialogError::Message(_) => 400,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    id: DialogId,
    role: Role,
    state: DialogState,
    /// Last CSeq number we used; the next request uses one more.
    local_seq: u32,
    /// Last CSeq number the peer used; `None` until it sends a request
    /// (a UAC learns it from the first in-dialog request it receives).
    remote_seq: Option<u32>,
    /// Our From (UAC) or To (UAS) with our tag.
    local: NameAddr,
    /// Their To (UAC) or From (UAS) with their tag.
    remote: NameAddr,
    /// Where in-dialog requests go: the peer's Contact.
    remote_target: SipUri,
    /// Record-Route, in the order our requests must carry it as Route.
    route_set: Vec<NameAddr>,
    /// Our Contact, sent in target-refresh requests (re-INVITE, UPDATE).
    local_contact: Option<NameAddr>,
}

impl Dialog {
    /// UAS side (12.1.1): built from the INVITE received and the 1xx/2xx we
    /// answer it with (To carrying our tag, Contact ours).
    pub fn uas(invite: &Request, response: &Response) -> Result<Dialog, SipError> {
        let remote = invite.from()?;
        let local = response.to()?;
        let id = DialogId {
            call_id: invite.call_id()?.to_string(),
            local_tag: required_tag(&local, "To")?,
            remote_tag: remote.tag().unwrap_or_default().to_string(),
        };
        Ok(Dialog {
            id,
            role: Role::Uas,
            state: state_for(response.status),
            local_seq: 0,
            remote_seq: Some(invite.cseq()?.seq),
            local,
            remote,
            remote_target: contact_uri(invite.contact()?)?,
            // The UAS keeps Record-Route in the order received.
            route_set: invite.record_routes()?,
            local_contact: response.contact()?,
        })
    }

    /// UAC side (12.1.2): built from the INVITE we sent and a 1xx (early) or
    /// 2xx (confirmed) carrying the peer's To tag. Each forked To tag makes a
    /// dialog of its own.
    pub fn uac(invite: &Request, response: &Response) -> Result<Dialog, SipError> {
        let local = invite.from()?;
        let remote = response.to()?;
        let id = DialogId {
            call_id: invite.call_id()?.to_string(),
            local_tag: required_tag(&local, "From")?,
            remote_tag: required_tag(&remote, "To")?,
        };
        let mut route_set = response.record_routes()?;
        // Record-Route lists proxies from the UAS back to us; our requests
        // visit them in the opposite order.
        route_set.reverse();
        Ok(Dialog {
            id,
            role: Role::Uac,
            state: state_for(response.status),
            local_seq: invite.cseq()?.seq,
            remote_seq: None,
            local,
            remote,
            remote_target: contact_uri(response.contact()?)?,
            route_set,
            local_contact: invite.contact()?,
        })
    }

    pub fn id(&self) -> &DialogId {
        &self.id
    }

    pub fn role(&self) -> Role {
        self.role
    }

    pub fn state(&self) -> DialogState {
        self.state
    }

    pub fn local_seq(&self) -> u32 {
        self.local_seq
    }

    pub fn remote_seq(&self) -> Option<u32> {
        self.remote_seq
    }

    pub fn remote_target(&self) -> &SipUri {
        &self.remote_target
    }

    pub fn route_set(&self) -> &[NameAddr] {
        &self.route_set
    }

    pub fn local(&self) -> &NameAddr {
        &self.local
    }

    pub fn remote(&self) -> &NameAddr {
        &self.remote
    }

    /// Replaces our Contact (e.g. a new address before a re-INVITE).
    pub fn set_local_contact(&mut self, contact: Option<NameAddr>) {
        self.local_contact = contact;
    }

    /// UAS: our 2xx to the INVITE went out, so the early dialog is
    /// confirmed (a UAC confirms through `handle_response`).
    pub fn confirm(&mut self) {
        if self.state == DialogState::Early {
            self.state = DialogState::Confirmed;
        }
    }

    /// Ends the dialog (BYE sent or received, or a fatal response).
    pub fn terminate(&mut self) {
        self.state = DialogState::Terminated;
    }

    /// True when an incoming request names this dialog (Call-ID, our tag
    /// in To, theirs in From).
    pub fn matches(&self, request: &Request) -> bool {
        DialogId::of_request(request).is_some_and(|id| id == self.id)
    }

    /// True when a response to one of our requests belongs to this dialog.
    pub fn matches_response(&self, response: &Response) -> bool {
        DialogId::of_response(response).is_some_and(|id| id == self.id)
    }

    /// Checks and absorbs an incoming in-dialog request (12.2.2): it must
    /// name this dialog and not go back in CSeq; a target refresh (INVITE,
    /// UPDATE) with a Contact moves the remote target. ACK and CANCEL reuse
    /// the INVITE's CSeq and leave the remote CSeq alone.
    pub fn receive_request(&mut self, request: &Request) -> Result<(), DialogError> {
        if self.state == DialogState::Terminated || !self.matches(request) {
            return Err(DialogError::NoSuchDialog);
        }
        let seq = request.cseq()?.seq;
        if matches!(request.method, Method::Ack | Method::Cancel) {
            return Ok(());
        }
        if let Some(last) = self.remote_seq {
            if seq < last {
                return Err(DialogError::OutOfOrder { got: seq, last });
            }
        }
        self.remote_seq = Some(seq);
        if is_target_refresh(&request.method) {
            if let Some(contact) = request.contact()? {
                self.remote_target = contact.uri;
            }
        }
        if request.method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        Ok(())
    }

    /// Updates the dialog from a response to a request we sent in it, or to
    /// the INVITE that created it: a 2xx to INVITE confirms an early dialog
    /// (the UAC takes the 2xx's route set and Contact, 13.2.2.4); a 2xx to a
    /// target refresh moves the remote target; 481 and 408 end the dialog
    /// (12.2.1.2); a non-2xx final to the initial INVITE ends an early one.
    pub fn handle_response(&mut self, response: &Response) -> Result<(), SipError> {
        let method = response.cseq()?.method;
        let status = response.status;
        match status {
            200..=299 if is_target_refresh(&method) => {
                if self.state == DialogState::Early {
                    self.state = DialogState::Confirmed;
                    if self.role == Role::Uac {
                        let mut routes = response.record_routes()?;
                        routes.reverse();
                        self.route_set = routes;
                    }
                }
                if let Some(contact) = response.contact()? {
                    self.remote_target = contact.uri;
                }
            }
            300..=699 if method == Method::Invite && self.state == DialogState::Early => {
                self.state = DialogState::Terminated;
            }
            408 | 481 => self.state = DialogState::Terminated,
            _ => {}
        }
        Ok(())
    }

    /// A new in-dialog request (12.2.1.1): next local CSeq, To/From with the
    /// tags, Route from the route set, Request-URI from the remote target
    /// (or the first route, for a strict-routing proxy). `via` is ours with a
    /// fresh branch (see `new_branch`). BYE also ends the dialog.
    /// Use [`Dialog::ack`] for the ACK of a 2xx, which must not take a CSeq.
    pub fn request(&mut self, method: Method, via: Via) -> Request {
        self.local_seq = self.local_seq.wrapping_add(1);
        let seq = self.local_seq;
        if method == Method::Bye {
            self.state = DialogState::Terminated;
        }
        self.build(method, seq, via)
    }

    /// The ACK for a 2xx to an INVITE in this dialog (13.2.2.4): same CSeq
    /// number as that INVITE, method ACK, a Via of its own.
    pub fn ack(&self, response_2xx: &Response, via: Via) -> Result<Request, SipError> {
        let seq = response_2xx.cseq()?.seq;
        Ok(self.build(Method::Ack, seq, via))
    }

    /// The URI the request goes to next: the first Route, else the
    /// Request-URI (RFC 3261 8.1.2). The driver resolves it to an address
    /// (or uses the address the peer registered from).
    pub fn next_hop(&self) -> &SipUri {
        self.route_set
            .first()
            .map(|r| &r.uri)
            .unwrap_or(&self.remote_target)
    }

    fn build(&self, method: Method, seq: u32, via: Via) -> Request {
        let loose = match self.route_set.first() {
            None => true,
            Some(first) => first.uri.param("lr").is_some(),
        };
        let (uri, routes): (String, Vec<String>) = if loose {
            (
                self.remote_target.to_string(),
                self.route_set.iter().map(|r| r.to_string()).collect(),
            )
        } else {
            // Strict router: it gets the Request-URI, the remote target
            // travels as the last Route (12.2.1.1).
            let mut first = self.route_set[0].uri.clone();
            first.headers.clear();
            let mut routes: Vec<String> =
                self.route_set[1..].iter().map(|r| r.to_string()).collect();
            routes.push(format!("<{}>", self.remote_target));
            (first.to_string(), routes)
        };
        let mut request = Request::new(method.clone(), uri);
        request.headers.push("Via", via.to_string());
        request.headers.push("Max-Forwards", "70");
        for route in routes {
            request.headers.push("Route", route);
        }
        request.headers.push("From", self.local.to_string());
        request.headers.push("To", self.remote.to_string());
        request.headers.push("Call-ID", self.id.call_id.clone());
        request
            .headers
            .push("CSeq", CSeq::new(seq, method.clone()).to_string());
        if is_target_refresh(&method) {
            if let Some(contact) = &self.local_contact {
                request.headers.push("Contact", contact.to_string());
            }
        }
        request
    }
}

/// Requests that may change the remote target (RFC 3261 INVITE, RFC 3311
/// UPDATE).
/// Headers a dialog is built from: `Dialog::uas` and `Dialog::uac` read
/// nothing else of an INVITE (RFC 3261 12.1.1, 12.1.2).
const DIALOG_HEADERS: [&str; 6] = ["Call-ID", "From", "To", "CSeq", "Contact", "Record-Route"];

/// The part of an INVITE a dialog is built from, for whoever keeps an INVITE
/// only to build dialogs from later responses: a call leg for the whole call,
/// an INVITE client transaction for Timer M. The body and every other header
/// are dropped (an INVITE with SDP is mostly body and headers no dialog reads).
pub fn dialog_part(invite: &Request) -> Request {
    let mut part = Request::new(invite.method.clone(), invite.uri.clone());
    part.headers.0 = invite
        .headers
        .iter()
        .filter(|h| {
            DIALOG_HEADERS
                .iter()
                .any(|d| h.name.eq_ignore_ascii_case(d))
        })
        .cloned()
        .collect();
    part
}

fn is_target_refresh(method: &Method) -> bool {
    matches!(method, Method::Invite | Method::Update)
}

fn state_for(status: u16) -> DialogState {
    if (200..=299).contains(&status) {
        DialogState::Confirmed
    } else {
        DialogState::Early
    }
}

fn required_tag(addr: &NameAddr, header: &str) -> Result<String, SipError> {
    addr.tag()
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| SipError::header(header, "no tag"))
}

fn contact_uri(contact: Option<NameAddr>) -> Result<SipUri, SipError> {
    contact
        .map(|c| c.uri)
        .ok_or_else(|| SipError::MissingHeader("Contact".to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Message;
    use crate::parse::parse_message;

    /// The INVITE as the UAC sends it (two proxies record-routed on the way).
    const INVITE: &str = "INVITE sip:op1@switch.example SIP/2.0\r\n\
        Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKinv1\r\n\
        Record-Route: <sip:p2.example;lr>\r\n\
        Record-Route: <sip:p1.example;lr>\r\n\
        Max-Forwards: 68\r\n\
        From: \"Trunk\" <sip:+15550199@trunk.example>;tag=uac-tag\r\n\
        To: <sip:op1@switch.example>\r\n\
        Call-ID: dlg-1@trunk.example\r\n\
        CSeq: 10 INVITE\r\n\
        Contact: <sip:trunk@198.51.100.1:5060>\r\n\
        Content-Length: 0\r\n\r\n";

    fn invite() -> Request {
        match parse_message(INVITE.as_bytes()) {
            Ok(Message::Request(r)) => r,
            other => panic!("INVITE did not parse: {other:?}"),
        }
    }

    /// The UAS's answer: To tag, its Contact, Record-Route echoed.
    fn answer(invite: &Request, status: u16) -> Response {
        let mut r = Response::for_request(invite, status).with_to_tag("uas-tag");
        for rr in invite.headers.get_all("Record-Route") {
            r.headers.push("Record-Route", rr);
        }
        r.headers.push("Contact", "<sip:op1@192.0.2.10:5062>");
        r
    }

    fn via(branch: &str) -> Via {
        Via::new("UDP", "192.0.2.1", Some(5060), branch)
    }

    fn pair() -> (Dialog, Dialog) {
        let inv = invite();
        let ok = answer(&inv, 200);
        (
            Dialog::uac(&inv, &ok).unwrap(),
            Dialog::uas(&inv, &ok).unwrap(),
        )
    }

    #[test]
    fn uas_dialog_from_invite_and_provisional() {
        let inv = invite();
        let ringing = answer(&inv, 180);
        let mut d = Dialog::uas(&inv, &ringing).unwrap();
        assert_eq!(d.state(), DialogState::Early);
        assert_eq!(d.role(), Role::Uas);
        assert_eq!(
            d.id(),
            &DialogId {
                call_id: "dlg-1@trunk.example".into(),
                local_tag: "uas-tag".into(),
                remote_tag: "uac-tag".into(),
            }
        );
        assert_eq!(d.remote_seq(), Some(10));
        assert_eq!(d.remote_target().to_string(), "sip:trunk@198.51.100.1:5060");
        let routes: Vec<String> = d.route_set().iter().map(|r| r.uri.host.clone()).collect();
        assert_eq!(
            routes,
            ["p2.example", "p1.example"],
            "UAS keeps received order"
        );
        d.confirm();
        assert_eq!(d.state(), DialogState::Confirmed);
    }

    #[test]
    fn uac_dialog_reverses_route_set_and_confirms_on_2xx() {
        let inv = invite();
        let mut ringing = answer(&inv, 180);
        ringing
            .headers
            .set("Contact", "<sip:early@192.0.2.10:5062>");
        let mut d = Dialog::uac(&inv, &ringing).unwrap();
        assert_eq!(d.state(), DialogState::Early);
        assert_eq!(d.local_seq(), 10);
        assert_eq!(d.remote_seq(), None);
        let routes: Vec<String> = d.route_set().iter().map(|r| r.uri.host.clone()).collect();
        assert_eq!(
            routes,
            ["p1.example", "p2.example"],
            "UAC reverses Record-Route"
        );

        let mut ok = answer(&inv, 200);
        ok.headers.remove("Record-Route");
        ok.headers.push("Record-Route", "<sip:only.example;lr>");
        d.handle_response(&ok).unwrap();
        assert_eq!(d.state(), DialogState::Confirmed);
        assert_eq!(d.remote_target().to_string(), "sip:op1@192.0.2.10:5062");
        assert_eq!(d.route_set().len(), 1, "route set taken from the 2xx");
    }

    #[test]
    fn uac_dialog_needs_a_to_tag() {
        let inv = invite();
        let trying = Response::for_request(&inv, 100);
        assert!(Dialog::uac(&inv, &trying).is_err());
    }

    #[test]
    fn early_dialog_ends_on_non_2xx() {
        let inv = invite();
        let mut d = Dialog::uac(&inv, &answer(&inv, 183)).unwrap();
        d.handle_response(&answer(&inv, 486)).unwrap();
        assert_eq!(d.state(), DialogState::Terminated);
    }

    #[test]
    fn bye_from_uac_is_built_per_12_2_1_1_and_accepted_by_uas() {
        let (mut uac, mut uas) = pair();
        let bye = uac.request(Method::Bye, via("z9hG4bKbye"));
        assert_eq!(bye.method, Method::Bye);
        assert_eq!(
            bye.uri, "sip:op1@192.0.2.10:5062",
            "Request-URI is the remote target"
        );
        assert_eq!(bye.cseq().unwrap(), CSeq::new(11, Method::Bye));
        assert_eq!(bye.from().unwrap().tag(), Some("uac-tag"));
        assert_eq!(bye.to().unwrap().tag(), Some("uas-tag"));
        assert_eq!(bye.call_id().unwrap(), "dlg-1@trunk.example");
        let routes: Vec<String> = bye
            .routes()
            .unwrap()
            .iter()
            .map(|r| r.uri.host.clone())
            .collect();
        assert_eq!(routes, ["p1.example", "p2.example"]);
        assert_eq!(bye.top_via().unwrap().branch(), Some("z9hG4bKbye"));
        assert!(
            bye.headers.get("Contact").is_none(),
            "BYE is no target refresh"
        );
        assert_eq!(uac.state(), DialogState::Terminated);

        assert!(uas.matches(&bye));
        assert_eq!(DialogId::of_request(&bye).as_ref(), Some(uas.id()));
        uas.receive_request(&bye).unwrap();
        assert_eq!(uas.remote_seq(), Some(11));
        assert_eq!(uas.state(), DialogState::Terminated);
        assert_eq!(uas.receive_request(&bye), Err(DialogError::NoSuchDialog));
    }

    #[test]
    fn ack_for_2xx_reuses_the_invite_cseq_without_consuming_one() {
        let inv = invite();
        let ok = answer(&inv, 200);
        let uac = Dialog::uac(&inv, &ok).unwrap();
        let ack = uac.ack(&ok, via("z9hG4bKack")).unwrap();
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.cseq().unwrap(), CSeq::new(10, Method::Ack));
        assert_eq!(ack.to().unwrap().tag(), Some("uas-tag"));
        assert_eq!(uac.local_seq(), 10);
        let (_, mut uas) = pair();
        uas.receive_request(&ack).unwrap();
        assert_eq!(uas.remote_seq(), Some(10));
    }

    #[test]
    fn uas_requests_start_their_own_cseq_and_reach_the_uac() {
        let (mut uac, mut uas) = pair();
        let info = uas.request(Method::Info, via("z9hG4bKinfo"));
        assert_eq!(info.cseq().unwrap().seq, 1);
        assert_eq!(info.uri, "sip:trunk@198.51.100.1:5060");
        assert_eq!(info.from().unwrap().tag(), Some("uas-tag"));
        let routes: Vec<String> = info
            .routes()
            .unwrap()
            .iter()
            .map(|r| r.uri.host.clone())
            .collect();
        assert_eq!(routes, ["p2.example", "p1.example"]);
        uac.receive_request(&info).unwrap();
        assert_eq!(uac.remote_seq(), Some(1));
        let info2 = uas.request(Method::Info, via("z9hG4bKinfo2"));
        assert_eq!(info2.cseq().unwrap().seq, 2);
        uac.receive_request(&info2).unwrap();
        // A stale request (lower CSeq) is out of order: 500.
        let err = uac.receive_request(&info).unwrap_err();
        assert_eq!(err, DialogError::OutOfOrder { got: 1, last: 2 });
        assert_eq!(err.status(), 500);
    }

    #[test]
    fn reinvite_carries_contact_and_refreshes_the_target() {
        let (mut uac, mut uas) = pair();
        uac.set_local_contact(Some(
            NameAddr::parse("<sip:trunk@198.51.100.9:5070>").unwrap(),
        ));
        let reinvite = uac.request(Method::Invite, via("z9hG4bKre"));
        assert_eq!(reinvite.cseq().unwrap(), CSeq::new(11, Method::Invite));
        assert_eq!(
            reinvite.headers.get("Contact"),
            Some("<sip:trunk@198.51.100.9:5070>")
        );
        uas.receive_request(&reinvite).unwrap();
        assert_eq!(
            uas.remote_target().to_string(),
            "sip:trunk@198.51.100.9:5070"
        );

        // The UAS's 2xx to the re-INVITE moves the UAC's target too.
        let mut ok = Response::for_request(&reinvite, 200);
        ok.headers.push("Contact", "<sip:op1@192.0.2.77:5062>");
        uac.handle_response(&ok).unwrap();
        assert_eq!(uac.state(), DialogState::Confirmed);
        assert_eq!(uac.remote_target().to_string(), "sip:op1@192.0.2.77:5062");
    }

    #[test]
    fn foreign_requests_do_not_match() {
        let (_, mut uas) = pair();
        let mut other = invite();
        other
            .headers
            .set("To", "<sip:op1@switch.example>;tag=someone-else");
        assert!(!uas.matches(&other));
        assert_eq!(uas.receive_request(&other).unwrap_err().status(), 481);
        assert_eq!(
            DialogId::of_request(&invite()),
            None,
            "no To tag: not in a dialog"
        );
    }

    #[test]
    fn fatal_responses_end_the_dialog() {
        for status in [481, 408] {
            let (mut uac, _) = pair();
            let info = uac.request(Method::Info, via("z9hG4bKi"));
            let r = Response::for_request(&info, status);
            assert!(uac.matches_response(&r), "the response names our dialog");
            uac.handle_response(&r).unwrap();
            assert_eq!(uac.state(), DialogState::Terminated, "{status}");
        }
    }

    #[test]
    fn strict_router_gets_the_request_uri() {
        let inv = invite();
        let mut ok = answer(&inv, 200);
        ok.headers.remove("Record-Route");
        ok.headers.push("Record-Route", "<sip:strict.example>");
        let mut uac = Dialog::uac(&inv, &ok).unwrap();
        let bye = uac.request(Method::Bye, via("z9hG4bKs"));
        assert_eq!(bye.uri, "sip:strict.example");
        let routes: Vec<String> = bye
            .routes()
            .unwrap()
            .iter()
            .map(|r| r.uri.to_string())
            .collect();
        assert_eq!(routes, ["sip:op1@192.0.2.10:5062"]);
        assert_eq!(uac.next_hop().host, "strict.example");
    }

    #[test]
    fn dialog_part_builds_the_same_dialogs() {
        let mut inv = invite();
        inv.headers.push("Content-Type", "application/sdp");
        inv.body = b"v=0\r\n".to_vec();
        let part = dialog_part(&inv);
        assert!(part.body.is_empty());
        assert_eq!(part.headers.get("Via"), None);
        assert_eq!(part.headers.get("Max-Forwards"), None);
        assert_eq!(part.headers.get_all("Record-Route").count(), 2);
        for status in [180, 200] {
            let resp = answer(&inv, status);
            assert_eq!(
                format!("{:?}", Dialog::uas(&part, &resp).unwrap()),
                format!("{:?}", Dialog::uas(&inv, &resp).unwrap())
            );
            assert_eq!(
                format!("{:?}", Dialog::uac(&part, &resp).unwrap()),
                format!("{:?}", Dialog::uac(&inv, &resp).unwrap())
            );
        }
    }
}
