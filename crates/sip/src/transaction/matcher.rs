//! Transaction keys (RFC 3261 17.1.3 and 17.2.3), and the digests the
//! layer keeps in their place.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash, Hasher};

use crate::error::SipError;
use crate::headers::Via;
use crate::message::{Method, Request, Response};

/// Client transaction key (17.1.3): the branch we put in the top Via plus the
/// CSeq method, so a CANCEL's responses (same branch as its INVITE) find the
/// CANCEL transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: String,
    pub method: Method,
}

impl ClientKey {
    /// Key of a request we are about to send.
    pub fn for_request(request: &Request) -> Result<ClientKey, SipError> {
        Ok(ClientKey {
            branch: branch_of(&request.top_via()?)?,
            method: request.method.clone(),
        })
    }

    /// Key of a response we received.
    pub fn for_response(response: &Response) -> Result<ClientKey, SipError> {
        Ok(ClientKey {
            branch: branch_of(&response.top_via()?)?,
            method: response.cseq()?.method,
        })
    }
}

/// Server transaction key (17.2.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    /// Branch with the magic cookie: branch, sent-by and method (ACK is
    /// folded into INVITE so it finds the INVITE's transaction).
    Rfc3261 {
        branch: String,
        /// `host:port`, host lower-cased, port defaulted to 5060.
        sent_by: String,
        method: Method,
    },
    /// RFC 2543 peers (no magic cookie): the request's identity instead.
    Rfc2543(Rfc2543Key),
}

/// The server transaction key of a request without an RFC 3261 branch.
/// The To tag is left out on purpose: the ACK carries the tag our
/// response added, the INVITE did not.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Rfc2543Key {
    pub request_uri: String,
    pub call_id: String,
    pub from_tag: String,
    pub cseq: u32,
    pub top_via: String,
    pub method: Method,
}

impl ServerKey {
    pub fn for_request(request: &Request) -> Result<ServerKey, SipError> {
        let method = match request.method {
            Method::Ack => Method::Invite,
            ref m => m.clone(),
        };
        let via = request.top_via()?;
        if via.has_rfc3261_branch() {
            return Ok(ServerKey::Rfc3261 {
                branch: branch_of(&via)?,
                sent_by: format!("{}:{}", via.host.to_ascii_lowercase(), via.sent_by_port()),
                method,
            });
        }
        Ok(ServerKey::Rfc2543(Rfc2543Key {
            request_uri: request.uri.clone(),
            call_id: request.call_id()?.to_string(),
            from_tag: request.from()?.tag().unwrap_or_default().to_string(),
            cseq: request.cseq()?.seq,
            top_via: via.to_string(),
            method,
        }))
    }

    /// The same key with another method: a CANCEL's key turned into the key
    /// of the INVITE it cancels (RFC 3261 9.2).
    pub fn with_method(&self, method: Method) -> ServerKey {
        let mut key = self.clone();
        match &mut key {
            ServerKey::Rfc3261 { method: m, .. } => *m = method,
            ServerKey::Rfc2543(k) => k.method = method,
        }
        key
    }
}

/// What identifies the ACK for a 2xx we sent: it has a new branch, so it is
/// matched to the INVITE by Call-ID, From tag and CSeq number instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct AckKey {
    call_id: String,
    from_tag: String,
    cseq: u32,
}

impl AckKey {
    pub(crate) fn for_request(request: &Request) -> Option<AckKey> {
        Some(AckKey {
            call_id: request.call_id().ok()?.to_string(),
            from_tag: request.from().ok()?.tag().unwrap_or_default().to_string(),
            cseq: request.cseq().ok()?.seq,
        })
    }
}

/// 128 bits of keyed hash standing for a transaction key in the layer's
/// tables.
///
/// Why not the key itself: the layer keeps every finished transaction for
/// Timers J and L (32 s), so after a burst of calls it holds tens of
/// thousands of keys, each as two or three small strings stored twice
/// (table and entry). A digest is 16 bytes, inline, allocation-free.
/// Two keys share a digest with odds of about 2^-128 per pair; the hash is
/// keyed with per-layer random keys, so a peer cannot craft a collision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyDigest([u64; 2]);

impl Hash for KeyDigest {
    /// Already uniform: one word is enough for the table (see `DigestBuild`).
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.0[0]);
    }
}

/// The layer's digest function: two independently keyed SipHash instances.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyHasher {
    high: RandomState,
    low: RandomState,
}

impl KeyHasher {
    pub(crate) fn digest<K: Hash>(&self, key: &K) -> KeyDigest {
        KeyDigest([self.high.hash_one(key), self.low.hash_one(key)])
    }
}

/// Hasher for tables keyed by `KeyDigest`: the digest is keyed and uniform
/// already, so hashing it again would only cost time.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DigestBuild;

impl BuildHasher for DigestBuild {
    type Hasher = DigestHasher;
    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

#[derive(Debug, Default)]
pub(crate) struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write_u64(&mut self, word: u64) {
        self.0 = word;
    }
    /// Only `KeyDigest` is hashed with this; anything else still spreads.
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

fn branch_of(via: &Via) -> Result<String, SipError> {
    via.branch()
        .filter(|b| !b.is_empty())
        .map(str::to_string)
        .ok_or_else(|| SipError::header("Via", "no branch parameter"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::test_support::{invite, request, response};

    #[test]
    fn ack_keys_to_its_invite_and_cancel_does_not() {
        let inv = invite("z9hG4bK1");
        let ack = request(Method::Ack, "z9hG4bK1");
        let cancel = request(Method::Cancel, "z9hG4bK1");
        let k_inv = ServerKey::for_request(&inv).unwrap();
        assert_eq!(ServerKey::for_request(&ack).unwrap(), k_inv);
        let k_cancel = ServerKey::for_request(&cancel).unwrap();
        assert_ne!(k_cancel, k_inv);
        assert_eq!(k_cancel.with_method(Method::Invite), k_inv);
    }

    #[test]
    fn sent_by_distinguishes_equal_branches_and_defaults_port() {
        let a = invite("z9hG4bK1");
        let mut b = a.clone();
        b.headers
            .set("Via", "SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK1");
        assert_ne!(
            ServerKey::for_request(&a).unwrap(),
            ServerKey::for_request(&b).unwrap()
        );
        let mut c = a.clone();
        c.headers
            .set("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1");
        assert_eq!(
            ServerKey::for_request(&a).unwrap(),
            ServerKey::for_request(&c).unwrap(),
            "absent port means 5060"
        );
    }

    #[test]
    fn rfc2543_requests_key_without_to_tag() {
        let inv = invite("oldstyle1");
        let mut ack = request(Method::Ack, "oldstyle1");
        ack.headers.set("To", "<sip:op1@192.0.2.10>;tag=abc");
        let k = ServerKey::for_request(&inv).unwrap();
        assert!(matches!(k, ServerKey::Rfc2543(_)));
        assert_eq!(ServerKey::for_request(&ack).unwrap(), k);
    }

    #[test]
    fn client_key_uses_cseq_method_of_response() {
        let inv = invite("z9hG4bK9");
        let cancel = request(Method::Cancel, "z9hG4bK9");
        assert_eq!(
            ClientKey::for_response(&response(&inv, 487)).unwrap(),
            ClientKey::for_request(&inv).unwrap()
        );
        assert_eq!(
            ClientKey::for_response(&response(&cancel, 200)).unwrap(),
            ClientKey::for_request(&cancel).unwrap()
        );
    }

    #[test]
    fn digests_follow_key_equality() {
        let hasher = KeyHasher::default();
        let inv = invite("z9hG4bK1");
        let ack = request(Method::Ack, "z9hG4bK1");
        let other = invite("z9hG4bK2");
        let k = |r: &Request| hasher.digest(&ServerKey::for_request(r).unwrap());
        assert_eq!(k(&inv), k(&ack));
        assert_ne!(k(&inv), k(&other));
        // Another layer's digests differ: the hash is keyed per layer.
        let other_layer = KeyHasher::default();
        assert_ne!(
            k(&inv),
            other_layer.digest(&ServerKey::for_request(&inv).unwrap())
        );
    }

    #[test]
    fn missing_via_or_branch_is_an_error_not_a_panic() {
        let mut r = invite("z9hG4bK1");
        r.headers.remove("Via");
        assert!(ServerKey::for_request(&r).is_err());
        assert!(ClientKey::for_request(&r).is_err());
        let mut r = invite("z9hG4bK1");
        r.headers.set("Via", "SIP/2.0/UDP 192.0.2.1");
        assert!(ClientKey::for_request(&r).is_err());
    }
}
