//! Durable stores behind mfa-core's store traits (store-net's temporary skeleton; store-core's
//! layout replaces it on merge).
#![forbid(unsafe_code)]

#[cfg(feature = "blocking")]
pub mod blocking;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
