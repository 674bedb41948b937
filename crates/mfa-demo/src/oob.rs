//! oob: owned by the factors helper (see FACTORS.md). A stub until then.

use axum::Router;

use crate::app::{App, AppState};

/// This factor's routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
}

/// Extra values for this factor's verify partial (`templates/verify_<method>.html`), as
/// `extra` in its context.
pub(crate) async fn verify_context(_app: &App, _account: &str, _method: &str) -> serde_json::Value {
    serde_json::Value::Null
}

/// Extra values for this factor's part of the security-info page, as `extra_oob`.
pub(crate) async fn security_info_context(_app: &App, _account: &str) -> serde_json::Value {
    serde_json::Value::Null
}
