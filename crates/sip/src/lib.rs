//! SIP for switchboard: messages, parsing, serialising, transactions, dialogs
//! and digest authentication. Sans-IO: nothing here touches a socket or a clock;
//! callers pass `now` in and take datagrams and deadlines out.

pub mod message;

pub use message::{Header, Headers, Message, Method, Request, Response};
pub mod dialog;
pub mod transaction;
