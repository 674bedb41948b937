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
