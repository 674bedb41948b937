//! The conformance suite against mfa-core's `MemoryStore`: the reference every backend is held to.

#[macro_use]
mod suite;

use mfa_core::{ManualClock, MemoryStore};
use suite::{Fixture, START};

fn open() -> Option<Fixture<MemoryStore>> {
    let clock = ManualClock::new(START);
    Some(Fixture {
        store: MemoryStore::with_clock(clock.clone()),
        clock,
        namespace: "memory".to_owned(),
        keep: None,
    })
}

conformance_tests!(open);
