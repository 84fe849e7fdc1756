//! `[[voicemail]]` and `[[queue]]`.

use serde_spanned::Spanned;

use super::action::{compile_action, Lookup, Place};
use super::prompts::prompt_ref;
use super::*;
use crate::config::{QueueSection, VoicemailSection};
use crate::plan::{Action, Ring, RingTarget};
use crate::plan_flow::{Queue, VoicemailBox};

const VOICEMAIL_SECONDS_RANGE: RangeInclusive<i64> = 5..=600;
pub(crate) const VOICEMAIL_SECONDS: i64 = 120;

pub(super) fn compile_voicemail(
    v: &VoicemailSection,
    lookup: &Lookup,
    p: &mut Problems,
) -> Option<VoicemailBox> {
    let name = v.name.as_ref()?;
    let greeting = prompt_ref(&v.greeting, lookup.prompts, &lookup.prompt_names, p);
    let beep = prompt_ref(&v.beep, lookup.prompts, &lookup.prompt_names, p);
    let max = ranged(
        &v.max_seconds,
        "max_seconds",
        VOICEMAIL_SECONDS_RANGE,
        VOICEMAIL_SECONDS,
        p,
    );
    let silence = ranged(
        &v.silence_seconds,
        "silence_seconds",
        1..=60,
        defaults::VOICEMAIL_SILENCE,
        p,
    );
    let ok = (v.greeting.is_none() || greeting.is_some()) && (v.beep.is_none() || beep.is_some());
    ok.then(|| VoicemailBox {
        name: name.get_ref().clone(),
        greeting,
        beep,
        max_duration: secs(max),
        silence: secs(silence),
    })
}

pub(super) fn compile_queue(q: &QueueSection, lookup: &Lookup, p: &mut Problems) -> Option<Queue> {
    let name = q.name.as_ref()?;
    let group: &Spanned<String> = q.group.as_ref()?;
    let mut ok = true;
    if !lookup.groups.contains_key(group.get_ref()) {
        unknown_reference(group, "group", lookup.groups.keys().map(String::as_str), p);
        ok = false;
    }
    let hold_music = prompt_ref(&q.hold_music, lookup.prompts, &lookup.prompt_names, p);
    ok &= q.hold_music.is_none() || hold_music.is_some();
    let timeout = match &q.timeout {
        Some(_) => secs(ranged(
            &q.timeout,
            "timeout",
            5..=3600,
            defaults::RING_TIMEOUT,
            p,
        )),
        None => lookup.default_ring_timeout,
    };
    let fallback = match &q.fallback {
        Some(a) => compile_action(a, lookup, Place::Other, p),
        None => Some(Action::Hangup),
    };
    let queue = Queue {
        name: name.get_ref().clone(),
        ring: Ring {
            target: RingTarget::Group(group.get_ref().clone()),
            timeout,
        },
        hold_music,
        fallback: fallback?,
    };
    ok.then_some(queue)
}
