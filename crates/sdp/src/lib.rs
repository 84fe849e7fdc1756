//! SDP for switchboard (RFC 4566 syntax, RFC 3264 offer/answer), audio only.
//!
//! [`SessionDescription::parse`] turns a body into a model that keeps every line
//! it does not interpret, so a parsed description serialises back to the same
//! lines. [`answer`] and [`offer`] build the descriptions the switch sends on
//! its legs; [`NegotiatedAudio`] is what the media worker needs from them.
//! Nothing here panics on peer input: malformed bodies give an [`SdpError`].

mod codec;
mod error;
mod model;
mod negotiate;
mod parse;
mod write;

pub use codec::{AudioCodec, TELEPHONE_EVENT_FMTP};
pub use error::SdpError;
pub use model::{
    Attribute, Connection, Direction, MediaDescription, Origin, RtpMap, SessionDescription,
};
pub use negotiate::{
    answer, negotiated_from_answer, offer, AnswerParams, NegotiatedAudio, OfferParams,
};
