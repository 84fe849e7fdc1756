//! G.711 mu-law (PCMU) and A-law (PCMA), ITU-T G.711.
//!
//! Decoding and the direct PCMU<->PCMA conversions are 256-entry tables
//! computed at compile time, so transcoding a relayed packet is one table
//! lookup per byte. Encoding from linear uses the segment search directly
//! (a few integer operations per sample, no 64 KiB table in the cache).

/// The two G.711 laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// mu-law, RTP static payload type 0.
    Pcmu,
    /// A-law, RTP static payload type 8.
    Pcma,
}

impl Codec {
    /// Static RTP/AVP payload type.
    #[must_use]
    pub const fn static_pt(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// Encoded byte for digital silence.
    #[must_use]
    pub const fn silence(self) -> u8 {
        match self {
            Codec::Pcmu => 0xFF,
            Codec::Pcma => 0xD5,
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 32635;

/// Encode one linear 16-bit sample to mu-law.
#[must_use]
pub const fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = sample as i32;
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    if s > ULAW_CLIP {
        s = ULAW_CLIP;
    }
    s += ULAW_BIAS;
    // s is in 132..=32767: its top bit sits at position 7..=14, which is the
    // segment (exponent) 0..=7.
    let exponent = (31 - (s as u32).leading_zeros()) as i32 - 7;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// Decode one mu-law byte to linear 16-bit.
#[must_use]
pub const fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + ULAW_BIAS) << exponent) - ULAW_BIAS;
    if u & 0x80 != 0 {
        -magnitude as i16
    } else {
        magnitude as i16
    }
}

/// Encode one linear 16-bit sample to A-law.
#[must_use]
pub const fn linear_to_alaw(sample: i16) -> u8 {
    // A-law works on 13-bit magnitudes; negative values are coded as
    // one's complement (-1 and 0 share a magnitude) with the sign bit clear.
    let mut s = (sample as i32) >> 3;
    let mask: u8 = if s >= 0 {
        0xD5
    } else {
        s = -s - 1;
        0x55
    };
    let mut segment = 0;
    while segment < 8 && s >= (0x20 << segment) {
        segment += 1;
    }
    if segment >= 8 {
        return 0x7F ^ mask;
    }
    let shift = if segment < 2 { 1 } else { segment };
    let byte = ((segment << 4) | ((s >> shift) & 0x0F)) as u8;
    byte ^ mask
}

/// Decode one A-law byte to linear 16-bit.
#[must_use]
pub const fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let segment = ((a & 0x70) >> 4) as i32;
    let mut t = ((a & 0x0F) as i32) << 4;
    t += if segment == 0 { 8 } else { 0x108 };
    if segment > 1 {
        t <<= segment - 1;
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn build_decode(law: Codec) -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match law {
            Codec::Pcmu => ulaw_to_linear(i as u8),
            Codec::Pcma => alaw_to_linear(i as u8),
        };
        i += 1;
    }
    table
}

const fn build_transcode(from: Codec) -> [u8; 256] {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = match from {
            Codec::Pcmu => linear_to_alaw(ulaw_to_linear(i as u8)),
            Codec::Pcma => linear_to_ulaw(alaw_to_linear(i as u8)),
        };
        i += 1;
    }
    table
}

/// mu-law byte to linear sample.
pub static ULAW_DECODE: [i16; 256] = build_decode(Codec::Pcmu);
/// A-law byte to linear sample.
pub static ALAW_DECODE: [i16; 256] = build_decode(Codec::Pcma);
/// mu-law byte to the A-law byte of the same decoded value.
pub static ULAW_TO_ALAW: [u8; 256] = build_transcode(Codec::Pcmu);
/// A-law byte to the mu-law byte of the same decoded value.
pub static ALAW_TO_ULAW: [u8; 256] = build_transcode(Codec::Pcma);

/// Decode one byte of `codec`.
#[must_use]
#[inline]
pub fn decode(codec: Codec, byte: u8) -> i16 {
    match codec {
        Codec::Pcmu => ULAW_DECODE[usize::from(byte)],
        Codec::Pcma => ALAW_DECODE[usize::from(byte)],
    }
}

/// Encode one sample as `codec`.
#[must_use]
#[inline]
pub fn encode(codec: Codec, sample: i16) -> u8 {
    match codec {
        Codec::Pcmu => linear_to_ulaw(sample),
        Codec::Pcma => linear_to_alaw(sample),
    }
}

/// Transcode a payload in place from `from` to `to` (no-op when equal).
#[inline]
pub fn transcode_in_place(from: Codec, to: Codec, payload: &mut [u8]) {
    let table = match (from, to) {
        (Codec::Pcmu, Codec::Pcma) => &ULAW_TO_ALAW,
        (Codec::Pcma, Codec::Pcmu) => &ALAW_TO_ULAW,
        _ => return,
    };
    for b in payload {
        *b = table[usize::from(*b)];
    }
}

/// Encode `samples` into `out` (pairs up to the shorter of the two).
/// Returns how many bytes were written.
pub fn encode_into(codec: Codec, samples: &[i16], out: &mut [u8]) -> usize {
    let n = samples.len().min(out.len());
    for (o, s) in out.iter_mut().zip(samples) {
        *o = encode(codec, *s);
    }
    n
}

/// Decode `payload` into `out` (pairs up to the shorter of the two).
/// Returns how many samples were written.
pub fn decode_into(codec: Codec, payload: &[u8], out: &mut [i16]) -> usize {
    let n = payload.len().min(out.len());
    for (o, b) in out.iter_mut().zip(payload) {
        *o = decode(codec, *b);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_reference_points() {
        // Zero codes as 0xFF (and 0x7F is "negative zero"); full scale is
        // +/-32124 (G.711 Table 2a, scaled to 16 bits).
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x7F), 0);
        assert_eq!(ulaw_to_linear(0x80), 32124);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(linear_to_ulaw(32767), 0x80);
        assert_eq!(linear_to_ulaw(-32768), 0x00);
        // First segment boundary: magnitudes 0..=7 (16-bit: ..., step 8) stay in code 0xFF/0xFE.
        assert_eq!(linear_to_ulaw(8), 0xFE);
        assert_eq!(ulaw_to_linear(0xFE), 8);
        // Start of the second segment.
        assert_eq!(ulaw_to_linear(0xEF), 132);
    }

    #[test]
    fn alaw_reference_points() {
        // 0xD5 / 0x55 are the +/- smallest levels (+/-8 in 16 bits), full
        // scale is +/-32256 (G.711 Table 1a, even bits inverted).
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(alaw_to_linear(0xD5), 8);
        assert_eq!(alaw_to_linear(0x55), -8);
        assert_eq!(alaw_to_linear(0xAA), 32256);
        assert_eq!(alaw_to_linear(0x2A), -32256);
        assert_eq!(linear_to_alaw(32767), 0xAA);
        assert_eq!(linear_to_alaw(-32768), 0x2A);
    }

    #[test]
    fn every_code_round_trips_through_linear() {
        for b in 0..=255u8 {
            // mu-law has two zeros (0x7F and 0xFF); both decode to 0 and 0 encodes as 0xFF.
            let expect_u = if b == 0x7F { 0xFF } else { b };
            assert_eq!(linear_to_ulaw(ulaw_to_linear(b)), expect_u, "ulaw {b:#04x}");
            assert_eq!(linear_to_alaw(alaw_to_linear(b)), b, "alaw {b:#04x}");
        }
    }

    #[test]
    fn encoding_error_is_within_one_quantisation_step() {
        for s in (i16::MIN..=i16::MAX).step_by(7) {
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            let mag = i32::from(s).abs();
            // Step size doubles per segment; the error is at most one step.
            let step = (mag / 16).max(16) + 16;
            assert!(
                (i32::from(u) - i32::from(s)).abs() <= step.max(132),
                "ulaw {s} -> {u}"
            );
            assert!(
                (i32::from(a) - i32::from(s)).abs() <= step,
                "alaw {s} -> {a}"
            );
        }
    }

    #[test]
    fn encoding_is_monotonic() {
        let mut last_u = i16::MIN;
        let mut last_a = i16::MIN;
        for s in i16::MIN..=i16::MAX {
            let u = ulaw_to_linear(linear_to_ulaw(s));
            let a = alaw_to_linear(linear_to_alaw(s));
            assert!(u >= last_u && a >= last_a, "at {s}");
            last_u = u;
            last_a = a;
        }
    }

    #[test]
    fn direct_tables_match_decode_then_encode_and_keep_level() {
        for b in 0..=255u8 {
            let a = ULAW_TO_ALAW[usize::from(b)];
            assert_eq!(a, linear_to_alaw(ulaw_to_linear(b)));
            let u = ALAW_TO_ULAW[usize::from(b)];
            assert_eq!(u, linear_to_ulaw(alaw_to_linear(b)));
            // Level survives conversion within the coarser law's step.
            let before = i32::from(ulaw_to_linear(b));
            let after = i32::from(alaw_to_linear(a));
            assert!((before - after).abs() <= before.abs() / 16 + 16, "{b:#04x}");
        }
        assert_eq!(ULAW_TO_ALAW[0xFF], 0xD5);
        assert_eq!(ALAW_TO_ULAW[0xD5], linear_to_ulaw(8));
    }

    #[test]
    fn silence_and_in_place_transcode() {
        let mut buf = [Codec::Pcmu.silence(); 4];
        transcode_in_place(Codec::Pcmu, Codec::Pcma, &mut buf);
        assert_eq!(buf, [Codec::Pcma.silence(); 4]);
        let original = [0x00u8, 0x12, 0x80, 0xFE];
        let mut b = original;
        transcode_in_place(Codec::Pcma, Codec::Pcma, &mut b);
        assert_eq!(b, original);
    }
}
