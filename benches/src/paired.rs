//! Paired, interleaved timing: the ratios of `benches/RESULTS.md`'s goals, measured so that a
//! shared machine's drift cancels out.
//!
//! Criterion times one row after another, each for seconds. On a virtual machine whose speed
//! drifts by 10–40 % over minutes (noisy neighbours, frequency changes), two rows of one run can
//! then disagree by more than the 15 % a goal allows, either way. Here every round times a short
//! batch of **each** contender back to back, in a fresh random order, and a ratio is the median
//! over rounds of the per-round ratio: whatever slows the machine during a round slows both sides
//! of it alike. The per-call medians are reported too, but the ratios are the figures to trust.
//!
//! Used by `benches/benches/paired.rs` (`cargo bench -p mfa-benches --bench paired`), which writes
//! the JSON that `benches/results` turns into a table.

use std::time::{Duration, Instant};

use rand::Rng;
use rand::seq::SliceRandom as _;
use serde::Serialize;

/// Something to time: `run(calls)` performs `calls` calls and returns how long **they** took
/// (so per-batch set-up, such as building single-use ceremony states, stays outside the time).
pub struct Contender<'a> {
    /// The row's name, as in the criterion bench.
    pub name: &'static str,
    /// Runs a batch and returns its duration.
    pub run: Box<dyn FnMut(u32) -> Duration + 'a>,
}

impl<'a> Contender<'a> {
    /// A contender that times `call` itself, `calls` times in a row.
    pub fn simple<R>(name: &'static str, mut call: impl FnMut() -> R + 'a) -> Self {
        Self {
            name,
            run: Box::new(move |calls| {
                let start = Instant::now();
                for _ in 0..calls {
                    std::hint::black_box(call());
                }
                start.elapsed()
            }),
        }
    }

    /// A contender whose calls each need a fresh value from `setup`, built for the whole batch
    /// before the clock starts.
    pub fn with_setup<S, R>(
        name: &'static str,
        mut setup: impl FnMut() -> S + 'a,
        mut call: impl FnMut(S) -> R + 'a,
    ) -> Self {
        Self {
            name,
            run: Box::new(move |calls| {
                let inputs: Vec<S> = (0..calls).map(|_| setup()).collect();
                let start = Instant::now();
                for input in inputs {
                    std::hint::black_box(call(input));
                }
                start.elapsed()
            }),
        }
    }
}

/// How long to spend, and how long one batch should take.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Rounds (each times one batch of every contender).
    pub rounds: u32,
    /// The target duration of one batch; the batch size of each contender is calibrated to it.
    pub batch_time: Duration,
}

/// Median and quartiles of a sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Spread {
    /// The 25th percentile.
    pub p25: f64,
    /// The median.
    pub median: f64,
    /// The 75th percentile.
    pub p75: f64,
}

impl Spread {
    /// The quartiles of `values` (nearest rank); `None` when empty or not all finite.
    #[must_use]
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() || values.iter().any(|v| !v.is_finite()) {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        // Nearest rank: the value at rank ceil(n * numerator / denominator), counted from 1.
        let at = |numerator: usize, denominator: usize| {
            let rank = sorted.len().saturating_mul(numerator).div_ceil(denominator);
            sorted.get(rank.saturating_sub(1)).copied()
        };
        Some(Self {
            p25: at(1, 4)?,
            median: at(1, 2)?,
            p75: at(3, 4)?,
        })
    }
}

/// One contender's result.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The contender's name.
    pub name: &'static str,
    /// Calls per batch (calibrated).
    pub batch: u32,
    /// Nanoseconds per call over the rounds.
    pub ns_per_call: Spread,
    /// Per-round nanoseconds per call, in round order (for ratios).
    #[serde(skip)]
    per_round: Vec<f64>,
}

/// The results of one [`measure`] call.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The group's name.
    pub group: &'static str,
    /// Rounds measured.
    pub rounds: u32,
    /// One row per contender, in the order given.
    pub rows: Vec<Row>,
}

impl Report {
    /// The median and quartiles over rounds of `numerator`'s time per call divided by
    /// `denominator`'s in the same round; `None` for an unknown name.
    #[must_use]
    pub fn ratio(&self, numerator: &str, denominator: &str) -> Option<Spread> {
        let find = |name: &str| self.rows.iter().find(|row| row.name == name);
        let (top, bottom) = (find(numerator)?, find(denominator)?);
        let ratios: Vec<f64> = top
            .per_round
            .iter()
            .zip(&bottom.per_round)
            .map(|(t, b)| t / b)
            .collect();
        Spread::of(&ratios)
    }
}

/// Times every contender in every round, in a random order per round, after calibrating each
/// one's batch size to `plan.batch_time` and one warm-up round.
pub fn measure<G: Rng>(
    group: &'static str,
    mut contenders: Vec<Contender<'_>>,
    plan: Plan,
    rng: &mut G,
) -> Report {
    let target = plan.batch_time.max(Duration::from_micros(1));
    let mut batches = Vec::with_capacity(contenders.len());
    for contender in &mut contenders {
        // Grow the batch until it takes a tenth of the target, then scale it to the target.
        let mut calls = 1_u32;
        let elapsed = loop {
            let elapsed = (contender.run)(calls);
            if elapsed >= target / 10 || calls >= 1 << 20 {
                break elapsed;
            }
            calls = calls.saturating_mul(4);
        };
        let batch = target.as_nanos().saturating_mul(u128::from(calls)) / elapsed.as_nanos().max(1);
        batches.push(u32::try_from(batch).unwrap_or(1 << 24).clamp(1, 1 << 24));
    }
    let capacity = usize::try_from(plan.rounds).unwrap_or(0);
    let mut per_round: Vec<Vec<f64>> = vec![Vec::with_capacity(capacity); contenders.len()];
    let mut order: Vec<usize> = (0..contenders.len()).collect();
    for round in 0..=plan.rounds {
        order.shuffle(rng);
        for &index in &order {
            let (Some(contender), Some(&batch)) = (contenders.get_mut(index), batches.get(index))
            else {
                continue;
            };
            let elapsed = (contender.run)(batch);
            // Round 0 warms every contender up and is not kept.
            if round > 0
                && let Some(times) = per_round.get_mut(index)
            {
                times.push(elapsed.as_secs_f64() * 1e9 / f64::from(batch));
            }
        }
    }
    let rows = contenders
        .iter()
        .zip(batches)
        .zip(per_round)
        .filter_map(|((contender, batch), times)| {
            Some(Row {
                name: contender.name,
                batch,
                ns_per_call: Spread::of(&times)?,
                per_round: times,
            })
        })
        .collect();
    Report {
        group,
        rounds: plan.rounds,
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    #[test]
    fn quartiles_by_nearest_rank() {
        let spread = Spread::of(&[4.0, 1.0, 3.0, 2.0]).expect("a sample");
        assert_eq!((spread.p25, spread.median, spread.p75), (1.0, 2.0, 3.0));
        assert_eq!(Spread::of(&[]), None);
        assert_eq!(Spread::of(&[1.0, f64::NAN]), None);
    }

    /// Contenders whose "time" is a fixed multiple of a drifting clock: the per-round ratio is
    /// exact whatever the drift, which is the point of pairing.
    #[test]
    fn ratios_cancel_a_drift_shared_by_both_sides() {
        let drift = std::cell::Cell::new(1.0_f64);
        let fake = |factor: f64| {
            let drift = &drift;
            Contender {
                name: if factor > 1.5 { "slow" } else { "fast" },
                run: Box::new(move |calls| {
                    drift.set(drift.get() * 1.001);
                    Duration::from_secs_f64(1e-6 * factor * drift.get() * f64::from(calls))
                }),
            }
        };
        let plan = Plan {
            rounds: 200,
            batch_time: Duration::from_micros(50),
        };
        let report = measure(
            "test",
            vec![fake(2.0), fake(1.0)],
            plan,
            &mut StdRng::seed_from_u64(1),
        );
        let ratio = report.ratio("slow", "fast").expect("both rows");
        // Within a round the slower side ran either just before or just after the faster one:
        // the drift between them is one step of 0.1 %.
        assert!((ratio.median - 2.0).abs() < 2.0 * 0.0011, "{ratio:?}");
        assert!(report.ratio("slow", "missing").is_none());
        assert_eq!(report.rows.len(), 2);
    }
}
