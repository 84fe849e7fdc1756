//! The router and its handlers: each reads the [`ApiState`] and shapes the answer, nothing more.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::metrics;
use crate::state::ApiState;
use crate::views::{CallView, RegistrationView, ReloadStatusView, ReloadView, VoicemailView};
use crate::Error;

type AppState = Arc<dyn ApiState>;

/// Call records returned when `?limit=` is not given, and the most one request may ask for.
const DEFAULT_LIMIT: usize = 50;
const MAX_LIMIT: usize = 1000;

/// The API's routes over `state`.
pub fn router(state: Arc<dyn ApiState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/calls", get(calls))
        .route("/api/registrations", get(registrations))
        .route("/api/reload", get(reload_status).post(reload))
        .route("/api/voicemail", get(voicemails))
        .route("/api/voicemail/{id}/audio", get(voicemail_audio))
        .with_state(state)
}

async fn health() -> String {
    format!("ok switchboard {}\n", crate::VERSION)
}

async fn metrics(State(state): State<AppState>) -> Response {
    let body = metrics::render(&state.live(), &state.reload_status());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], body).into_response()
}

#[derive(Debug, Deserialize)]
struct CallsQuery {
    limit: Option<usize>,
}

async fn calls(State(state): State<AppState>, Query(q): Query<CallsQuery>) -> Response {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    match blocking(state, move |s| s.recent_calls(limit)).await {
        Ok(records) => {
            let views: Vec<CallView> = records.iter().map(CallView::from).collect();
            Json(views).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn registrations(State(state): State<AppState>) -> Response {
    let live = state.live();
    let views: Vec<RegistrationView> = live.registrations.iter().map(Into::into).collect();
    Json(views).into_response()
}

async fn reload(State(state): State<AppState>) -> Response {
    let outcome = state.reload().await;
    let status = if outcome.ok {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, Json(ReloadView::from(&outcome))).into_response()
}

async fn reload_status(State(state): State<AppState>) -> Response {
    let status = state.reload_status();
    Json(ReloadStatusView::from(&status)).into_response()
}

async fn voicemails(State(state): State<AppState>) -> Response {
    match blocking(state, |s| s.voicemails()).await {
        Ok(list) => {
            let views: Vec<VoicemailView> = list.iter().map(Into::into).collect();
            Json(views).into_response()
        }
        Err(e) => internal(e),
    }
}

async fn voicemail_audio(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    match blocking(state, move |s| s.voicemail_audio(&id)).await {
        Ok(Some(wav)) => ([(header::CONTENT_TYPE, "audio/wav")], wav).into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such voicemail message\n").into_response(),
        Err(e) => internal(e),
    }
}

/// Runs a blocking read (the store, files) off the async threads.
async fn blocking<T: Send + 'static>(
    state: AppState,
    f: impl FnOnce(&dyn ApiState) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    match tokio::task::spawn_blocking(move || f(&*state)).await {
        Ok(r) => r,
        Err(e) => Err(Error::Io(std::io::Error::other(e.to_string()))),
    }
}

fn internal(e: Error) -> Response {
    tracing::error!("api: {e}");
    (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
}
