#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

/// The account from a check answering `Result<Result<account, redirect>, PageError>` (a page
/// that needs a session), or an early return of the redirect (or the error).
macro_rules! account_or_return {
    ($check:expr) => {
        match $check.await? {
            Ok(account) => account,
            Err(response) => return Ok(response),
        }
    };
}

pub mod app;
mod console;
mod manage;
mod oob;
mod pages;
pub mod password;
mod push;
pub mod session;
pub mod store;
pub mod web;
mod webauthn;

use std::net::SocketAddr;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;

pub use app::{App, AppOptions, AppState, DEFAULT_POLICY, LogFn, StartError, stderr_log};
pub use store::StoreSpec;

/// The whole app: every page and API route, the session and CSRF middleware, the security
/// headers, and the static files.
pub fn router(app: AppState) -> Router {
    Router::new()
        .merge(pages::routes())
        .merge(webauthn::routes())
        .merge(push::routes())
        .merge(oob::routes())
        .fallback(|| async { web::PageError::not_found() })
        .layer(middleware::from_fn_with_state(
            app.clone(),
            session::session_layer,
        ))
        .merge(web::static_routes())
        .layer(DefaultBodyLimit::max(session::MAX_BODY))
        .layer(middleware::from_fn(web::security_headers))
        .with_state(app)
}

/// Serves the app on `listener` until the process is stopped. The peer address reaches the
/// handlers (the sign-in log's IP, the policy's location).
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve(listener: tokio::net::TcpListener, app: AppState) -> std::io::Result<()> {
    axum::serve(
        listener,
        router(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}
