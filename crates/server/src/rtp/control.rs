//! The signalling core's view of the engine.

use media::player::{Clip, PlaySource, Playlist};
use sdp::NegotiatedAudio;

use super::RtpEngine;
use std::path::PathBuf;

use crate::media::{LegId, MediaControl, Notice};

impl MediaControl for RtpEngine {
    fn open_leg(&mut self) -> std::io::Result<(LegId, u16)> {
        RtpEngine::open_leg(self)
    }

    fn configure(&mut self, leg: LegId, audio: &NegotiatedAudio) {
        RtpEngine::configure(self, leg, audio);
    }

    fn bridge(&mut self, a: LegId, b: LegId) {
        RtpEngine::bridge(self, a, b);
    }

    fn ringback(&mut self, leg: LegId) {
        RtpEngine::ringback(self, leg);
    }

    fn close_leg(&mut self, leg: LegId) {
        RtpEngine::close_leg(self, leg);
    }

    fn start_recording(
        &mut self,
        caller: LegId,
        operator: LegId,
        call_id: &str,
        notice: Notice,
    ) -> Option<PathBuf> {
        RtpEngine::start_recording(self, caller, operator, call_id, notice)
    }

    fn start_recording_mono(
        &mut self,
        leg: LegId,
        name: &str,
        silence: Option<std::time::Duration>,
    ) -> Option<PathBuf> {
        RtpEngine::start_recording_mono(self, leg, name, silence)
    }

    fn stop_recording(&mut self, leg: LegId) {
        RtpEngine::stop_recording(self, leg);
    }

    fn play(&mut self, leg: LegId, clips: Vec<Clip>, looping: bool) {
        RtpEngine::play(
            self,
            leg,
            PlaySource::Playlist(Playlist::new(clips, looping)),
        );
    }

    fn stop(&mut self, leg: LegId) {
        RtpEngine::stop(self, leg);
    }

    fn echo(&mut self, leg: LegId) {
        RtpEngine::echo(self, leg);
    }

    fn set_hold(&mut self, leg: LegId, on_hold: bool) {
        RtpEngine::set_hold(self, leg, on_hold);
    }
}
