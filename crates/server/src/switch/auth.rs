//! Digest authentication of operators (REGISTER with 401, INVITE with 407),
//! on the stateless, source-bound nonces of `sip::auth::DigestServer`.
//! Credentials in MD5 and SHA-256 (RFC 8760) are both accepted; which
//! algorithms are *offered* is the config's `[registrar] digest_algorithms`
//! (MD5 alone by default) because deployed clients disagree: SIPp and many
//! softphones answer the first challenge whatever it is, and baresip's libre
//! fails the whole registration on seeing an algorithm it lacks.

use std::time::Instant;

use sip::auth::{Algorithm, AuthOutcome, Secret};
use sip::transaction::TransactionId;
use sip::{Request, Response};

use super::{requests, Core};
use crate::transport::Peer;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    Ok,
    /// No credentials for our realm: challenge.
    Missing,
    /// Right password on an expired nonce: challenge with stale=true.
    Stale,
    Wrong(&'static str),
}

/// Checks `header` (Authorization or Proxy-Authorization) against
/// `account` (username, password). `None` account: only says whether
/// credentials were sent at all.
pub(super) fn verify(
    core: &Core,
    req: &Request,
    source: Peer,
    header: &str,
    account: Option<(&str, &str)>,
    now: Instant,
) -> Verdict {
    let realm = core.plan.registrar().realm.clone();
    let Some(value) = req
        .headers
        .get_all(header)
        .find(|v| v.contains(&format!("\"{realm}\"")) || v.contains(&format!("={realm}")))
    else {
        return Verdict::Missing;
    };
    let Some((username, password)) = account else {
        return Verdict::Wrong("unknown user");
    };
    let unix = core.clock.unix(now);
    let (outcome, creds) = core.digest.verify(
        value,
        &req.method,
        &realm,
        unix,
        source.addr.ip(),
        |user, _| (user == username).then_some(Secret::Password(password)),
    );
    match outcome {
        AuthOutcome::Authorized => {
            // The digest covers the uri parameter; it must name this request.
            match creds {
                Some(c) if same_uri(&c.uri, &req.uri) => Verdict::Ok,
                _ => Verdict::Wrong("digest uri does not match the Request-URI"),
            }
        }
        AuthOutcome::Stale => Verdict::Stale,
        AuthOutcome::Rejected(why) => Verdict::Wrong(why),
    }
}

fn same_uri(a: &str, b: &str) -> bool {
    match (sip::SipUri::parse(a), sip::SipUri::parse(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Answers with a fresh challenge (401 WWW-Authenticate or 407
/// Proxy-Authenticate).
pub(super) fn challenge(
    core: &mut Core,
    tx: TransactionId,
    req: &Request,
    source: Peer,
    status: u16,
    stale: bool,
    now: Instant,
) {
    let realm = core.plan.registrar().realm.clone();
    let unix = core.clock.unix(now);
    let header = if status == 407 {
        "Proxy-Authenticate"
    } else {
        "WWW-Authenticate"
    };
    let mut resp = Response::for_request(req, status);
    let offered = core.plan.registrar().digest_algorithms.clone();
    for algorithm in offered.into_iter().map(algorithm) {
        let c = core
            .digest
            .challenge(&realm, algorithm, unix, source.addr.ip(), stale);
        resp.headers.push(header, c.to_string());
    }
    let tag = sip::headers::new_tag(&mut core.rng);
    requests::send(core, tx, resp.with_to_tag(&tag), now);
}

fn algorithm(a: dialplan::DigestAlgorithm) -> Algorithm {
    match a {
        dialplan::DigestAlgorithm::Md5 => Algorithm::Md5,
        dialplan::DigestAlgorithm::Sha256 => Algorithm::Sha256,
    }
}
