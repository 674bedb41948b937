//! Error conventions shared by every factor crate.
//!
//! - Each crate has one `#[non_exhaustive]` error enum whose variants say what failed for the
//!   operator (`Replayed`, `Expired`, `ChallengeMismatch` …). `Display` is written by hand and never
//!   contains a secret, a code, or anything the user typed.
//! - End users should be shown one opaque message ("that code didn't work"); the variant is for logs,
//!   metrics and support.
//! - Functions that decide return `Result`, never `bool`, and results are `#[must_use]`.
//! - Factor errors implement [`Rejection`], which gives a stable machine-readable reason and tells
//!   the attempt limiter whether the failure counts against the user.

/// A factor's verification error, as the shared machinery sees it.
pub trait Rejection: std::error::Error + Send + Sync + 'static {
    /// A stable `snake_case` reason for logs and metrics (`"replayed"`, `"code_mismatch"` …).
    fn reason(&self) -> &'static str;

    /// Whether this failure counts as a failed attempt for throttling.
    ///
    /// Required, so that every factor decides and documents it. Count only what an attacker
    /// could get right by guessing: a wrong code, number or PIN (and a replayed code, which is a
    /// guess at a used one). Do not count failures that cannot be guessed into success (a bad
    /// signature, a malformed response, an expired ceremony, a disabled credential): counting
    /// them buys no protection and hands anyone who knows a user's name a way to lock them out.
    fn counts_as_failure(&self) -> bool;
}

/// A check that cannot fail: lets `AttemptError<Infallible>` carry store outcomes alone (for
/// example a `StoreError` turned into an HTTP status through [`AttemptError::http_status`]).
///
/// [`AttemptError::http_status`]: crate::AttemptError::http_status
impl Rejection for core::convert::Infallible {
    fn reason(&self) -> &'static str {
        match *self {}
    }

    fn counts_as_failure(&self) -> bool {
        match *self {}
    }
}
