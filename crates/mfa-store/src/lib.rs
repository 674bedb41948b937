#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "sqlite")]
pub mod audit;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod audit_row;
#[cfg(feature = "cipher")]
pub mod cipher;
#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "sqlite")]
pub use audit::SqliteAuditSink;
#[cfg(feature = "cipher")]
pub use cipher::{CipherKey, StoreCipher};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore};

#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;

#[cfg(feature = "blocking")]
pub use blocking::Blocking;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresAuditSink, PostgresOptions, PostgresStore};
#[cfg(feature = "redis")]
pub use redis::{RedisOptions, RedisStore};

/// A store URL fit for logs and messages: `scheme://user:password@host/…` becomes
/// `scheme://user:***@host/…`; anything without a password in its authority is returned as it is.
///
/// ```
/// assert_eq!(
///     mfa_store::redact_url("postgres://mfa:s3cret@db.example/mfa"),
///     "postgres://mfa:***@db.example/mfa"
/// );
/// assert_eq!(mfa_store::redact_url("redis://localhost/0"), "redis://localhost/0");
/// ```
#[must_use]
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(user, _)| user);
            format!("{scheme}://{user}:***@{host}{path}")
        }
        None => url.to_owned(),
    }
}
