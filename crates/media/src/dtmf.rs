//! RFC 4733 telephone-event: receiving digits and generating them.
//!
//! Receiver: an event is identified by its RTP timestamp (the event's start,
//! repeated in every packet of the event). It is reported once, when its end
//! packet arrives; the end packet's retransmissions (normally three copies)
//! and any straggler with the same timestamp are ignored. If the end packets
//! are all lost, the event is closed by a timeout on `now`, or as soon as a
//! different event starts.
//!
//! Generator: the packets for one digit, one per 20 ms tick: a first packet
//! with the marker bit, growing durations, then the end packet three times.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::MediaError;

/// Length of one event block (RFC 4733 section 2.3).
pub const EVENT_LEN: usize = 4;
/// How often the end packet is sent (RFC 4733 section 2.5.1.4).
pub const END_REPEATS: u8 = 3;
/// Default time after the last packet of an event without an end packet
/// before it is taken as ended.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);
/// Samples between event packets (20 ms at 8 kHz).
const PACKET_SAMPLES: u16 = 160;
/// Digits kept for the caller between polls.
const QUEUE: usize = 8;

/// One telephone-event payload block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    pub event: u8,
    pub end: bool,
    /// Power level in -dBm0 (0..=63).
    pub volume: u8,
    /// Duration so far, in RTP timestamp units.
    pub duration: u16,
}

impl EventPayload {
    /// Read the first event block of an RTP payload.
    ///
    /// # Errors
    /// [`MediaError::Event`] when the payload is shorter than 4 bytes.
    pub fn parse(payload: &[u8]) -> Result<EventPayload, MediaError> {
        let b: &[u8; EVENT_LEN] = payload
            .get(..EVENT_LEN)
            .and_then(|b| b.try_into().ok())
            .ok_or(MediaError::Event("shorter than 4 bytes"))?;
        Ok(EventPayload {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }

    #[must_use]
    pub fn to_bytes(&self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (self.volume & 0x3F) | if self.end { 0x80 } else { 0 },
            d[0],
            d[1],
        ]
    }
}

/// The DTMF symbol of events 0..=16 (16 is flash, shown as `!`).
#[must_use]
pub fn event_symbol(event: u8) -> Option<char> {
    Some(match event {
        0..=9 => char::from(b'0' + event),
        10 => '*',
        11 => '#',
        12..=15 => char::from(b'A' + event - 12),
        16 => '!',
        _ => return None,
    })
}

/// The event code of a DTMF symbol (inverse of [`event_symbol`]).
#[must_use]
pub fn symbol_event(symbol: char) -> Option<u8> {
    Some(match symbol {
        '0'..='9' => symbol as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => symbol as u8 - b'A' + 12,
        'a'..='d' => symbol as u8 - b'a' + 12,
        '!' => 16,
        _ => return None,
    })
}

/// A received digit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfDigit {
    pub event: u8,
    pub symbol: char,
    /// Duration in samples as last reported by the sender.
    pub duration: u16,
    /// False when the end packet never came and a timeout or the next event
    /// closed it.
    pub ended_cleanly: bool,
}

#[derive(Debug, Clone, Copy)]
struct Current {
    ts: u32,
    event: u8,
    duration: u16,
    last_seen: Instant,
}

/// Receives telephone-event packets of one leg and reports digits.
#[derive(Debug)]
pub struct DtmfReceiver {
    timeout: Duration,
    current: Option<Current>,
    /// Timestamp of the last event that ended, to drop its retransmissions.
    last_ended: Option<u32>,
    ready: VecDeque<DtmfDigit>,
}

impl Default for DtmfReceiver {
    fn default() -> Self {
        DtmfReceiver::new(DEFAULT_TIMEOUT)
    }
}

impl DtmfReceiver {
    #[must_use]
    pub fn new(timeout: Duration) -> DtmfReceiver {
        DtmfReceiver {
            timeout,
            current: None,
            last_ended: None,
            ready: VecDeque::with_capacity(QUEUE),
        }
    }

    /// Feed one telephone-event packet: its RTP timestamp and marker bit
    /// and its payload.
    ///
    /// # Errors
    /// [`MediaError::Event`] for a payload too short to be an event.
    pub fn handle_packet(
        &mut self,
        rtp_ts: u32,
        marker: bool,
        payload: &[u8],
        now: Instant,
    ) -> Result<(), MediaError> {
        let ev = EventPayload::parse(payload)?;
        if event_symbol(ev.event).is_none() || self.last_ended == Some(rtp_ts) {
            return Ok(());
        }
        match self.current {
            Some(c) if c.ts == rtp_ts => {}
            // RFC 4733 2.5.1.3: a long event continues in a new segment with a
            // new timestamp and no marker; it is still the same key press.
            Some(c) if c.event == ev.event && !marker && rtp_ts.wrapping_sub(c.ts) as i32 > 0 => {
                self.current = Some(Current { ts: rtp_ts, ..c });
            }
            Some(_) => {
                self.finish(false);
                self.current = Some(Current {
                    ts: rtp_ts,
                    event: ev.event,
                    duration: 0,
                    last_seen: now,
                });
            }
            None => {
                self.current = Some(Current {
                    ts: rtp_ts,
                    event: ev.event,
                    duration: 0,
                    last_seen: now,
                });
            }
        }
        if let Some(c) = &mut self.current {
            c.duration = c.duration.max(ev.duration);
            c.last_seen = now;
        }
        if ev.end {
            self.last_ended = Some(rtp_ts);
            self.finish(true);
        }
        Ok(())
    }

    /// Next received digit, closing a timed-out event first.
    #[must_use]
    pub fn poll_digit(&mut self, now: Instant) -> Option<DtmfDigit> {
        if let Some(c) = self.current {
            if now >= c.last_seen + self.timeout {
                self.last_ended = Some(c.ts);
                self.finish(false);
            }
        }
        self.ready.pop_front()
    }

    /// When [`DtmfReceiver::poll_digit`] should be called again for a timeout.
    #[must_use]
    pub fn next_deadline(&self) -> Option<Instant> {
        self.current.map(|c| c.last_seen + self.timeout)
    }

    fn finish(&mut self, ended_cleanly: bool) {
        let Some(c) = self.current.take() else { return };
        let Some(symbol) = event_symbol(c.event) else {
            return;
        };
        if self.ready.len() == QUEUE {
            // The caller stopped polling; keep the newest digits.
            self.ready.pop_front();
        }
        self.ready.push_back(DtmfDigit {
            event: c.event,
            symbol,
            duration: c.duration,
            ended_cleanly,
        });
    }
}

/// One generated event packet: payload plus the RTP marker bit. All packets
/// of an event carry the event's start timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPacket {
    pub marker: bool,
    pub payload: [u8; EVENT_LEN],
}

/// Generates the packets of one digit, one call per 20 ms tick.
#[derive(Debug, Clone)]
pub struct DtmfSender {
    event: u8,
    volume: u8,
    total: u16,
    sent_duration: u16,
    ends_sent: u8,
    started: bool,
}

impl DtmfSender {
    /// A digit of `duration` samples (at least one packet's worth) at
    /// `volume` -dBm0 (10 is typical).
    #[must_use]
    pub fn new(event: u8, duration: u16, volume: u8) -> DtmfSender {
        DtmfSender {
            event,
            volume: volume.min(63),
            total: duration.max(PACKET_SAMPLES),
            sent_duration: 0,
            ends_sent: 0,
            started: false,
        }
    }

    /// A digit given as its symbol and a duration in milliseconds.
    #[must_use]
    pub fn for_symbol(symbol: char, duration_ms: u16) -> Option<DtmfSender> {
        let samples = u16::try_from(u32::from(duration_ms) * 8).unwrap_or(u16::MAX);
        symbol_event(symbol).map(|e| DtmfSender::new(e, samples, 10))
    }

    /// The next packet, or `None` when the event is complete.
    #[must_use]
    pub fn next_packet(&mut self) -> Option<EventPacket> {
        if self.ends_sent >= END_REPEATS {
            return None;
        }
        let marker = !self.started;
        self.started = true;
        self.sent_duration = self
            .sent_duration
            .saturating_add(PACKET_SAMPLES)
            .min(self.total);
        let end = self.sent_duration >= self.total;
        if end {
            self.ends_sent += 1;
        }
        let payload = EventPayload {
            event: self.event,
            end,
            volume: self.volume,
            duration: self.sent_duration,
        };
        Some(EventPacket {
            marker,
            payload: payload.to_bytes(),
        })
    }

    #[must_use]
    pub fn is_done(&self) -> bool {
        self.ends_sent >= END_REPEATS
    }
}
