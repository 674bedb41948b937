#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

#[cfg(feature = "sqlite")]
pub mod audit;
#[cfg(feature = "sqlite")]
pub mod sqlite;

#[cfg(feature = "sqlite")]
pub use audit::SqliteAuditSink;
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore};
