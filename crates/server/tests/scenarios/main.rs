//! Whole-call scenarios of the signalling core on a simulated clock.
//!
//! Each test drives `switchboard::switch::Core` with SIP text as SIPp, a
//! trunk or a softphone would send it, advances a simulated clock (no
//! sleeps), and asserts on the bytes the core sends back (parsed with
//! `sip::parse_message`), the bindings and call records it emits, and what
//! it asked of a recording media double. Real media is covered by the
//! interop tests in `tests/`.

mod harness;
mod peers;

mod echo_hold;
mod inbound;
mod ivr;
mod keepalive;
mod outbound;
mod recording;
mod register;
mod ringing;
mod robustness;
mod timers;
