//! RTCP compound packets (RFC 3550 section 6): validation, iteration, sender
//! and receiver reports.
//!
//! The switch terminates RTCP on every leg like it terminates RTP: it reads
//! the peer's reports (loss, jitter, BYE) and writes its own for the stream
//! it sends. Validation follows RFC 3550 appendix A.2, so a datagram that is
//! not a well-formed compound packet is rejected as a whole.

use crate::MediaError;

pub const SENDER_REPORT: u8 = 200;
pub const RECEIVER_REPORT: u8 = 201;
pub const SOURCE_DESCRIPTION: u8 = 202;
pub const GOODBYE: u8 = 203;
pub const APPLICATION: u8 = 204;

const HEADER_LEN: usize = 4;
const SENDER_INFO_LEN: usize = 24;
const REPORT_BLOCK_LEN: usize = 24;

/// One packet of a compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtcpPacket<'a> {
    pub packet_type: u8,
    /// The 5-bit count field (report blocks, sources, or subtype).
    pub count: u8,
    /// The packet after its 4-byte header, padding removed.
    pub body: &'a [u8],
}

/// A validated compound packet.
#[derive(Debug, Clone, Copy)]
pub struct Compound<'a> {
    buf: &'a [u8],
}

impl<'a> Compound<'a> {
    /// Validate `buf` as a compound RTCP packet (RFC 3550 A.2): version 2
    /// throughout, first packet SR or RR without padding, padding only in the
    /// last packet, and lengths that add up to exactly the datagram.
    ///
    /// # Errors
    /// [`MediaError::Packet`] when any of that does not hold.
    pub fn parse(buf: &'a [u8]) -> Result<Compound<'a>, MediaError> {
        let first = buf
            .get(..2)
            .ok_or(MediaError::Packet("RTCP shorter than a header"))?;
        if first[0] & 0x20 != 0 || !matches!(first[1], SENDER_REPORT | RECEIVER_REPORT) {
            return Err(MediaError::Packet(
                "RTCP must start with SR or RR, unpadded",
            ));
        }
        let mut rest = buf;
        while !rest.is_empty() {
            let (packet, next) = split_packet(rest)?;
            if packet.padded && !next.is_empty() {
                return Err(MediaError::Packet("RTCP padding before the last packet"));
            }
            rest = next;
        }
        Ok(Compound { buf })
    }

    /// The packets, in order.
    pub fn packets(&self) -> impl Iterator<Item = RtcpPacket<'a>> + 'a {
        let mut rest = self.buf;
        std::iter::from_fn(move || {
            let (packet, next) = split_packet(rest).ok()?;
            rest = next;
            Some(packet.packet)
        })
    }

    /// Does the compound packet carry a BYE?
    #[must_use]
    pub fn has_goodbye(&self) -> bool {
        self.packets().any(|p| p.packet_type == GOODBYE)
    }
}

struct Split<'a> {
    packet: RtcpPacket<'a>,
    padded: bool,
}

fn split_packet(buf: &[u8]) -> Result<(Split<'_>, &[u8]), MediaError> {
    let header = buf
        .get(..HEADER_LEN)
        .ok_or(MediaError::Packet("RTCP header cut short"))?;
    if header[0] >> 6 != 2 {
        return Err(MediaError::Packet("RTCP version is not 2"));
    }
    let padded = header[0] & 0x20 != 0;
    let words = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let len = HEADER_LEN + 4 * words;
    let packet = buf
        .get(..len)
        .ok_or(MediaError::Packet("RTCP length past the end"))?;
    let mut body = &packet[HEADER_LEN..];
    if padded {
        let pad = usize::from(body.last().copied().unwrap_or(0));
        if pad == 0 || pad > body.len() {
            return Err(MediaError::Packet("bad RTCP padding"));
        }
        body = &body[..body.len() - pad];
    }
    let split = Split {
        packet: RtcpPacket {
            packet_type: header[1],
            count: header[0] & 0x1F,
            body,
        },
        padded,
    };
    Ok((split, &buf[len..]))
}

/// The sender information of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderInfo {
    pub ssrc: u32,
    /// NTP timestamp, 32.32 fixed point.
    pub ntp: u64,
    pub rtp_timestamp: u32,
    pub packets: u32,
    pub octets: u32,
}

/// One reception report block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub cumulative_lost: i32,
    pub highest_sequence: u32,
    pub jitter: u32,
    pub last_sr: u32,
    pub delay_since_last_sr: u32,
}

/// A parsed SR or RR: the reporter, its sender info (SR only) and blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Report<'a> {
    pub reporter: u32,
    pub sender: Option<SenderInfo>,
    blocks: &'a [u8],
}

impl<'a> Report<'a> {
    /// Read an SR or RR packet; `None` for other types or short bodies.
    #[must_use]
    pub fn parse(packet: &RtcpPacket<'a>) -> Option<Report<'a>> {
        let body = packet.body;
        let (reporter, sender, blocks_at) = match packet.packet_type {
            SENDER_REPORT => {
                let info = body.get(..SENDER_INFO_LEN)?;
                let ssrc = be32(info, 0)?;
                let ntp = (u64::from(be32(info, 4)?) << 32) | u64::from(be32(info, 8)?);
                let sender = SenderInfo {
                    ssrc,
                    ntp,
                    rtp_timestamp: be32(info, 12)?,
                    packets: be32(info, 16)?,
                    octets: be32(info, 20)?,
                };
                (ssrc, Some(sender), SENDER_INFO_LEN)
            }
            RECEIVER_REPORT => (be32(body, 0)?, None, 4),
            _ => return None,
        };
        let blocks_len = usize::from(packet.count) * REPORT_BLOCK_LEN;
        let blocks = body.get(blocks_at..blocks_at + blocks_len)?;
        Some(Report {
            reporter,
            sender,
            blocks,
        })
    }

    /// The reception report blocks.
    pub fn blocks(&self) -> impl Iterator<Item = ReportBlock> + 'a {
        self.blocks.chunks_exact(REPORT_BLOCK_LEN).filter_map(|b| {
            let lost = be32(b, 4)?;
            // Sign-extend the 24-bit cumulative loss.
            let cumulative_lost = ((lost << 8) as i32) >> 8;
            Some(ReportBlock {
                ssrc: be32(b, 0)?,
                fraction_lost: (lost >> 24) as u8,
                cumulative_lost,
                highest_sequence: be32(b, 8)?,
                jitter: be32(b, 12)?,
                last_sr: be32(b, 16)?,
                delay_since_last_sr: be32(b, 20)?,
            })
        })
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_be_bytes(bytes))
}

/// Write an SR with `blocks` into `buf`; returns its length.
///
/// # Errors
/// [`MediaError::BufferTooSmall`] when it does not fit, or more than 31 blocks.
pub fn write_sender_report(
    buf: &mut [u8],
    info: &SenderInfo,
    blocks: &[ReportBlock],
) -> Result<usize, MediaError> {
    let mut w = Writer::start(buf, SENDER_REPORT, blocks.len(), SENDER_INFO_LEN)?;
    w.put(info.ssrc);
    w.put((info.ntp >> 32) as u32);
    w.put(info.ntp as u32);
    w.put(info.rtp_timestamp);
    w.put(info.packets);
    w.put(info.octets);
    Ok(w.finish(blocks))
}

/// Write an RR from `reporter` with `blocks` into `buf`; returns its length.
///
/// # Errors
/// [`MediaError::BufferTooSmall`] when it does not fit, or more than 31 blocks.
pub fn write_receiver_report(
    buf: &mut [u8],
    reporter: u32,
    blocks: &[ReportBlock],
) -> Result<usize, MediaError> {
    let mut w = Writer::start(buf, RECEIVER_REPORT, blocks.len(), 4)?;
    w.put(reporter);
    Ok(w.finish(blocks))
}

/// SDES item type of the canonical name.
const CNAME: u8 = 1;

/// Write an SDES packet with one chunk: `ssrc` and its CNAME (RFC 3550
/// 6.5; every compound packet must carry one). Returns its length.
///
/// # Errors
/// [`MediaError::BufferTooSmall`] when it does not fit; a CNAME longer than
/// 255 bytes is cut.
pub fn write_sdes_cname(buf: &mut [u8], ssrc: u32, cname: &[u8]) -> Result<usize, MediaError> {
    let name = cname.get(..255).unwrap_or(cname);
    // ssrc, type, length, text, then at least one zero octet up to a word.
    let chunk = 4 + 2 + name.len();
    let chunk = (chunk / 4 + 1) * 4;
    let len = HEADER_LEN + chunk;
    if buf.len() < len {
        return Err(MediaError::BufferTooSmall {
            need: len,
            have: buf.len(),
        });
    }
    let out = &mut buf[..len];
    out.fill(0);
    out[0] = 0x80 | 1;
    out[1] = SOURCE_DESCRIPTION;
    out[2..4].copy_from_slice(&(((len / 4) - 1) as u16).to_be_bytes());
    out[4..8].copy_from_slice(&ssrc.to_be_bytes());
    out[8] = CNAME;
    out[9] = name.len() as u8;
    out[10..10 + name.len()].copy_from_slice(name);
    Ok(len)
}

struct Writer<'a> {
    buf: &'a mut [u8],
    at: usize,
}

impl<'a> Writer<'a> {
    fn start(
        buf: &'a mut [u8],
        kind: u8,
        blocks: usize,
        fixed: usize,
    ) -> Result<Writer<'a>, MediaError> {
        let len = HEADER_LEN + fixed + blocks * REPORT_BLOCK_LEN;
        if blocks > 31 || buf.len() < len {
            return Err(MediaError::BufferTooSmall {
                need: len,
                have: buf.len(),
            });
        }
        let words = ((len / 4) - 1) as u16;
        buf[0] = 0x80 | blocks as u8;
        buf[1] = kind;
        buf[2..4].copy_from_slice(&words.to_be_bytes());
        Ok(Writer {
            buf,
            at: HEADER_LEN,
        })
    }

    fn put(&mut self, v: u32) {
        self.buf[self.at..self.at + 4].copy_from_slice(&v.to_be_bytes());
        self.at += 4;
    }

    fn finish(mut self, blocks: &[ReportBlock]) -> usize {
        for b in blocks {
            self.put(b.ssrc);
            let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0x00FF_FFFF;
            self.put((u32::from(b.fraction_lost) << 24) | lost);
            self.put(b.highest_sequence);
            self.put(b.jitter);
            self.put(b.last_sr);
            self.put(b.delay_since_last_sr);
        }
        self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rr_with_sdes_is_a_valid_compound() {
        let mut buf = [0u8; 128];
        let n = write_receiver_report(&mut buf, 5, &[block(9, 3)]).expect("fits");
        for name in [&b"sw"[..], b"switch", b"abc"] {
            let m = write_sdes_cname(&mut buf[n..], 5, name).expect("fits");
            assert_eq!(m % 4, 0);
            let c = Compound::parse(&buf[..n + m]).expect("valid compound");
            let sdes = c.packets().nth(1).expect("sdes");
            assert_eq!(sdes.packet_type, SOURCE_DESCRIPTION);
            assert_eq!(sdes.body[4], CNAME);
            assert_eq!(&sdes.body[6..6 + name.len()], name);
            assert_eq!(sdes.body[6 + name.len()], 0, "terminated");
        }
    }

    fn block(ssrc: u32, lost: i32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 12,
            cumulative_lost: lost,
            highest_sequence: 0x0001_0203,
            jitter: 40,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 655,
        }
    }

    #[test]
    fn sender_report_round_trips() {
        let mut buf = [0u8; 128];
        let info = SenderInfo {
            ssrc: 9,
            ntp: 0xE000_0000_8000_0000,
            rtp_timestamp: 160,
            packets: 3,
            octets: 480,
        };
        let n = write_sender_report(&mut buf, &info, &[block(7, -3), block(8, 100)]).expect("fits");
        assert_eq!(n, 4 + 24 + 48);
        let c = Compound::parse(&buf[..n]).expect("valid");
        let p = c.packets().next().expect("one packet");
        let r = Report::parse(&p).expect("SR");
        assert_eq!(r.reporter, 9);
        assert_eq!(r.sender, Some(info));
        assert_eq!(
            r.blocks().collect::<Vec<_>>(),
            vec![block(7, -3), block(8, 100)]
        );
        assert!(!c.has_goodbye());
    }

    #[test]
    fn compound_rr_sdes_bye() {
        let mut buf = [0u8; 64];
        let n = write_receiver_report(&mut buf, 5, &[]).expect("fits");
        // SDES with one empty chunk (ssrc + END + pad) and a BYE for ssrc 5.
        let tail = [
            0x81,
            SOURCE_DESCRIPTION,
            0,
            2,
            0,
            0,
            0,
            5,
            0,
            0,
            0,
            0,
            0x81,
            GOODBYE,
            0,
            1,
            0,
            0,
            0,
            5,
        ];
        buf[n..n + tail.len()].copy_from_slice(&tail);
        let c = Compound::parse(&buf[..n + tail.len()]).expect("valid");
        let types: Vec<u8> = c.packets().map(|p| p.packet_type).collect();
        assert_eq!(types, vec![RECEIVER_REPORT, SOURCE_DESCRIPTION, GOODBYE]);
        assert!(c.has_goodbye());
        assert_eq!(
            Report::parse(&c.packets().next().expect("rr")).map(|r| r.reporter),
            Some(5)
        );
    }

    #[test]
    fn rejects_malformed_compounds() {
        let mut rr = [0u8; 8];
        let n = write_receiver_report(&mut rr, 1, &[]).expect("fits");
        assert_eq!(n, 8);
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x80],
            vec![0x80, GOODBYE, 0, 1, 0, 0, 0, 1], // must start with SR/RR
            vec![0x40, RECEIVER_REPORT, 0, 1, 0, 0, 0, 1], // version 1
            vec![0x80, RECEIVER_REPORT, 0, 2, 0, 0, 0, 1], // length past the end
            [rr.to_vec(), vec![0x80, GOODBYE]].concat(), // trailing garbage
            vec![0xA0, RECEIVER_REPORT, 0, 1, 0, 0, 0, 1], // padded first packet
        ];
        for c in cases {
            assert!(Compound::parse(&c).is_err(), "{c:?}");
        }
        assert!(write_receiver_report(&mut rr[..7], 1, &[]).is_err());
    }
}
