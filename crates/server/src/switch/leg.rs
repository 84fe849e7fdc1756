//! One SIP leg of a B2BUA call: the INVITE that opened it, its dialog once
//! the far end tagged it, where to reach the far end, and the media leg that
//! carries its RTP. The switch is the UAS on the caller's leg and the UAC on
//! each callee leg; the dialog rules themselves live in `sip::dialog`.

use std::net::SocketAddr;

use sip::dialog::Dialog;
use sip::headers::Via;
use sip::transaction::TransactionId;
use sip::{Method, Request, Response};

use crate::media::LegId;
use crate::transport::Peer;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LegState {
    /// INVITE sent (UAC) or received (UAS), no provisional yet.
    Calling,
    /// 180/183 seen.
    Ringing,
    /// 2xx sent or received.
    Answered,
    /// Ended: final non-2xx, cancelled, or BYE.
    Ended,
}

#[derive(Debug, Clone)]
pub(super) struct Leg {
    pub state: LegState,
    pub call_id: String,
    /// What dialogs are built from of the INVITE that opened the leg (theirs
    /// on the caller's leg, ours on callee legs): `sip::dialog::dialog_part`,
    /// not the whole INVITE, which the leg would otherwise hold, SDP and all,
    /// for the whole call.
    pub invite: Request,
    pub dialog: Option<Dialog>,
    /// Where their packets come from / go to (NAT-aware: the source seen).
    pub peer: Peer,
    /// The INVITE transaction while it can still take a final response.
    pub invite_tx: Option<TransactionId>,
    pub media: LegId,
    pub rtp_port: u16,
    /// Their offer (caller's leg) or ours (callee legs).
    pub offer: Option<sdp::SessionDescription>,
    /// The operator this leg rings, when it rings one.
    pub operator: Option<String>,
    /// Final status of a failed UAC leg.
    pub final_status: Option<u16>,
    /// The far end's last offer stopped it receiving (RFC 3264 hold).
    pub on_hold: bool,
}

/// Our Via for a new request or ACK on `peer`'s transport.
pub(super) fn our_via(peer: Peer, local: SocketAddr, branch: &str) -> Via {
    let mut via = Via::new(
        peer.transport.as_via(),
        &local.ip().to_string(),
        Some(local.port()),
        branch,
    );
    via.set_param("rport", None);
    via
}

impl Leg {
    /// An in-dialog request from us (BYE, INFO, re-INVITE). `None` before the
    /// far end created the dialog.
    pub fn request(&mut self, method: Method, local: SocketAddr, branch: &str) -> Option<Request> {
        let via = our_via(self.peer, local, branch);
        let mut r = self.dialog.as_mut()?.request(method, via);
        r.headers.push("User-Agent", crate::USER_AGENT);
        Some(r)
    }

    /// The ACK for a 2xx to our INVITE (RFC 3261 13.2.2.4), built from the
    /// dialog that 2xx makes (each fork's 2xx has its own).
    pub fn ack(&self, resp: &Response, local: SocketAddr, branch: &str) -> Option<Request> {
        let dialog = Dialog::uac(&self.invite, resp).ok()?;
        dialog.ack(resp, our_via(self.peer, local, branch)).ok()
    }

    /// Callee legs: a tagged provisional makes an early dialog, a 2xx the
    /// confirmed one (taking that 2xx's tag, Contact and route set).
    pub fn learn_from_response(&mut self, resp: &Response) {
        let tagged = resp.to().map(|t| t.tag().is_some()).unwrap_or(false);
        if !tagged || resp.status <= 100 || resp.status >= 300 {
            return;
        }
        if (200..300).contains(&resp.status) || self.dialog.is_none() {
            match Dialog::uac(&self.invite, resp) {
                Ok(d) => self.dialog = Some(d),
                Err(e) => tracing::debug!("no dialog from response: {e}"),
            }
        }
    }

    /// Caller's leg: our tagged 1xx/2xx makes (or confirms) the UAS dialog.
    pub fn answered_with(&mut self, resp: &Response) {
        match &mut self.dialog {
            Some(d) if (200..300).contains(&resp.status) => d.confirm(),
            Some(_) => {}
            None => match Dialog::uas(&self.invite, resp) {
                Ok(d) => self.dialog = Some(d),
                Err(e) => tracing::debug!("no dialog from our response: {e}"),
            },
        }
    }

    /// Whether an in-dialog request from the far end belongs to this leg.
    pub fn matches(&self, req: &Request) -> bool {
        self.dialog.as_ref().is_some_and(|d| d.matches(req))
    }
}
