//! Client for baresip's `ctrl_tcp` module: JSON objects framed as netstrings
//! (`<len>:<json>,`) over TCP. Commands are `{"command","params","token"}`;
//! baresip answers `{"response":true,"ok":..,"data":..,"token":..}` and sends
//! `{"event":true,"type":"CALL_ESTABLISHED",..}` for everything that happens
//! (registration, calls, DTMF). A reader thread keeps every event so a test
//! can wait for one that may already have arrived.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::Value;

/// One event from baresip.
#[derive(Debug, Clone)]
pub struct Event {
    /// e.g. `REGISTER_OK`, `CALL_INCOMING`, `CALL_ESTABLISHED`,
    /// `CALL_DTMF_START`, `CALL_CLOSED`.
    pub kind: String,
    /// `param`: the digit for DTMF, the reason for CALL_CLOSED, ...
    pub param: String,
    pub peer_uri: String,
    pub call_id: String,
    pub raw: Value,
}

impl Event {
    fn from_json(v: Value) -> Event {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
        Event {
            kind: s("type"),
            param: s("param"),
            peer_uri: s("peeruri"),
            call_id: s("id"),
            raw: v,
        }
    }
}

/// baresip's answer to a command.
#[derive(Debug, Clone)]
pub struct Response {
    pub ok: bool,
    pub data: String,
}

#[derive(Default)]
struct State {
    events: Vec<Event>,
    responses: HashMap<String, Response>,
    closed: bool,
}

type Shared = Arc<(Mutex<State>, Condvar)>;

pub struct Ctrl {
    stream: TcpStream,
    shared: Shared,
    next_token: Mutex<u64>,
    reader: Option<JoinHandle<()>>,
}

impl Ctrl {
    /// Connects to 127.0.0.1:`port`, retrying until `timeout` (baresip opens
    /// the port a moment after it starts).
    #[allow(clippy::disallowed_methods)] // a driver: deadlines need the real clock
    pub fn connect(port: u16, timeout: Duration) -> Result<Ctrl> {
        let deadline = std::time::Instant::now() + timeout;
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) if std::time::Instant::now() >= deadline => {
                    return Err(e).context(format!("connect to ctrl_tcp on port {port}"));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        let shared: Shared = Arc::default();
        let rd = stream.try_clone()?;
        let sh = shared.clone();
        let reader = std::thread::spawn(move || read_loop(rd, sh));
        Ok(Ctrl {
            stream,
            shared,
            next_token: Mutex::new(1),
            reader: Some(reader),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a command (e.g. `dial`, `accept`, `hangup`, `reginfo`, `quit`)
    /// and waits for its response.
    pub fn command(&self, command: &str, params: &str, timeout: Duration) -> Result<Response> {
        let token = {
            let mut t = self.next_token.lock().unwrap_or_else(|e| e.into_inner());
            *t += 1;
            t.to_string()
        };
        let body = serde_json::json!({"command": command, "params": params, "token": token});
        let body = body.to_string();
        let frame = format!("{}:{},", body.len(), body);
        (&self.stream)
            .write_all(frame.as_bytes())
            .with_context(|| format!("send ctrl command {command}"))?;
        let (_, cv) = &*self.shared;
        let st = self.lock();
        let (mut st, _) = cv
            .wait_timeout_while(st, timeout, |s| {
                !s.closed && !s.responses.contains_key(&token)
            })
            .unwrap_or_else(|e| e.into_inner());
        match st.responses.remove(&token) {
            Some(r) => Ok(r),
            None if st.closed => bail!("baresip closed ctrl_tcp before answering {command}"),
            None => bail!("no answer to ctrl command {command} within {timeout:?}"),
        }
    }

    /// Waits until an event matching `pred` has arrived (searching every
    /// event since connecting) and returns the first such event.
    pub fn wait_event_where(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&Event) -> bool,
    ) -> Result<Event> {
        let (_, cv) = &*self.shared;
        let st = self.lock();
        let (st, _) = cv
            .wait_timeout_while(st, timeout, |s| !s.closed && !s.events.iter().any(&pred))
            .unwrap_or_else(|e| e.into_inner());
        if let Some(e) = st.events.iter().find(|e| pred(e)) {
            return Ok(e.clone());
        }
        let seen: Vec<String> = st
            .events
            .iter()
            .map(|e| format!("{}({})", e.kind, e.param))
            .collect();
        bail!(
            "no {what} event within {timeout:?}{}; events so far: {}",
            if st.closed {
                " (ctrl connection closed)"
            } else {
                ""
            },
            seen.join(", ")
        )
    }

    /// Waits for the first event of type `kind` (e.g. `CALL_ESTABLISHED`).
    pub fn wait_event(&self, kind: &str, timeout: Duration) -> Result<Event> {
        self.wait_event_where(kind, timeout, |e| e.kind == kind)
    }

    /// Every event received so far.
    pub fn events(&self) -> Vec<Event> {
        self.lock().events.clone()
    }

    /// Events of type `kind` received so far.
    pub fn events_of(&self, kind: &str) -> Vec<Event> {
        self.lock()
            .events
            .iter()
            .filter(|e| e.kind == kind)
            .cloned()
            .collect()
    }
}

impl Drop for Ctrl {
    fn drop(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

/// Reads netstrings until EOF, filing responses by token and keeping events.
fn read_loop(mut stream: TcpStream, shared: Shared) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        buf.extend_from_slice(&chunk[..n]);
        let mut frames = Vec::new();
        loop {
            match take_netstring(&mut buf) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(_) => {
                    // Lost framing: nothing after this can be trusted.
                    buf.clear();
                    break;
                }
            }
        }
        if frames.is_empty() {
            continue;
        }
        let (m, cv) = &*shared;
        let mut st = m.lock().unwrap_or_else(|e| e.into_inner());
        for f in frames {
            let Ok(v) = serde_json::from_slice::<Value>(&f) else {
                continue;
            };
            if v.get("response").and_then(Value::as_bool) == Some(true) {
                let token = match v.get("token") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                let r = Response {
                    ok: v.get("ok").and_then(Value::as_bool).unwrap_or(false),
                    data: v
                        .get("data")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_owned(),
                };
                st.responses.insert(token, r);
            } else if v.get("event").and_then(Value::as_bool) == Some(true) {
                st.events.push(Event::from_json(v));
            }
        }
        cv.notify_all();
    }
    let (m, cv) = &*shared;
    m.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
    cv.notify_all();
}

/// Removes one complete netstring from the front of `buf`: `Ok(None)` when
/// more bytes are needed, `Err` when the bytes are not a netstring.
pub fn take_netstring(buf: &mut Vec<u8>) -> Result<Option<Vec<u8>>> {
    let Some(colon) = buf.iter().position(|&b| b == b':') else {
        if buf.len() > 10 || !buf.iter().all(u8::is_ascii_digit) {
            bail!("netstring length prefix is not a number");
        }
        return Ok(None);
    };
    let len: usize = std::str::from_utf8(&buf[..colon])
        .ok()
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("bad netstring length"))?;
    let end = colon + 1 + len;
    if buf.len() <= end {
        return Ok(None);
    }
    if buf[end] != b',' {
        bail!("netstring not terminated by ','");
    }
    let payload = buf[colon + 1..end].to_vec();
    buf.drain(..=end);
    Ok(Some(payload))
}

#[cfg(test)]
mod tests {
    use super::take_netstring;

    #[test]
    fn splits_netstrings_and_waits_for_the_rest() {
        let mut b = b"3:abc,5:he".to_vec();
        assert_eq!(take_netstring(&mut b).unwrap(), Some(b"abc".to_vec()));
        assert_eq!(take_netstring(&mut b).unwrap(), None);
        b.extend_from_slice(b"llo,");
        assert_eq!(take_netstring(&mut b).unwrap(), Some(b"hello".to_vec()));
        assert!(b.is_empty());
        let mut bad = b"3:abcX".to_vec();
        assert!(take_netstring(&mut bad).is_err());
        let mut junk = b"{\"a\":1}".to_vec();
        assert!(take_netstring(&mut junk).is_err());
    }
}
