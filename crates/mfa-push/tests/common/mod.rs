//! Shared test fixtures: a store, a seeded RNG, and enrolled phones.
#![allow(dead_code, unreachable_pub)]

use mfa_core::{MemoryStore, UnixTime};
use mfa_push::{DeviceKey, EnrollmentUri, Platform, PushDevice, PushPolicy};
use rand::SeedableRng as _;
use rand::rngs::StdRng;

pub const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

pub fn policy() -> PushPolicy {
    PushPolicy::new("Example")
}

/// Enrolls a fresh phone for `account`, the way the app would: scan, sign, post.
pub fn enroll(
    store: &MemoryStore,
    policy: &PushPolicy,
    account: &str,
    rng: &mut StdRng,
) -> (DeviceKey, PushDevice) {
    let offer = mfa_push::begin_enrollment(store, policy, account, NOW, rng).expect("enrollment");
    let scanned = EnrollmentUri::parse(&offer.uri.to_uri()).expect("scanned uri");
    let phone = DeviceKey::generate(rng);
    let message = phone
        .registration_message(&scanned, "phone", Platform::Android, Some("fcm-token"), NOW)
        .expect("registration message");
    let device = mfa_push::register_device(store, policy, &message, NOW).expect("registered");
    (phone, device)
}
