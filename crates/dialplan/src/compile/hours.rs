//! `[[hours]]`: time zone, weekly ranges, lunch, holidays and one-off overrides.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde_spanned::Spanned;

use super::action::{compile_action, Lookup, Place};
use super::*;
use crate::config::{ActionSection, HoursSection};
use crate::plan_flow::{Hours, MinuteRange};

const RANGE_HINT: &str = "write \"HH:MM-HH:MM\", e.g. \"09:00-18:00\", or \"closed\"";

pub(super) fn compile_hours(h: &HoursSection, lookup: &Lookup, p: &mut Problems) -> Option<Hours> {
    let name = h.name.as_ref()?;
    let mut ok = true;
    let timezone = match &h.timezone {
        Some(tz) => timezone(tz, p),
        None => {
            p.error_hint(
                h.span.clone(),
                "[[hours]] is missing required key `timezone`",
                "e.g. timezone = \"Europe/Moscow\"",
            );
            None
        }
    };
    // Families first, single days last, so `mon` beats `weekdays` beats `daily`.
    let mut week: [Vec<MinuteRange>; 7] = Default::default();
    let rank = |k: &str| match k {
        "daily" => 0,
        "weekdays" | "weekend" => 1,
        _ => 2,
    };
    let mut days: Vec<&(Spanned<String>, Vec<Spanned<String>>)> = h.days.iter().collect();
    days.sort_by_key(|(k, _)| rank(k.get_ref()));
    for (key, list) in days {
        let Some(ranges) = ranges(list, p) else {
            ok = false;
            continue;
        };
        let which: &[usize] = match key.get_ref().as_str() {
            "daily" => &[0, 1, 2, 3, 4, 5, 6],
            "weekdays" => &[0, 1, 2, 3, 4],
            "weekend" => &[5, 6],
            "mon" => &[0],
            "tue" => &[1],
            "wed" => &[2],
            "thu" => &[3],
            "fri" => &[4],
            "sat" => &[5],
            _ => &[6],
        };
        for &d in which {
            week[d] = ranges.clone();
        }
    }
    let lunch = ranges(&h.lunch, p).unwrap_or_else(|| {
        ok = false;
        Vec::new()
    });
    let mut holidays = BTreeSet::new();
    for d in &h.holidays {
        match date(d, p) {
            Some(d) => {
                holidays.insert(d);
            }
            None => ok = false,
        }
    }
    let mut overrides = BTreeMap::new();
    for o in &h.overrides {
        let Some(d) = o.date.as_ref() else {
            ok = false;
            continue;
        };
        let (Some(day), Some(r)) = (date(d, p), ranges(&o.hours, p)) else {
            ok = false;
            continue;
        };
        if overrides.insert(day, r).is_some() {
            p.error_hint(
                d.span(),
                format!("date {} is overridden twice", d.get_ref()),
                "keep one override per date",
            );
            ok = false;
        }
    }
    if ok && week.iter().all(Vec::is_empty) && overrides.values().all(Vec::is_empty) {
        p.warning_hint(
            name.span(),
            format!("hours `{}` are never open", name.get_ref()),
            "add days, e.g. weekdays = \"09:00-18:00\"",
        );
    }
    let open = branch(&h.open, "open", h, lookup, p);
    let closed = branch(&h.closed, "closed", h, lookup, p);
    let hours = Hours {
        name: name.get_ref().clone(),
        timezone: timezone?,
        week,
        lunch,
        holidays,
        overrides,
        open: open?,
        closed: closed?,
    };
    ok.then_some(hours)
}

fn branch(
    a: &Option<ActionSection>,
    key: &str,
    h: &HoursSection,
    lookup: &Lookup,
    p: &mut Problems,
) -> Option<crate::plan::Action> {
    match a {
        Some(a) => compile_action(a, lookup, Place::Other, p),
        None => {
            p.error_hint(
                h.span.clone(),
                format!("[[hours]] is missing required key `{key}`"),
                format!("say what calls do when {key}, e.g. {key} = {{ menu = \"main\" }}"),
            );
            None
        }
    }
}

fn timezone(tz: &Spanned<String>, p: &mut Problems) -> Option<Tz> {
    match Tz::from_str(tz.get_ref()) {
        Ok(z) => Some(z),
        Err(_) => {
            let names = chrono_tz::TZ_VARIANTS.iter().map(|z| z.name());
            let hint = match crate::suggest::closest(tz.get_ref(), names) {
                Some(near) => format!("did you mean `{near}`?"),
                None => "use an IANA time zone name, e.g. \"Europe/Moscow\"".to_owned(),
            };
            p.error_hint(
                tz.span(),
                format!("unknown time zone `{}`", tz.get_ref()),
                hint,
            );
            None
        }
    }
}

fn date(d: &Spanned<String>, p: &mut Problems) -> Option<NaiveDate> {
    let s = d.get_ref();
    // Exactly YYYY-MM-DD: chrono alone would also take "2026-1-7".
    let shaped = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(date) if shaped => Some(date),
        _ => {
            p.error_hint(
                d.span(),
                format!("`{s}` is not a date"),
                "write YYYY-MM-DD, e.g. \"2026-01-07\"",
            );
            None
        }
    }
}

/// Ranges of one day, sorted; `None` if any is malformed or two overlap (reported).
fn ranges(list: &[Spanned<String>], p: &mut Problems) -> Option<Vec<MinuteRange>> {
    if list.len() == 1 && list[0].get_ref().trim() == "closed" {
        return Some(Vec::new());
    }
    let mut out: Vec<(MinuteRange, &Spanned<String>)> = Vec::new();
    let mut ok = true;
    for item in list {
        match range(item, p) {
            Some(r) => out.push((r, item)),
            None => ok = false,
        }
    }
    out.sort_by_key(|(r, _)| *r);
    for pair in out.windows(2) {
        if pair[1].0.start < pair[0].0.end {
            p.error_hint(
                pair[1].1.span(),
                format!(
                    "range {} overlaps {}",
                    pair[1].1.get_ref(),
                    pair[0].1.get_ref()
                ),
                "merge them into one range",
            );
            ok = false;
        }
    }
    ok.then(|| out.into_iter().map(|(r, _)| r).collect())
}

fn range(item: &Spanned<String>, p: &mut Problems) -> Option<MinuteRange> {
    let s = item.get_ref().trim();
    let parsed = s
        .split_once('-')
        .and_then(|(a, b)| Some((minute(a.trim(), false)?, minute(b.trim(), true)?)));
    match parsed {
        Some((start, end)) if start < end => Some(MinuteRange { start, end }),
        Some(_) => {
            p.error_hint(
                item.span(),
                format!("range {s} ends before it starts"),
                "a range cannot cross midnight: split it, e.g. \"22:00-24:00\" and \"00:00-02:00\" on the next day",
            );
            None
        }
        None if s == "closed" => {
            p.error_hint(
                item.span(),
                "\"closed\" cannot be mixed with ranges",
                "write \"closed\" alone, or only ranges",
            );
            None
        }
        None => {
            p.error_hint(
                item.span(),
                format!("`{s}` is not a time range"),
                RANGE_HINT,
            );
            None
        }
    }
}

/// "HH:MM" to minutes since midnight; "24:00" only as an end.
fn minute(s: &str, end: bool) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u16 = h.parse().ok()?;
    let m: u16 = m.parse().ok()?;
    match (h, m) {
        (24, 0) if end => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}
