//! Managing security info: add an authenticator app, backup codes, rename / default / remove,
//! app passwords, remembered devices, sign out everywhere.

use axum::Router;

use crate::app::AppState;

/// The routes of this module.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}
