//! The tokio driver: binds the transports, starts the media engine and the
//! store, and runs the signalling core in one task, feeding it messages,
//! media events, timer expiries and reloaded plans and carrying out its
//! effects. Beside it run the reload task (`reload.rs`) and the HTTP API,
//! which sees the core only through the snapshots `live.rs` publishes.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use store::{RegistrationStore, Store};
use tokio::sync::mpsc;

use crate::live::{LiveBook, ServerApi};
use crate::media::{MediaEvent, MediaReport};
use crate::reload::{Reloader, SharedStatus};
use crate::switch::{Core, Effect, WallClock};
use crate::transport::{Inbound, Transports};
use crate::webhook::Webhooks;

/// How long the core waits with nothing to do (no message, media event or
/// timer) before it empties its thread cache.
const CACHE_QUIET: std::time::Duration = std::time::Duration::from_secs(1);

/// Runs the switch on `plan`, read from `config_path` (`None`: the config
/// built into the binary, which cannot be reloaded).
pub async fn run(plan: dialplan::Plan, config_path: Option<PathBuf>) -> anyhow::Result<()> {
    let plan = Arc::new(plan);
    let server = plan.server().clone();
    std::fs::create_dir_all(&server.data_dir)
        .with_context(|| format!("cannot create data dir {}", server.data_dir.display()))?;
    let store = Arc::new(
        store::SqliteStore::open(&server.data_dir)
            .with_context(|| format!("cannot open the store in {}", server.data_dir.display()))?,
    );

    let (inbound_tx, mut inbound_rx) = mpsc::channel::<Inbound>(4096);
    let transports = Transports::bind(server.sip_listen, inbound_tx)
        .await
        .with_context(|| format!("cannot listen for SIP on {}", server.sip_listen))?;
    let local = transports.local_addr();
    // Bound before anything runs, so a taken port that was asked for stops the
    // start with a clear message.
    let api_listener = match (plan.api().enabled, plan.api().default_listen) {
        (false, _) => None,
        (true, false) => Some(api::bind(plan.api().listen).await?),
        // Nobody asked for this port: another program (or a second switch on
        // this machine) having it should not stop the calls.
        (true, true) => match api::bind(plan.api().listen).await {
            Ok(listener) => Some(listener),
            Err(e) => {
                tracing::error!("{e}; running without the HTTP API");
                None
            }
        },
    };

    let (media_tx, mut media_rx) = mpsc::unbounded_channel::<MediaEvent>();
    let rtp_config = crate::rtp::RtpConfig {
        bind_ip: rtp_bind_ip(&server),
        first_port: server.rtp_ports.first,
        last_port: server.rtp_ports.last,
        workers: 0,
        media_timeout: server.media_timeout,
    };
    let sink = media_tx.clone();
    // Recordings finished and legs' final figures, for the call records.
    let (report_tx, mut report_rx) = mpsc::unbounded_channel::<MediaReport>();
    // Recordings (calls, voicemail) live with the database under data_dir,
    // so a path in a record stays valid whatever directory the switch ran in.
    let options = crate::rtp::EngineOptions {
        recording_dir: std::fs::canonicalize(&server.data_dir)
            .unwrap_or_else(|_| server.data_dir.clone())
            .join("recordings"),
        reports: Some(Arc::new(move |r| {
            let _ = report_tx.send(r);
        })),
        ..Default::default()
    };
    let media: Box<dyn crate::media::MediaControl> = Box::new(crate::rtp::RtpEngine::start_with(
        &rtp_config,
        options,
        Arc::new(move |e| {
            let _ = sink.send(e);
        }),
    ));

    // Off the signalling task: its own thread POSTs, the core's events only queue.
    let mut webhooks = Webhooks::start(plan.clone()).context("cannot start the webhook sender")?;

    let clock = wall_clock();
    let seed = rand::random::<u64>();
    let mut core = Core::new(plan.clone(), media, local, clock, seed);
    let now = clock.at;
    let restored = store
        .load_registrations(clock.unix as i64)
        .unwrap_or_else(|e| {
            tracing::warn!("cannot load saved registrations: {e}");
            Vec::new()
        });
    if !restored.is_empty() {
        tracing::info!("restored {} registrations", restored.len());
    }
    let (mut book, live_rx) = LiveBook::new(clock.unix as i64 * 1000);
    // The core skips saved bindings that expired while the switch was down.
    for reg in restored.iter().filter(|r| r.expires_at > clock.unix as i64) {
        book.binding_saved(reg);
    }
    core.restore_bindings(restored, now);
    core.start_trunk_registrations(now);

    tracing::info!(
        "switchboard listening for SIP on {local} (UDP and TCP), public address {}, RTP ports {}",
        server.public_address,
        server.rtp_ports
    );

    let (plan_tx, mut plan_rx) = mpsc::unbounded_channel::<Arc<dialplan::Plan>>();
    let (reload_tx, reload_rx) = mpsc::channel(8);
    let status = SharedStatus::default();
    let reloader = Reloader::new(config_path, plan.clone(), plan_tx, status.clone());
    tokio::spawn(reloader.run(reload_rx));
    // Dropped when this function returns, which stops the API.
    let (_api_stop, api_stopped) = tokio::sync::oneshot::channel::<()>();
    if let Some(listener) = api_listener {
        let state = Arc::new(ServerApi {
            live: live_rx,
            store: store.clone(),
            reloads: reload_tx,
            status,
            data_dir: server.data_dir.clone(),
        });
        let addr = listener.local_addr()?;
        tracing::info!("HTTP API on http://{addr}/ (health, metrics, /api/...)");
        tokio::spawn(async move {
            let stopped = async {
                let _ = api_stopped.await;
            };
            if let Err(e) = api::serve(listener, state, stopped).await {
                tracing::error!("{e}");
            }
        });
    }

    let mut terminate = shutdown_signal();
    // This thread allocates per SIP message: it keeps a cache, emptied once
    // it has had nothing to do for a second (see thread_cache.rs). Timers
    // count as work: after a peak, expiring transactions free for 32 s more.
    crate::thread_cache::enable();
    let mut cache_dirty = false;
    let mut last_work = tokio::time::Instant::now();
    loop {
        // First thing each turn, so what start_trunk_registrations queued goes out.
        apply_effects(&mut core, &transports, &*store, &mut book, &webhooks);
        book.publish(core.active_calls());
        let deadline = core.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        let quiet = async {
            match cache_dirty {
                true => tokio::time::sleep_until(last_work + CACHE_QUIET).await,
                false => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(item) = inbound_rx.recv() => {
                match item {
                    Inbound::Message { peer, data } => core.handle_message(peer, &data, now_instant()),
                }
            }
            _ = quiet => {
                crate::thread_cache::flush();
                cache_dirty = false;
                continue;
            }
            Some(ev) = media_rx.recv() => core.handle_media_event(ev, now_instant()),
            Some(report) = report_rx.recv() => core.handle_media_report(report, now_instant()),
            _ = sleep => core.handle_timeout(now_instant()),
            // Calls in progress keep the plan they captured; new ones get this.
            Some(plan) = plan_rx.recv() => {
                webhooks.set_plan(plan.clone());
                core.set_plan(plan)
            }
            _ = &mut terminate => {
                tracing::info!("shutting down");
                break;
            }
        }
        cache_dirty = true;
        last_work = tokio::time::Instant::now();
    }
    // Remove our bindings at the trunk providers, answering their
    // challenges, for at most 2 s.
    core.unregister_trunks(now_instant());
    let give_up = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        apply_effects(&mut core, &transports, &*store, &mut book, &webhooks);
        if !core.trunks_unregistering() {
            break;
        }
        let deadline = core.poll_timeout();
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            Some(Inbound::Message { peer, data }) = inbound_rx.recv() => {
                core.handle_message(peer, &data, now_instant())
            }
            _ = sleep => core.handle_timeout(now_instant()),
            _ = tokio::time::sleep_until(give_up) => break,
        }
    }
    log_err(store.flush());
    // Blocks this thread for at most a second: nothing else runs any more.
    webhooks.shutdown(std::time::Duration::from_secs(1));
    Ok(())
}

/// Carries out what the core asked for: datagrams out, records stored, the
/// API's figures kept up to date and webhook events queued.
fn apply_effects(
    core: &mut Core,
    transports: &Transports,
    store: &dyn Store,
    book: &mut LiveBook,
    webhooks: &Webhooks,
) {
    while let Some(effect) = core.poll_effect() {
        match effect {
            Effect::Send { peer, data } => transports.send(peer, data),
            Effect::SaveBinding(reg) => {
                book.binding_saved(&reg);
                log_err(store.upsert_registration(reg))
            }
            Effect::RemoveBinding { username, contact } => {
                book.binding_removed(&username, &contact);
                log_err(store.remove_registration(&username, &contact))
            }
            Effect::CallRecord(record) => {
                book.call_finished(record.disposition);
                webhooks.call_ended(&record);
                log_err(store.insert_call_record(record))
            }
            Effect::CallMedia { node_id, id, media } => log_err(store.update_call_media(
                &node_id,
                &id,
                media.recording_duration_ms,
                media.caller,
                media.operator,
            )),
            Effect::Voicemail(message) => {
                // Also a log line, for a watcher without a webhook.
                webhooks.voicemail(&message);
                tracing::info!(target: "switchboard::notify", mailbox = %message.mailbox, caller = %message.caller, number = %message.number, path = %message.path, "new voicemail");
                log_err(store.insert_voicemail(message))
            }
        }
    }
}

/// RTP sockets bind where SIP listens (all interfaces for 0.0.0.0), so the
/// public address in SDP reaches them.
fn rtp_bind_ip(server: &dialplan::ServerSettings) -> std::net::IpAddr {
    server.sip_listen.ip()
}

fn log_err(r: Result<(), store::Error>) {
    if let Err(e) = r {
        tracing::error!("store: {e}");
    }
}

/// The driver is where the clock is read.
#[allow(clippy::disallowed_methods)]
fn now_instant() -> Instant {
    Instant::now()
}

#[allow(clippy::disallowed_methods)]
fn wall_clock() -> WallClock {
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    WallClock {
        at: Instant::now(),
        unix,
    }
}

/// Resolves on SIGINT or SIGTERM.
fn shutdown_signal() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    Box::pin(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    })
}
