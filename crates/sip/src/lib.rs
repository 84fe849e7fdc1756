//! SIP for switchboard: messages, parsing, serialising, transactions, dialogs
//! and digest authentication. Sans-IO: nothing here touches a socket or a clock;
//! callers pass `now` in and take datagrams and deadlines out.

pub mod auth;
pub mod error;
pub mod framing;
pub mod headers;
pub mod message;
pub mod parse;
pub mod registration;
pub mod serialize;
pub mod uri;

pub use auth::{
    authorization_for, Algorithm, AuthOutcome, Challenge, Credentials, DigestServer, Secret,
};
pub use error::{FramingError, ParseError, SipError};
pub use framing::StreamFramer;
pub use headers::{
    new_branch, new_call_id, new_tag, parse_name_addr_list, CSeq, Contacts, NameAddr, Params, Via,
    BRANCH_MAGIC,
};
pub use message::{Header, Headers, Message, Method, Request, Response};
pub use parse::{parse_message, MAX_MESSAGE_SIZE};
pub use uri::SipUri;
pub mod dialog;
pub mod transaction;
