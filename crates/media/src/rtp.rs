//! RTP fixed header (RFC 3550 section 5.1): validation and in-place rewrite.
//!
//! [`RtpHeader::parse`] checks everything the relay relies on (version 2,
//! CSRC list, extension and padding lengths inside the datagram) so the
//! setters of [`RtpPacketMut`] can never touch bytes outside the packet.

use crate::MediaError;

/// Length of the fixed RTP header.
pub const HEADER_LEN: usize = 12;

/// A validated view of an RTP header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    pub csrc_count: u8,
    pub has_extension: bool,
    pub has_padding: bool,
    /// Offset of the payload: fixed header, CSRCs and extension.
    pub payload_offset: usize,
    /// Payload length without padding.
    pub payload_len: usize,
}

impl RtpHeader {
    /// Validate `packet` as RTP and read its header.
    ///
    /// # Errors
    /// [`MediaError::Packet`] when the datagram is not a well-formed RTP packet.
    pub fn parse(packet: &[u8]) -> Result<RtpHeader, MediaError> {
        let fixed: &[u8; HEADER_LEN] = packet
            .get(..HEADER_LEN)
            .and_then(|h| h.try_into().ok())
            .ok_or(MediaError::Packet("shorter than the 12-byte header"))?;
        if fixed[0] >> 6 != 2 {
            return Err(MediaError::Packet("version is not 2"));
        }
        let has_padding = fixed[0] & 0x20 != 0;
        let has_extension = fixed[0] & 0x10 != 0;
        let csrc_count = fixed[0] & 0x0F;
        let mut offset = HEADER_LEN + 4 * usize::from(csrc_count);
        if has_extension {
            let ext = packet
                .get(offset..offset + 4)
                .ok_or(MediaError::Packet("extension header past the end"))?;
            let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            offset += 4 + 4 * words;
        }
        if offset > packet.len() {
            return Err(MediaError::Packet("header longer than the packet"));
        }
        let mut end = packet.len();
        if has_padding {
            let pad = usize::from(packet.get(end - 1).copied().unwrap_or(0));
            if pad == 0 || pad > end - offset {
                return Err(MediaError::Packet("bad padding length"));
            }
            end -= pad;
        }
        Ok(RtpHeader {
            marker: fixed[1] & 0x80 != 0,
            payload_type: fixed[1] & 0x7F,
            sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
            csrc_count,
            has_extension,
            has_padding,
            payload_offset: offset,
            payload_len: end - offset,
        })
    }

    /// The payload of `packet` (the buffer this header was parsed from).
    #[must_use]
    pub fn payload<'a>(&self, packet: &'a [u8]) -> &'a [u8] {
        packet
            .get(self.payload_offset..self.payload_offset + self.payload_len)
            .unwrap_or(&[])
    }
}

/// RTCP multiplexed on the RTP port (RFC 5761 section 4): payload types
/// 64-95 with the marker bit are RTCP packet types 192-223.
#[must_use]
pub fn looks_like_rtcp(packet: &[u8]) -> bool {
    packet.len() >= 8 && packet[0] >> 6 == 2 && (192..=223).contains(&packet[1])
}

/// A validated RTP packet that can be rewritten in place.
#[derive(Debug)]
pub struct RtpPacketMut<'a> {
    buf: &'a mut [u8],
    header: RtpHeader,
}

impl<'a> RtpPacketMut<'a> {
    /// Validate `buf` (exactly the datagram) as RTP.
    ///
    /// # Errors
    /// [`MediaError::Packet`] when it is not well-formed RTP.
    pub fn new(buf: &'a mut [u8]) -> Result<RtpPacketMut<'a>, MediaError> {
        let header = RtpHeader::parse(buf)?;
        Ok(RtpPacketMut { buf, header })
    }

    /// The header as received (setters do not update it).
    #[must_use]
    pub fn header(&self) -> &RtpHeader {
        &self.header
    }

    /// The whole packet.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.buf
    }

    #[must_use]
    pub fn payload(&self) -> &[u8] {
        self.header.payload(self.buf)
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header.payload_offset;
        let end = start + self.header.payload_len;
        self.buf.get_mut(start..end).unwrap_or(&mut [])
    }

    pub fn set_marker(&mut self, marker: bool) {
        self.buf[1] = (self.buf[1] & 0x7F) | if marker { 0x80 } else { 0 };
    }

    pub fn set_payload_type(&mut self, pt: u8) {
        self.buf[1] = (self.buf[1] & 0x80) | (pt & 0x7F);
    }

    pub fn set_sequence(&mut self, seq: u16) {
        self.buf[2..4].copy_from_slice(&seq.to_be_bytes());
    }

    pub fn set_timestamp(&mut self, ts: u32) {
        self.buf[4..8].copy_from_slice(&ts.to_be_bytes());
    }

    pub fn set_ssrc(&mut self, ssrc: u32) {
        self.buf[8..12].copy_from_slice(&ssrc.to_be_bytes());
    }
}

/// Fields of a header the switch writes for its own packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Write a 12-byte header (no CSRC, extension or padding) followed by
/// `payload` into `buf`. Returns the packet length.
///
/// # Errors
/// [`MediaError::BufferTooSmall`] when `buf` cannot hold the packet.
pub fn write_packet(
    buf: &mut [u8],
    header: &OutHeader,
    payload: &[u8],
) -> Result<usize, MediaError> {
    let len = HEADER_LEN + payload.len();
    let have = buf.len();
    let out = buf
        .get_mut(..len)
        .ok_or(MediaError::BufferTooSmall { need: len, have })?;
    out[0] = 0x80;
    out[1] = (header.payload_type & 0x7F) | if header.marker { 0x80 } else { 0 };
    out[2..4].copy_from_slice(&header.sequence.to_be_bytes());
    out[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
    out[HEADER_LEN..].copy_from_slice(payload);
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(first: u8, extra: &[u8]) -> Vec<u8> {
        let mut p = vec![
            first,
            0x80 | 8,
            0x12,
            0x34,
            0,
            0,
            0x01,
            0x40,
            0xde,
            0xad,
            0xbe,
            0xef,
        ];
        p.extend_from_slice(extra);
        p
    }

    #[test]
    fn parses_the_fixed_header() {
        let p = packet(0x80, &[1, 2, 3]);
        let h = RtpHeader::parse(&p).expect("valid");
        assert!(h.marker);
        assert_eq!(h.payload_type, 8);
        assert_eq!(h.sequence, 0x1234);
        assert_eq!(h.timestamp, 320);
        assert_eq!(h.ssrc, 0xdead_beef);
        assert_eq!(h.payload(&p), &[1, 2, 3]);
    }

    #[test]
    fn skips_csrcs_and_extension_and_strips_padding() {
        // CC=1, X=1, P=1: one CSRC, a 1-word extension, payload [9, 9], 2 padding bytes.
        let p = packet(
            0x80 | 0x20 | 0x10 | 1,
            &[0, 0, 0, 7, 0xBE, 0xDE, 0, 1, 1, 2, 3, 4, 9, 9, 0, 2],
        );
        let h = RtpHeader::parse(&p).expect("valid");
        assert_eq!(h.payload_offset, 12 + 4 + 4 + 4);
        assert_eq!(h.payload(&p), &[9, 9]);
    }

    #[test]
    fn rejects_malformed_packets() {
        let cases: Vec<Vec<u8>> = vec![
            vec![],
            vec![0x80; 11],
            packet(0x40, &[]),                                    // version 1
            packet(0x80 | 2, &[0, 0, 0, 1]),                      // 2 CSRCs, only one present
            packet(0x80 | 0x10, &[0xBE, 0xDE]),                   // extension header cut
            packet(0x80 | 0x10, &[0xBE, 0xDE, 0, 2, 0, 0, 0, 0]), // extension words missing
            packet(0x80 | 0x20, &[1, 0]),                         // padding count 0
            packet(0x80 | 0x20, &[1, 3]),                         // padding longer than payload
        ];
        for c in cases {
            assert!(RtpHeader::parse(&c).is_err(), "{c:?}");
        }
        // Padding may take the whole payload.
        assert_eq!(
            RtpHeader::parse(&packet(0xA0, &[0, 2]))
                .expect("valid")
                .payload_len,
            0
        );
    }

    #[test]
    fn rewrites_in_place() {
        let mut p = packet(0x80, &[1, 2, 3]);
        let mut m = RtpPacketMut::new(&mut p).expect("valid");
        m.set_marker(false);
        m.set_payload_type(0);
        m.set_sequence(7);
        m.set_timestamp(0xAABB_CCDD);
        m.set_ssrc(42);
        m.payload_mut().copy_from_slice(&[4, 5, 6]);
        let h = RtpHeader::parse(&p).expect("still valid");
        assert_eq!(
            (h.marker, h.payload_type, h.sequence, h.timestamp, h.ssrc),
            (false, 0, 7, 0xAABB_CCDD, 42)
        );
        assert_eq!(h.payload(&p), &[4, 5, 6]);
    }

    #[test]
    fn writes_and_reads_back() {
        let mut buf = [0u8; 64];
        let hdr = OutHeader {
            marker: true,
            payload_type: 101,
            sequence: 65535,
            timestamp: 1,
            ssrc: 9,
        };
        let n = write_packet(&mut buf, &hdr, &[7; 4]).expect("fits");
        assert_eq!(n, 16);
        let h = RtpHeader::parse(&buf[..n]).expect("valid");
        assert_eq!(
            (h.marker, h.payload_type, h.sequence, h.timestamp, h.ssrc),
            (true, 101, 65535, 1, 9)
        );
        assert!(write_packet(&mut buf[..10], &hdr, &[]).is_err());
    }

    #[test]
    fn recognises_rtcp() {
        let mut rr = vec![0x80, 201, 0, 1, 0, 0, 0, 1];
        assert!(looks_like_rtcp(&rr));
        rr[1] = 0x80;
        assert!(!looks_like_rtcp(&rr));
    }
}
