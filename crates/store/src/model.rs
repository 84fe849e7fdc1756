//! What the store keeps: operator registrations and call records.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

/// Seconds since the Unix epoch. Registrations expire at whole seconds, as SIP Expires counts them.
pub type UnixSeconds = i64;
/// Milliseconds since the Unix epoch. Call timestamps, precise enough for setup-time statistics.
pub type UnixMillis = i64;

/// SIP transport a contact registered over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

/// One registered contact of an operator. An operator may have several (phone and laptop); the
/// pair (`username`, `contact`) identifies one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub username: String,
    /// The Contact URI as the phone sent it.
    pub contact: String,
    /// Where the REGISTER came from: behind NAT this, not the Contact, is how to reach the phone.
    pub received: SocketAddr,
    pub transport: Transport,
    pub expires_at: UnixSeconds,
    pub user_agent: Option<String>,
    /// RFC 5626 `+sip.instance` and `reg-id`, when the phone sent them.
    pub instance_id: Option<String>,
    pub reg_id: Option<u32>,
    /// False once keepalives went unanswered; such contacts are not rung.
    pub reachable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// A customer called in through a trunk.
    Inbound,
    /// An operator called out through a trunk.
    Outbound,
}

/// How a call ended, from the store's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// An operator (or, outbound, the customer) answered.
    Answered,
    /// Nobody answered before the ring timeout.
    Missed,
    /// The caller hung up before anyone answered.
    Abandoned,
    /// The call could not be set up (no operator registered, trunk error, ...).
    Failed,
    /// Everyone rung was busy.
    Busy,
}

/// Which side ended the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HangupBy {
    Caller,
    Callee,
    /// The switch itself: ring timeout, media timeout, shutdown.
    Switch,
}

/// What the switch received from one side of a call (RTP reception figures when its leg closed).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct LegQuality {
    pub packets: i64,
    /// Expected minus received (negative with duplicates).
    pub lost: i64,
    /// Interarrival jitter (RFC 3550 A.8).
    pub jitter_ms: f64,
    /// Estimated MOS, 1.0 to 4.5.
    pub mos: f64,
}

/// Media figures of a call. They arrive from the media engine after the call ended (the recording's
/// file is finished and each leg's figures are final only then), so they are stored by
/// [`crate::CallStore::update_call_media`] into a record inserted earlier; `None` is "not known".
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CallMedia {
    /// Length of the audio in the recording file.
    pub recording_duration_ms: Option<i64>,
    /// The caller's leg (the customer, inbound).
    pub caller: Option<LegQuality>,
    /// The answered operator's (or external number's) leg.
    pub operator: Option<LegQuality>,
}

/// A finished call. Written once, when the call is over; its `media` may be completed later.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    /// Unique within `node_id` (the pair is the key), e.g. the inbound leg's Call-ID.
    pub id: String,
    pub node_id: String,
    pub started_at: UnixMillis,
    pub answered_at: Option<UnixMillis>,
    pub ended_at: UnixMillis,
    pub direction: Direction,
    /// Caller's number or username, as the From user part.
    pub caller: String,
    /// The dialled number: the virtual number for inbound calls, the customer's for outbound.
    pub callee: String,
    pub trunk: Option<String>,
    /// The virtual number's display name, landing page and campaign, copied from the plan at call
    /// time so reports stay right after the config changes.
    pub number_name: Option<String>,
    pub landing_page: Option<String>,
    pub campaign: Option<String>,
    /// Who answered (inbound) or who called (outbound).
    pub operator: Option<String>,
    pub disposition: Disposition,
    pub hangup_by: Option<HangupBy>,
    /// E.g. "BYE", "CANCEL", "486 Busy Here", "media timeout".
    pub hangup_reason: Option<String>,
    pub recording_path: Option<String>,
    pub media: CallMedia,
}

impl CallRecord {
    /// Talk time: answer to end; zero for unanswered calls.
    pub fn talk_millis(&self) -> i64 {
        self.answered_at
            .map_or(0, |answered| (self.ended_at - answered).max(0))
    }

    /// Start to end, ringing included.
    pub fn total_millis(&self) -> i64 {
        (self.ended_at - self.started_at).max(0)
    }
}

/// Text forms used in the database, stable across versions (the enums' names may change, the
/// stored words may not).
macro_rules! text_enum {
    ($ty:ident { $($variant:ident = $text:literal),* $(,)? }) => {
        impl $ty {
            pub fn as_str(&self) -> &'static str {
                match self {
                    $($ty::$variant => $text),*
                }
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($text => Ok($ty::$variant),)*
                    other => Err(format!("unknown {} `{other}`", stringify!($ty))),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(Transport { Udp = "udp", Tcp = "tcp", Tls = "tls" });
text_enum!(Direction { Inbound = "inbound", Outbound = "outbound" });
text_enum!(Disposition {
    Answered = "answered",
    Missed = "missed",
    Abandoned = "abandoned",
    Failed = "failed",
    Busy = "busy",
});
text_enum!(HangupBy { Caller = "caller", Callee = "callee", Switch = "switch" });

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_forms_round_trip() {
        for d in [
            Disposition::Answered,
            Disposition::Missed,
            Disposition::Abandoned,
            Disposition::Failed,
            Disposition::Busy,
        ] {
            assert_eq!(d.as_str().parse::<Disposition>(), Ok(d));
        }
        assert_eq!("tcp".parse::<Transport>(), Ok(Transport::Tcp));
        assert!("TCP".parse::<Transport>().is_err());
        assert_eq!(HangupBy::Switch.to_string(), "switch");
    }
}
