//! RFC 3264 offer/answer for one audio stream.
//!
//! The switch anchors media, so every leg negotiates independently: the
//! answer to a trunk's offer and the offer to an operator's phone are built
//! here, and [`NegotiatedAudio`] tells the media worker what was agreed.

use std::net::{IpAddr, SocketAddr};

use crate::codec::{resolve, AudioCodec, Format, TELEPHONE_EVENT_FMTP};
use crate::error::SdpError;
use crate::model::{
    Attribute, Connection, Direction, MediaDescription, Origin, RtpMap, SessionDescription,
};

/// The packet time we always send at (20 ms = 160 G.711 samples).
const OUR_PTIME: u32 = 20;

/// What one leg agreed on: everything the media worker needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedAudio {
    /// Codec for both directions.
    pub codec: AudioCodec,
    /// Payload type the peer uses for `codec` (send and expect this one).
    pub pt: u8,
    /// Payload type of RFC 4733 telephone-event, if both sides support it.
    pub telephone_event_pt: Option<u8>,
    /// Where the peer wants its RTP, from its SDP. `None` when it gave an
    /// unspecified address (old style hold) or a name; symmetric RTP may
    /// learn the real address later anyway.
    pub remote: Option<SocketAddr>,
    /// Our side's direction: whether we send and/or receive on this leg.
    pub direction: Direction,
    /// Packet time the peer asked for (default 20 ms).
    pub ptime: u32,
}

/// Inputs to [`answer`].
#[derive(Debug, Clone)]
pub struct AnswerParams<'a> {
    /// Address written in our `c=`/`o=` (the switch's public address).
    pub local_ip: IpAddr,
    /// Our RTP port for this leg.
    pub port: u16,
    /// Codecs we accept. The offer's order decides among them.
    pub supported: &'a [AudioCodec],
    /// Accept RFC 4733 telephone-event when offered.
    pub telephone_event: bool,
    /// What we are willing to do; intersected with the offer's direction.
    pub direction: Direction,
    pub username: &'a str,
    pub session_id: u64,
    /// Must grow with every new SDP we send in the same session (RFC 3264 8).
    pub session_version: u64,
}

impl<'a> AnswerParams<'a> {
    /// Defaults for the switch: PCMU and PCMA, DTMF on, sendrecv.
    #[must_use]
    pub fn new(local_ip: IpAddr, port: u16, session_id: u64, session_version: u64) -> Self {
        AnswerParams {
            local_ip,
            port,
            supported: &[AudioCodec::Pcmu, AudioCodec::Pcma],
            telephone_event: true,
            direction: Direction::SendRecv,
            username: "switchboard",
            session_id,
            session_version,
        }
    }
}

/// Inputs to [`offer`].
#[derive(Debug, Clone)]
pub struct OfferParams<'a> {
    pub local_ip: IpAddr,
    pub port: u16,
    /// Codecs in our order of preference.
    pub codecs: &'a [AudioCodec],
    /// Payload type for telephone-event, `None` to not offer DTMF.
    pub telephone_event_pt: Option<u8>,
    pub ptime: u32,
    /// `SendOnly` to put the peer on hold, `SendRecv` otherwise.
    pub direction: Direction,
    pub username: &'a str,
    pub session_id: u64,
    pub session_version: u64,
}

impl<'a> OfferParams<'a> {
    /// Defaults for the switch's outgoing legs: PCMU, PCMA, telephone-event
    /// 101, ptime 20, sendrecv.
    #[must_use]
    pub fn new(local_ip: IpAddr, port: u16, session_id: u64, session_version: u64) -> Self {
        OfferParams {
            local_ip,
            port,
            codecs: &[AudioCodec::Pcmu, AudioCodec::Pcma],
            telephone_event_pt: Some(101),
            ptime: OUR_PTIME,
            direction: Direction::SendRecv,
            username: "switchboard",
            session_id,
            session_version,
        }
    }
}

/// Build our offer for an outgoing leg.
#[must_use]
pub fn offer(params: &OfferParams<'_>) -> SessionDescription {
    let mut pts: Vec<u8> = params.codecs.iter().map(|c| c.static_pt()).collect();
    pts.dedup();
    let mut attributes: Vec<Attribute> = params
        .codecs
        .iter()
        .map(|c| Attribute::Rtpmap(codec_rtpmap(*c, c.static_pt())))
        .collect();
    attributes.dedup();
    if let Some(te) = params.telephone_event_pt {
        pts.push(te);
        attributes.extend(telephone_event_attributes(te));
    }
    attributes.push(Attribute::Ptime(params.ptime));
    attributes.push(Attribute::Direction(params.direction));
    skeleton(
        params.username,
        params.session_id,
        params.session_version,
        params.local_ip,
        vec![audio_media(params.port, &pts, attributes)],
    )
}

/// Answer a peer's offer (RFC 3264 section 6).
///
/// Picks the first codec in the offer's order that we support, echoes the
/// offer's telephone-event payload type, and sets the direction so that we
/// send only if the offerer receives (and vice versa). Every other m-line is
/// rejected with port 0, as the answer must have as many m-lines as the offer.
///
/// # Errors
/// [`SdpError::NoAudio`] when there is no RTP/AVP audio stream,
/// [`SdpError::NoCommonCodec`] when none of its codecs is supported (both mean
/// SIP 488), [`SdpError::Missing`] when the stream has no `c=` at all.
pub fn answer(
    offer: &SessionDescription,
    params: &AnswerParams<'_>,
) -> Result<(SessionDescription, NegotiatedAudio), SdpError> {
    let (index, offered) = offer.first_audio().ok_or(SdpError::NoAudio)?;
    let (codec, pt) = offered
        .payload_types()
        .find_map(|pt| match resolve(offered, pt) {
            Format::Audio(c) if params.supported.contains(&c) => Some((c, pt)),
            _ => None,
        })
        .ok_or(SdpError::NoCommonCodec)?;
    let telephone_event_pt = if params.telephone_event {
        offered
            .payload_types()
            .find(|pt| resolve(offered, *pt) == Format::TelephoneEvent)
    } else {
        None
    };

    let (their_direction, remote) = peer_view(offer, offered)?;
    let direction = Direction::from_flags(
        their_direction.receives() && params.direction.sends(),
        their_direction.sends() && params.direction.receives(),
    );

    let mut pts = vec![pt];
    let mut attributes = vec![Attribute::Rtpmap(codec_rtpmap(codec, pt))];
    if let Some(te) = telephone_event_pt {
        pts.push(te);
        attributes.extend(telephone_event_attributes(te));
    }
    attributes.push(Attribute::Ptime(OUR_PTIME));
    attributes.push(Attribute::Direction(direction));

    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if i == index {
                audio_media(params.port, &pts, attributes.clone())
            } else {
                rejected(m)
            }
        })
        .collect();
    let sdp = skeleton(
        params.username,
        params.session_id,
        params.session_version,
        params.local_ip,
        media,
    );
    let negotiated = NegotiatedAudio {
        codec,
        pt,
        telephone_event_pt,
        remote,
        direction,
        ptime: offered.ptime().filter(|p| *p > 0).unwrap_or(OUR_PTIME),
    };
    Ok((sdp, negotiated))
}

/// What was agreed on a leg where we sent `our_offer` and got `answer` back.
///
/// # Errors
/// [`SdpError::NoAudio`] when the answer rejected (port 0) or lacks the audio
/// stream, [`SdpError::NoCommonCodec`] when it picked nothing we offered.
pub fn negotiated_from_answer(
    our_offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<NegotiatedAudio, SdpError> {
    let (_, ours) = our_offer.first_audio().ok_or(SdpError::NoAudio)?;
    let (_, theirs) = answer.first_audio().ok_or(SdpError::NoAudio)?;
    let offered: Vec<AudioCodec> = ours
        .payload_types()
        .filter_map(|pt| match resolve(ours, pt) {
            Format::Audio(c) => Some(c),
            _ => None,
        })
        .collect();
    // An answer may leave out rtpmap for a dynamic type we offered; it then
    // means what our offer said it means.
    let format = |pt: u8| match resolve(theirs, pt) {
        Format::Unknown => resolve(ours, pt),
        known => known,
    };
    let (codec, pt) = theirs
        .payload_types()
        .find_map(|pt| match format(pt) {
            Format::Audio(c) if offered.contains(&c) => Some((c, pt)),
            _ => None,
        })
        .ok_or(SdpError::NoCommonCodec)?;
    let telephone_event_pt = theirs
        .payload_types()
        .find(|pt| format(*pt) == Format::TelephoneEvent);
    let (their_direction, remote) = peer_view(answer, theirs)?;
    let ours_dir = our_offer.effective_direction(ours);
    let direction = Direction::from_flags(
        their_direction.receives() && ours_dir.sends(),
        their_direction.sends() && ours_dir.receives(),
    );
    Ok(NegotiatedAudio {
        codec,
        pt,
        telephone_event_pt,
        remote,
        direction,
        ptime: theirs.ptime().filter(|p| *p > 0).unwrap_or(OUR_PTIME),
    })
}

/// The peer's effective direction and RTP address for `media`. An RFC 2543
/// hold (`c=0.0.0.0`) means the peer does not want to receive, whatever the
/// direction attribute says.
fn peer_view(
    sdp: &SessionDescription,
    media: &MediaDescription,
) -> Result<(Direction, Option<SocketAddr>), SdpError> {
    let connection = sdp
        .effective_connection(media)
        .ok_or(SdpError::Missing('c'))?;
    let direction = sdp.effective_direction(media);
    if connection.is_hold() {
        return Ok((Direction::from_flags(direction.sends(), false), None));
    }
    let remote = connection.ip().map(|ip| SocketAddr::new(ip, media.port));
    Ok((direction, remote))
}

fn codec_rtpmap(codec: AudioCodec, pt: u8) -> RtpMap {
    RtpMap {
        pt,
        encoding: codec.encoding_name().to_owned(),
        clock_rate: codec.clock_rate(),
        channels: None,
    }
}

fn telephone_event_attributes(pt: u8) -> [Attribute; 2] {
    [
        Attribute::Rtpmap(RtpMap {
            pt,
            encoding: "telephone-event".to_owned(),
            clock_rate: 8000,
            channels: None,
        }),
        Attribute::Fmtp {
            pt,
            params: TELEPHONE_EVENT_FMTP.to_owned(),
        },
    ]
}

fn audio_media(port: u16, pts: &[u8], attributes: Vec<Attribute>) -> MediaDescription {
    MediaDescription {
        media: "audio".to_owned(),
        port,
        port_count: None,
        proto: "RTP/AVP".to_owned(),
        formats: pts.iter().map(u8::to_string).collect(),
        connection: None,
        extra: Vec::new(),
        attributes,
    }
}

/// A declined stream: same media, proto and formats, port 0 (RFC 3264 6).
fn rejected(m: &MediaDescription) -> MediaDescription {
    MediaDescription {
        media: m.media.clone(),
        port: 0,
        port_count: None,
        proto: m.proto.clone(),
        formats: m.formats.clone(),
        connection: None,
        extra: Vec::new(),
        attributes: Vec::new(),
    }
}

fn skeleton(
    username: &str,
    session_id: u64,
    session_version: u64,
    ip: IpAddr,
    media: Vec<MediaDescription>,
) -> SessionDescription {
    let connection = Connection::for_ip(ip);
    SessionDescription {
        origin: Origin {
            username: username.to_owned(),
            session_id: session_id.to_string(),
            session_version: session_version.to_string(),
            net_type: connection.net_type.clone(),
            addr_type: connection.addr_type.clone(),
            address: connection.address.clone(),
        },
        session_name: "switchboard".to_owned(),
        connection: Some(connection),
        timing: ("0".to_owned(), "0".to_owned()),
        extra: Vec::new(),
        attributes: Vec::new(),
        media,
    }
}
