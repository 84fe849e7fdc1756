//! Client-side registration (RFC 3261 section 10.2): keeps the switch
//! registered at a SIP trunk provider, one machine per trunk. Sans-IO: the
//! caller sends what `poll_request` returns through a transaction layer,
//! feeds back the final (or provisional) responses, transaction failures and
//! timer expiries, and sleeps until `poll_timeout`.
//!
//! Behaviour:
//! - One Call-ID and From tag for the machine's life, CSeq +1 and a fresh
//!   branch per REGISTER (RFC 3261 10.2: the registrar orders refreshes by
//!   CSeq within the Call-ID).
//! - 401/407 are answered with digest credentials; later REGISTERs carry
//!   credentials for the last nonce up front (nc counting up), which saves a
//!   round trip with registrars that accept nonce reuse.
//! - A challenge that answers credentials we computed for a fresh challenge
//!   means the password is wrong unless it says `stale=true`: the machine
//!   fails rather than loop, and tries again only after the longest backoff.
//! - The refresh is due at half the granted lifetime, or 10 s before expiry
//!   for short lifetimes where half would refresh needlessly often.
//! - Failures retry after 5 s, doubling up to 5 min; a success resets that.
//! - 423 raises the requested expiry to Min-Expires and retries at once.

use std::fmt;
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::auth::{authorization_for, Challenge};
use crate::headers::{new_branch, new_call_id, new_tag, Contacts, Via};
use crate::message::{Method, Request, Response};
use crate::uri::{split_host_port, SipUri};

/// First retry delay after a failure.
pub const MIN_BACKOFF: Duration = Duration::from_secs(5);
/// Longest retry delay; also the wait after the provider rejects our credentials.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);
/// Lifetimes below this refresh 10 s before expiry instead of at half.
const SHORT_EXPIRY: u32 = 120;
/// Stale-nonce or 423 rounds tolerated in a row before giving up (a
/// registrar that keeps saying "stale" or "too brief" would otherwise loop).
const MAX_ROUNDS: u32 = 3;

/// What a trunk registration needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationParams {
    /// Address of record: From and To, e.g. `sip:shop@provider.example`.
    pub aor: String,
    /// Digest username.
    pub username: String,
    pub password: String,
    /// Request-URI of the REGISTER, e.g. `sip:provider.example:5060`.
    pub registrar: String,
    /// Requested lifetime in seconds.
    pub expires: u32,
    /// Our Contact URI, e.g. `sip:shop@203.0.113.5:5060`.
    pub contact: String,
    /// Expected digest realm; `None` answers any realm the provider names.
    pub realm: Option<String>,
    /// Via transport (`UDP`, `TCP`).
    pub transport: String,
    /// Via sent-by: our `host:port`.
    pub sent_by: String,
    /// User-Agent header value, when wanted.
    pub user_agent: Option<String>,
}

/// Where the registration stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationState {
    /// Not started, or unregistered on request.
    Unregistered,
    /// A REGISTER is on its way (first one, refresh after failure, or a
    /// challenge being answered).
    Registering,
    /// The provider holds our binding until `expires_at`; a refresh is due
    /// before that (and the state stays `Registered` while it runs).
    Registered { expires_at: Instant },
    /// The last attempt failed; the next one goes out at `retry_at`.
    Failed { reason: String, retry_at: Instant },
    /// `unregister()` sent REGISTER with expiry 0 and awaits the answer.
    Unregistering,
}

impl fmt::Display for RegistrationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistrationState::Unregistered => f.write_str("unregistered"),
            RegistrationState::Registering => f.write_str("registering"),
            RegistrationState::Registered { .. } => f.write_str("registered"),
            RegistrationState::Failed { reason, .. } => write!(f, "failed: {reason}"),
            RegistrationState::Unregistering => f.write_str("unregistering"),
        }
    }
}

/// The last challenge and how far we got with it.
#[derive(Debug, Clone)]
struct Auth {
    challenge: Challenge,
    /// 407 (Proxy-Authorization) rather than 401 (Authorization).
    proxy: bool,
    /// Nonce count of the last credentials sent for this nonce.
    nc: u32,
}

/// The REGISTER in flight.
#[derive(Debug, Clone, Copy)]
struct Pending {
    cseq: u32,
    sent_at: Instant,
    /// Expiry asked for (0: unregister).
    expires: u32,
    /// It carried credentials answering a challenge to the request just
    /// before it (not credentials reused from an older exchange).
    fresh_credentials: bool,
}

/// One trunk's registration state machine.
#[derive(Debug)]
pub struct Registration {
    params: RegistrationParams,
    state: RegistrationState,
    /// Expiry we ask for; raised by 423.
    expires: u32,
    cseq: u32,
    /// Drawn on the first request.
    call_id: Option<String>,
    from_tag: Option<String>,
    auth: Option<Auth>,
    pending: Option<Pending>,
    /// A request is due: built at the next `poll_request`.
    want_send: Option<Want>,
    refresh_at: Option<Instant>,
    /// Consecutive failures (backoff exponent).
    failures: u32,
    /// Stale/423 rounds since the last fresh start.
    rounds: u32,
    /// Whether the provider may still hold a binding of ours.
    bound_until: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Want {
    at: Instant,
    expires: u32,
    fresh_credentials: bool,
}

impl Registration {
    pub fn new(params: RegistrationParams) -> Registration {
        Registration {
            expires: params.expires,
            params,
            state: RegistrationState::Unregistered,
            cseq: 0,
            call_id: None,
            from_tag: None,
            auth: None,
            pending: None,
            want_send: None,
            refresh_at: None,
            failures: 0,
            rounds: 0,
            bound_until: None,
        }
    }

    pub fn params(&self) -> &RegistrationParams {
        &self.params
    }

    pub fn state(&self) -> &RegistrationState {
        &self.state
    }

    /// Starts registering (first time, or again after `unregister`).
    pub fn register(&mut self, now: Instant) {
        if matches!(
            self.state,
            RegistrationState::Registering | RegistrationState::Registered { .. }
        ) {
            return;
        }
        self.expires = self.params.expires;
        self.start_round(now);
    }

    /// Removes our binding at the provider (shutdown): REGISTER with expiry
    /// 0 when one may exist, otherwise straight to `Unregistered`.
    pub fn unregister(&mut self, now: Instant) {
        self.refresh_at = None;
        let bound = self.bound_until.is_some_and(|t| t > now);
        if bound || matches!(self.state, RegistrationState::Registering) {
            self.state = RegistrationState::Unregistering;
            self.rounds = 0;
            self.queue(now, 0, false);
        } else {
            self.state = RegistrationState::Unregistered;
            self.pending = None;
            self.want_send = None;
        }
    }

    /// The next REGISTER to send, if one is due. Call after every input.
    pub fn poll_request(&mut self, rng: &mut impl RngCore) -> Option<Request> {
        let want = self.want_send.take()?;
        self.cseq = self.cseq.wrapping_add(1).max(1);
        let call_id = self
            .call_id
            .get_or_insert_with(|| new_call_id(rng, None))
            .clone();
        let tag = self.from_tag.get_or_insert_with(|| new_tag(rng)).clone();
        let p = &self.params;
        let mut req = Request::new(Method::Register, p.registrar.clone());
        let (host, port) =
            split_host_port(&p.sent_by).unwrap_or_else(|_| (p.sent_by.clone(), None));
        let mut via = Via::new(&p.transport, &host, port, &new_branch(rng));
        // Ask for the source port seen (RFC 3581): we may sit behind NAT.
        via.set_param("rport", None);
        req.headers.push("Via", via.to_string());
        req.headers.push("Max-Forwards", "70");
        req.headers.push("From", format!("<{}>;tag={tag}", p.aor));
        req.headers.push("To", format!("<{}>", p.aor));
        req.headers.push("Call-ID", call_id);
        req.headers.push("CSeq", format!("{} REGISTER", self.cseq));
        req.headers.push("Contact", format!("<{}>", p.contact));
        req.headers.push("Expires", want.expires.to_string());
        if let Some(auth) = &mut self.auth {
            auth.nc += 1;
            let cnonce = new_tag(rng);
            match authorization_for(
                &auth.challenge,
                &Method::Register,
                &p.registrar,
                &p.username,
                &p.password,
                &cnonce,
                auth.nc,
            ) {
                Ok(value) => {
                    let name = if auth.proxy {
                        "Proxy-Authorization"
                    } else {
                        "Authorization"
                    };
                    req.headers.push(name, value);
                }
                // Checked when the challenge arrived; cannot happen later.
                Err(_) => self.auth = None,
            }
        }
        if let Some(ua) = &p.user_agent {
            req.headers.push("User-Agent", ua.clone());
        }
        self.pending = Some(Pending {
            cseq: self.cseq,
            sent_at: want.at,
            expires: want.expires,
            fresh_credentials: want.fresh_credentials,
        });
        Some(req)
    }

    /// When `handle_timeout` has work: the refresh or the retry. `None`
    /// while a request is in flight (its transaction reports the outcome).
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            RegistrationState::Failed { retry_at, .. } => Some(*retry_at),
            RegistrationState::Registered { .. } if self.pending.is_none() => self.refresh_at,
            _ => None,
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.pending.is_some() || self.want_send.is_some() {
            return;
        }
        match &self.state {
            RegistrationState::Failed { retry_at, .. } if *retry_at <= now => {
                self.state = RegistrationState::Registering;
                self.start_round(now);
            }
            RegistrationState::Registered { .. } if self.refresh_at.is_some_and(|t| t <= now) => {
                self.refresh_at = None;
                self.start_round(now);
            }
            _ => {}
        }
    }

    /// The REGISTER's transaction timed out or could not be sent.
    pub fn handle_failure(&mut self, now: Instant) {
        if self.pending.take().is_none() {
            return;
        }
        self.fail(now, "no answer from the registrar".to_string(), None);
    }

    /// A response to our REGISTER (others, e.g. to an older CSeq, are ignored).
    pub fn handle_response(&mut self, resp: &Response, now: Instant) {
        let Some(pending) = self.pending else {
            return;
        };
        let ours = resp
            .cseq()
            .is_ok_and(|c| c.seq == pending.cseq && c.method == Method::Register)
            && self.call_id.as_deref() == resp.call_id().ok();
        if !ours || resp.status < 200 {
            return;
        }
        self.pending = None;
        match resp.status {
            200..=299 => self.on_success(resp, pending, now),
            401 | 407 => self.on_challenge(resp, pending, now),
            423 => self.on_too_brief(resp, pending, now),
            status => {
                let reason = format!("registrar answered {status} {}", resp.reason.trim());
                let retry_after = resp
                    .headers
                    .get("Retry-After")
                    // delta-seconds [ comment ] *( ";" param )
                    .and_then(|v| v.split([';', '(', ' ']).next())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                self.fail(now, reason, retry_after);
            }
        }
    }

    // ------------------------------------------------------------ internals

    fn start_round(&mut self, now: Instant) {
        self.rounds = 0;
        if !matches!(self.state, RegistrationState::Registered { .. }) {
            self.state = RegistrationState::Registering;
        }
        self.queue(now, self.expires, false);
    }

    fn queue(&mut self, at: Instant, expires: u32, fresh_credentials: bool) {
        self.pending = None;
        self.want_send = Some(Want {
            at,
            expires,
            fresh_credentials,
        });
    }

    fn fail(&mut self, now: Instant, reason: String, at_least: Option<Duration>) {
        if matches!(self.state, RegistrationState::Unregistering) {
            // Shutting down: nothing to retry.
            self.state = RegistrationState::Unregistered;
            self.bound_until = None;
            return;
        }
        self.failures = self.failures.saturating_add(1);
        let backoff = MIN_BACKOFF
            .saturating_mul(1u32 << (self.failures - 1).min(16))
            .min(MAX_BACKOFF);
        // Retry-After may ask for longer, within reason.
        let delay = at_least
            .map(|d| d.min(Duration::from_secs(3600)).max(backoff))
            .unwrap_or(backoff);
        self.refresh_at = None;
        self.state = RegistrationState::Failed {
            reason,
            retry_at: now + delay,
        };
    }

    fn on_success(&mut self, resp: &Response, pending: Pending, now: Instant) {
        if pending.expires == 0 {
            self.state = RegistrationState::Unregistered;
            self.bound_until = None;
            return;
        }
        let granted = self.granted_expires(resp).unwrap_or(pending.expires);
        if granted == 0 {
            // The registrar dropped the binding it just got: treat as failure.
            return self.fail(now, "registrar granted no lifetime".to_string(), None);
        }
        self.failures = 0;
        self.rounds = 0;
        // Count from when the request left: the registrar started its clock
        // after that, so our idea of the expiry is never late.
        let expires_at = pending.sent_at + Duration::from_secs(granted.into());
        let refresh_in = if granted < SHORT_EXPIRY {
            granted.saturating_sub(10).max(granted / 2)
        } else {
            granted / 2
        };
        self.refresh_at = Some(pending.sent_at + Duration::from_secs(refresh_in.into()));
        self.bound_until = Some(expires_at);
        self.state = RegistrationState::Registered { expires_at };
    }

    /// Our binding's lifetime as the registrar granted it: our Contact's
    /// `expires` parameter in the 2xx, else its Expires header.
    fn granted_expires(&self, resp: &Response) -> Option<u32> {
        if let Ok(Contacts::Addrs(addrs)) = resp.contacts() {
            let ours = SipUri::parse(&self.params.contact).ok();
            let same = |u: &SipUri| {
                ours.as_ref().is_some_and(|o| {
                    o.user == u.user
                        && o.host.eq_ignore_ascii_case(&u.host)
                        && o.port.unwrap_or(5060) == u.port.unwrap_or(5060)
                })
            };
            let mine = addrs.iter().find(|a| same(&a.uri));
            // A registrar behind NAT handling may rewrite our Contact; when it
            // lists a single binding, that one is ours.
            let mine = mine.or(if addrs.len() == 1 {
                addrs.first()
            } else {
                None
            });
            if let Some(e) = mine.and_then(|a| a.expires()) {
                return Some(e);
            }
        }
        resp.expires()
    }

    fn on_challenge(&mut self, resp: &Response, pending: Pending, now: Instant) {
        let proxy = resp.status == 407;
        let header = if proxy {
            "Proxy-Authenticate"
        } else {
            "WWW-Authenticate"
        };
        let Some(challenge) = Challenge::best(resp.headers.get_all(header)) else {
            return self.fail(
                now,
                format!("{} without a usable Digest challenge", resp.status),
                None,
            );
        };
        if let Some(realm) = &self.params.realm {
            if *realm != challenge.realm {
                return self.fail_auth(
                    now,
                    format!(
                        "provider challenged with realm {:?}, expected {realm:?}",
                        challenge.realm
                    ),
                );
            }
        }
        if !challenge.qop.is_empty() && !challenge.qop.iter().any(|q| q == "auth") {
            return self.fail_auth(now, "provider offers only qop other than auth".to_string());
        }
        if pending.fresh_credentials {
            // We answered a challenge and got another: only a stale nonce
            // excuses that (RFC 7616 3.3); otherwise the password is wrong.
            // A first request, or a refresh reusing an old nonce, is simply
            // answered: the old nonce may have aged out.
            if !challenge.stale {
                return self.fail_auth(
                    now,
                    format!(
                        "provider rejected the credentials for user {:?} (realm {:?})",
                        self.params.username, challenge.realm
                    ),
                );
            }
            self.rounds += 1;
            if self.rounds > MAX_ROUNDS {
                return self.fail(now, "provider keeps calling our nonce stale".into(), None);
            }
        }
        self.auth = Some(Auth {
            challenge,
            proxy,
            nc: 0,
        });
        self.queue(now, pending.expires, true);
    }

    /// Credentials refused: no quick retry (the password will not improve,
    /// and providers lock accounts that hammer them).
    fn fail_auth(&mut self, now: Instant, reason: String) {
        self.auth = None;
        self.fail(now, reason, Some(MAX_BACKOFF));
    }

    fn on_too_brief(&mut self, resp: &Response, pending: Pending, now: Instant) {
        let min = resp
            .headers
            .get("Min-Expires")
            .and_then(|v| v.trim().parse::<u32>().ok());
        self.rounds += 1;
        match min {
            Some(min) if min > pending.expires && self.rounds <= MAX_ROUNDS => {
                self.expires = min;
                self.queue(now, min, false);
            }
            _ => self.fail(
                now,
                "423 Interval Too Brief without a usable Min-Expires".to_string(),
                None,
            ),
        }
    }
}

#[cfg(test)]
mod tests;
