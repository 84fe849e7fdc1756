//! A minimal HTTP/1.1 POST over a plain TCP stream: webhooks need no more (one request per
//! connection, `Connection: close`, only the status line of the answer is read).

use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use dialplan::WebhookUrl;

/// POSTs `body` to `url` with `headers`; the answer's status code. `timeout` bounds the whole
/// attempt (name lookup aside: the system resolver has no timeout to give it).
pub fn post(
    url: &WebhookUrl,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> io::Result<u16> {
    let deadline = now() + timeout;
    let mut stream = connect(url, timeout)?;
    let mut request = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
        url.path,
        url.authority(),
        body.len()
    );
    for (name, value) in headers {
        request.push_str(name);
        request.push_str(": ");
        request.push_str(value);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    stream.set_write_timeout(Some(left(deadline)?))?;
    stream.write_all(&bytes)?;
    read_status(&mut stream, deadline)
}

fn connect(url: &WebhookUrl, timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address for the host");
    for addr in (url.host.as_str(), url.port).to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Reads up to the end of the status line, `HTTP/1.x NNN ...`.
fn read_status(stream: &mut TcpStream, deadline: Instant) -> io::Result<u16> {
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 512];
    loop {
        if let Some(end) = head.windows(2).position(|w| w == b"\r\n") {
            return parse_status(&head[..end]);
        }
        if head.len() > 8192 {
            return Err(invalid("status line too long"));
        }
        stream.set_read_timeout(Some(left(deadline)?))?;
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return match head.is_empty() {
                true => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "connection closed without an answer",
                )),
                false => parse_status(&head),
            };
        }
        head.extend_from_slice(&buf[..n]);
    }
}

fn parse_status(line: &[u8]) -> io::Result<u16> {
    let line = std::str::from_utf8(line).map_err(|_| invalid("status line is not text"))?;
    let mut parts = line.split(' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return Err(invalid("not an HTTP/1.x status line"));
    }
    code.parse::<u16>()
        .ok()
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| invalid("bad status code"))
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

fn left(deadline: Instant) -> io::Result<Duration> {
    let d = deadline.saturating_duration_since(now());
    if d.is_zero() {
        Err(io::Error::new(io::ErrorKind::TimedOut, "timed out"))
    } else {
        Ok(d)
    }
}

/// The sender thread is a driver: it reads the clock to bound its attempts.
#[allow(clippy::disallowed_methods)]
fn now() -> Instant {
    Instant::now()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn status_lines() {
        assert_eq!(parse_status(b"HTTP/1.1 204 No Content").unwrap(), 204);
        assert_eq!(parse_status(b"HTTP/1.0 500").unwrap(), 500);
        assert!(parse_status(b"SIP/2.0 200 OK").is_err());
        assert!(parse_status(b"HTTP/1.1 2000 OK").is_err());
        assert!(parse_status(b"HTTP/1.1 099 x").is_err());
    }

    #[test]
    fn posts_the_body_and_reads_the_status() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url: WebhookUrl = format!("http://{}/in?x=1", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 1024];
            while !got.ends_with(b"{\"a\":1}") {
                let n = s.read(&mut buf).unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            s.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .unwrap();
            String::from_utf8(got).unwrap()
        });
        let code = post(
            &url,
            &[("Content-Type", "application/json")],
            b"{\"a\":1}",
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(code, 202);
        let req = server.join().unwrap();
        assert!(req.starts_with("POST /in?x=1 HTTP/1.1\r\n"), "{req}");
        assert!(req.contains("\r\nContent-Length: 7\r\n"), "{req}");
        assert!(
            req.contains("\r\nContent-Type: application/json\r\n"),
            "{req}"
        );
    }

    #[test]
    fn a_silent_endpoint_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url: WebhookUrl = format!("http://{}/", listener.local_addr().unwrap())
            .parse()
            .unwrap();
        // Accepted by the kernel's backlog, never answered.
        let err = post(&url, &[], b"{}", Duration::from_millis(200)).unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ),
            "{err:?}"
        );
        drop(listener);
    }
}
