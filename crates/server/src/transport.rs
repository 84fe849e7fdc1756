//! SIP transports: UDP (one message per datagram) and TCP (Content-Length
//! framing) on the same address. The transport knows bytes and addresses only;
//! parsing and every decision happen in the core.

use std::net::SocketAddr;
use std::sync::Arc;

use dashmap::DashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

/// The largest SIP message we accept on any transport (also the UDP buffer).
pub const MAX_MESSAGE: usize = sip::parse::MAX_MESSAGE_SIZE;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    pub fn as_via(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

/// Where a message came from or goes to. For TCP the remote address names
/// the connection, which is how replies reach a NATed operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    pub transport: Transport,
    pub addr: SocketAddr,
}

/// What the transports hand to the core.
#[derive(Debug)]
pub enum Inbound {
    /// A complete message (a datagram, or one framed message from a stream).
    Message { peer: Peer, data: Vec<u8> },
}

/// Sending side shared by the core.
#[derive(Clone)]
pub struct Transports {
    udp: Arc<UdpSocket>,
    tcp: Arc<DashMap<SocketAddr, mpsc::UnboundedSender<Vec<u8>>>>,
    inbound: mpsc::Sender<Inbound>,
    local: SocketAddr,
}

impl Transports {
    /// Binds UDP and TCP on `addr` and starts their receive loops.
    pub async fn bind(addr: SocketAddr, inbound: mpsc::Sender<Inbound>) -> std::io::Result<Self> {
        let udp = Arc::new(UdpSocket::bind(addr).await?);
        let local = udp.local_addr()?;
        // TCP on the same port UDP got (matters when the config says port 0).
        let listener = TcpListener::bind(local).await?;
        let me = Transports {
            udp: udp.clone(),
            tcp: Arc::new(DashMap::new()),
            inbound,
            local,
        };
        tokio::spawn(udp_loop(udp, me.inbound.clone()));
        tokio::spawn(accept_loop(listener, me.clone()));
        Ok(me)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Sends without waiting. UDP failures are logged (the transaction layer
    /// retransmits); TCP opens a connection when none is up to that address.
    pub fn send(&self, peer: Peer, data: Vec<u8>) {
        match peer.transport {
            Transport::Udp => {
                if let Err(e) = self.udp.try_send_to(&data, peer.addr) {
                    tracing::debug!(to = %peer.addr, "udp send failed: {e}");
                }
            }
            Transport::Tcp => {
                if let Some(tx) = self.tcp.get(&peer.addr) {
                    if tx.send(data).is_ok() {
                        return;
                    }
                    return;
                }
                let me = self.clone();
                tokio::spawn(async move {
                    match TcpStream::connect(peer.addr).await {
                        Ok(stream) => {
                            let tx = me.adopt(stream, peer.addr);
                            let _ = tx.send(data);
                        }
                        Err(e) => tracing::debug!(to = %peer.addr, "tcp connect failed: {e}"),
                    }
                });
            }
        }
    }

    /// Registers a connection and starts its reader and writer.
    fn adopt(&self, stream: TcpStream, remote: SocketAddr) -> mpsc::UnboundedSender<Vec<u8>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.tcp.insert(remote, tx.clone());
        let (reader, writer) = stream.into_split();
        tokio::spawn(tcp_writer(writer, rx));
        let me = self.clone();
        let tx_reply = tx.clone();
        tokio::spawn(async move {
            tcp_reader(reader, remote, me.inbound.clone(), Some(tx_reply)).await;
            me.tcp.remove(&remote);
        });
        tx
    }
}

async fn udp_loop(udp: Arc<UdpSocket>, inbound: mpsc::Sender<Inbound>) {
    let mut buf = vec![0u8; 65536];
    loop {
        match udp.recv_from(&mut buf).await {
            Ok((n, addr)) => {
                // Keepalives (CRLF) and runts are not SIP; drop them here.
                if buf[..n].iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                let peer = Peer {
                    transport: Transport::Udp,
                    addr,
                };
                if inbound
                    .send(Inbound::Message {
                        peer,
                        data: buf[..n].to_vec(),
                    })
                    .await
                    .is_err()
                {
                    return;
                }
            }
            // ICMP port unreachable shows up as an error on some systems; keep serving.
            Err(e) => tracing::debug!("udp recv: {e}"),
        }
    }
}

async fn accept_loop(listener: TcpListener, me: Transports) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let _ = stream.set_nodelay(true);
                me.adopt(stream, remote);
            }
            Err(e) => {
                tracing::warn!("tcp accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn tcp_reader(
    mut reader: tokio::net::tcp::OwnedReadHalf,
    remote: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
    reply: Option<mpsc::UnboundedSender<Vec<u8>>>,
) {
    let peer = Peer {
        transport: Transport::Tcp,
        addr: remote,
    };
    let mut framer = sip::framing::StreamFramer::new();
    let mut buf = vec![0u8; 16384];
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        framer.push(&buf[..n]);
        while let Some(frame) = framer.next_message() {
            let item = match frame {
                Ok(data) => Inbound::Message { peer, data },
                Err(e) => {
                    // The stream cannot be resynchronised: answer if the
                    // head was a request, then close (RFC 3261 18.3).
                    tracing::info!(from = %remote, "closing TCP connection: {e}");
                    if let (Some(resp), Some(tx)) = (e.response(), reply.as_ref()) {
                        let _ = tx.send(resp.to_bytes());
                    }
                    return;
                }
            };
            if inbound.send(item).await.is_err() {
                return;
            }
        }
    }
}

async fn tcp_writer(
    mut writer: tokio::net::tcp::OwnedWriteHalf,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    while let Some(data) = rx.recv().await {
        if writer.write_all(&data).await.is_err() {
            return;
        }
    }
    let _ = writer.shutdown().await;
}
