//! A timing-leak detector in the style of dudect (Reparaz, Balasch and Verbauwhede, "Dude, is my
//! code constant time?", DATE 2017), for `src/bin/ct.rs`.
//!
//! Each path is timed with inputs of two classes (for example the right code and random wrong
//! codes), the class of every measurement drawn at random so that drift, interrupts and other
//! processes hit both classes alike. The measurements feed Welch's t-test, once on all of them and
//! once per *crop*: only the measurements below a percentile of a first calibration batch, which
//! drops the long tail that preemption and interrupts add (dudect does the same). The largest |t|
//! over the crops is the verdict's figure: below [`NO_LEAK_BELOW`] no leak was detected, above
//! [`LEAK_ABOVE`] the two classes clearly take different times.
//!
//! What this cannot show: a leak smaller than the noise at the number of measurements taken, and
//! a leak on another machine, compiler or CPU. A low |t| is evidence, not proof.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::RngExt as _;
use rand::seq::SliceRandom as _;

/// Below this |t|, no leak was detected (dudect's threshold for "probably constant time").
pub const NO_LEAK_BELOW: f64 = 4.5;

/// Above this |t|, the two classes take clearly different times.
pub const LEAK_ABOVE: f64 = 10.0;

/// Fewest measurements of *each* class for a test's t to count.
pub const MIN_PER_CLASS: f64 = 1_000.0;

/// The crops, in hundredths of a percent of the calibration batch: a test keeps the measurements
/// at or below that percentile. Dense at the low end, where the tail of slow outliers is cut
/// hardest, like dudect's geometric series; the uncropped test is run besides.
pub const CROPS_PERMYRIAD: [usize; 18] = [
    500, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 7_500, 8_000, 8_500, 9_000, 9_250, 9_500,
    9_750, 9_900, 9_950, 9_990,
];

/// Measurements of each input in each class per round. Few, so that work depending on one
/// input's public content (its characters) is drawn afresh often, and counts as noise.
pub const USES_PER_ROUND: usize = 8;

/// Which of the two input classes a measurement used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// The first class (for example the right code).
    First,
    /// The second class (for example random wrong codes).
    Second,
}

impl Class {
    fn index(self) -> usize {
        match self {
            Self::First => 0,
            Self::Second => 1,
        }
    }
}

/// Count, mean and sum of squared deviations of a stream of values (Welford's online update).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    count: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// Adds one value.
    pub fn push(&mut self, value: f64) {
        self.count += 1.0;
        let delta = value - self.mean;
        self.mean += delta / self.count;
        self.m2 += delta * (value - self.mean);
    }

    /// How many values were added.
    #[must_use]
    pub fn count(&self) -> f64 {
        self.count
    }

    /// Their mean (0 when there are none).
    #[must_use]
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Their sample variance (divided by n − 1); `None` below two values.
    #[must_use]
    pub fn variance(&self) -> Option<f64> {
        (self.count >= 2.0).then(|| self.m2 / (self.count - 1.0))
    }
}

/// Welch's two-sample t-test (unequal variances), fed one value at a time.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct WelchTest {
    classes: [Moments; 2],
}

impl WelchTest {
    /// Adds one measurement of `class`.
    pub fn push(&mut self, class: Class, value: f64) {
        if let Some(moments) = self.classes.get_mut(class.index()) {
            moments.push(value);
        }
    }

    /// The moments of `class`.
    #[must_use]
    pub fn moments(&self, class: Class) -> Moments {
        self.classes.get(class.index()).copied().unwrap_or_default()
    }

    /// t = (mean₁ − mean₂) / √(s₁²/n₁ + s₂²/n₂); `None` below two values per class, or when both
    /// classes have no variance at all.
    #[must_use]
    pub fn t(&self) -> Option<f64> {
        let [first, second] = self.classes;
        let spread = first.variance()? / first.count + second.variance()? / second.count;
        (spread > 0.0).then(|| (first.mean - second.mean) / spread.sqrt())
    }
}

/// Which measurements a test keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crop {
    /// All of them.
    None,
    /// Those at or below this percentile of the calibration batch, in hundredths of a percent.
    BelowPermyriad(usize),
}

/// The uncropped test and one test per crop of [`CROPS_PERMYRIAD`].
#[derive(Clone, Debug)]
pub struct CroppedTests {
    uncropped: WelchTest,
    /// (threshold in the measurement's unit, permyriad, test).
    cropped: Vec<(f64, usize, WelchTest)>,
}

impl CroppedTests {
    /// Thresholds at the [`CROPS_PERMYRIAD`] percentiles of `calibration` (which is not itself
    /// counted). Empty calibration: only the uncropped test.
    #[must_use]
    pub fn calibrate(calibration: &[f64]) -> Self {
        let mut sorted = calibration.to_vec();
        sorted.sort_by(f64::total_cmp);
        let cropped = CROPS_PERMYRIAD
            .iter()
            .filter_map(|&permyriad| {
                let index = sorted.len().saturating_mul(permyriad) / 10_000;
                let threshold = sorted.get(index).copied()?;
                Some((threshold, permyriad, WelchTest::default()))
            })
            .collect();
        Self {
            uncropped: WelchTest::default(),
            cropped,
        }
    }

    /// Adds one measurement to the uncropped test and to every crop it falls within.
    pub fn push(&mut self, class: Class, value: f64) {
        self.uncropped.push(class, value);
        for (threshold, _, test) in &mut self.cropped {
            if value <= *threshold {
                test.push(class, value);
            }
        }
    }

    /// The test with the largest |t| among those with at least [`MIN_PER_CLASS`] measurements
    /// of each class.
    #[must_use]
    pub fn max_abs_t(&self) -> Option<(f64, Crop, WelchTest)> {
        core::iter::once((Crop::None, self.uncropped))
            .chain(
                self.cropped
                    .iter()
                    .map(|(_, permyriad, test)| (Crop::BelowPermyriad(*permyriad), *test)),
            )
            .filter(|(_, test)| {
                test.moments(Class::First).count() >= MIN_PER_CLASS
                    && test.moments(Class::Second).count() >= MIN_PER_CLASS
            })
            .filter_map(|(crop, test)| Some((test.t()?.abs(), crop, test)))
            .max_by(|a, b| a.0.total_cmp(&b.0))
    }
}

/// What a |t| says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// |t| < [`NO_LEAK_BELOW`].
    NoLeakDetected,
    /// Between the two thresholds: run longer, on a quieter machine.
    Inconclusive,
    /// |t| > [`LEAK_ABOVE`].
    Leak,
}

impl Verdict {
    /// The verdict for `abs_t`.
    #[must_use]
    pub fn of(abs_t: f64) -> Self {
        if abs_t < NO_LEAK_BELOW {
            Self::NoLeakDetected
        } else if abs_t > LEAK_ABOVE {
            Self::Leak
        } else {
            Self::Inconclusive
        }
    }

    /// As printed: "no leak detected", "inconclusive", "LEAK".
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoLeakDetected => "no leak detected",
            Self::Inconclusive => "inconclusive",
            Self::Leak => "LEAK",
        }
    }
}

/// When [`measure`] stops: after `time`, or once `measurements` are counted (whole rounds, so a
/// few more), whichever comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// The most time to spend (the calibration round always runs).
    pub time: Duration,
    /// The most measurements to count, if capped.
    pub measurements: Option<u64>,
}

impl Budget {
    /// Measure for `time`.
    #[must_use]
    pub fn time(time: Duration) -> Self {
        Self {
            time,
            measurements: None,
        }
    }
}

/// The outcome of [`measure`].
#[derive(Clone, Debug)]
pub struct Report {
    /// Measurements counted (the calibration round is not).
    pub measurements: u64,
    /// The largest |t| with the crop it came from and that crop's test, or `None` when too few
    /// measurements were taken.
    pub max: Option<(f64, Crop, WelchTest)>,
    /// Calls per measurement.
    pub batch: u32,
}

impl Report {
    /// The largest |t| (0 when there was none).
    #[must_use]
    pub fn max_abs_t(&self) -> f64 {
        self.max.map_or(0.0, |(t, _, _)| t)
    }

    /// The verdict on [`max_abs_t`](Self::max_abs_t); too few measurements are inconclusive.
    #[must_use]
    pub fn verdict(&self) -> Verdict {
        match self.max {
            Some((t, _, _)) => Verdict::of(t),
            None => Verdict::Inconclusive,
        }
    }

    /// Whether the first class was the slower one in the crop of the largest |t|.
    #[must_use]
    pub fn first_slower(&self) -> Option<bool> {
        let (_, _, test) = self.max?;
        Some(test.moments(Class::First).mean() > test.moments(Class::Second).mean())
    }

    /// Mean nanoseconds per call of each class within the crop of the largest |t|.
    #[must_use]
    pub fn mean_ns_per_call(&self) -> Option<[f64; 2]> {
        let (_, _, test) = self.max?;
        let batch = f64::from(self.batch.max(1));
        Some([
            test.moments(Class::First).mean() / batch,
            test.moments(Class::Second).mean() / batch,
        ])
    }
}

/// Times `operation` on inputs of two classes until `budget` has passed, in rounds: each round
/// takes fresh secrets and inputs from `prepare`, then measures every input
/// [`USES_PER_ROUND`] times in each class, in random order, timing `batch` calls on that class's
/// side of the input with [`Instant`].
/// The first round only calibrates the crops.
///
/// `prepare` returns the secrets (whatever the operation compares against) and the inputs, each
/// `(secret, [first, second])`: the index of a secret and what each class types against it, so
/// both classes type against the same secrets and differ only in what is typed;
/// `operation(secrets, secret, typed)` is timed.
///
/// Two effects would otherwise show as a "leak" of the harness's own making, at a fraction of a
/// nanosecond (enough for |t| > 10 in a few million measurements):
/// - where inputs sit, and which was copied last: both sides of the drawn input are copied into
///   two buffers before each measurement (`clone_from`, outside the timing), which side into
///   which buffer decided by a coin of its own, and the operation reads the buffer holding the
///   drawn class's side; so the memory it reads and the order of the copies are the same
///   whatever the class;
/// - which inputs were drawn: work that depends on the public input (parsing a code's
///   characters) differs from input to input, and a fixed pool of a few hundred inputs per class
///   gives each class a slightly different mean. Fresh inputs every round, each measured only a
///   few times and equally often in both classes, turn that into noise that averages out.
///
/// With no input nothing is measured.
pub fn measure<G: rand::Rng, S, I: Clone, R>(
    batch: u32,
    budget: Budget,
    rng: &mut G,
    mut prepare: impl FnMut(&mut G) -> (S, Vec<(usize, [I; 2])>),
    mut operation: impl FnMut(&S, usize, &I) -> R,
) -> Report {
    let mut plan: Vec<(Class, usize, bool)> = Vec::new();
    let mut times: Vec<f64> = Vec::new();
    let mut tests: Option<CroppedTests> = None;
    let mut measurements = 0_u64;
    let started = Instant::now();
    while tests.is_none()
        || (started.elapsed() < budget.time
            && budget.measurements.is_none_or(|most| measurements < most))
    {
        let (secrets, inputs) = prepare(rng);
        let Some((_, mut buffers)) = inputs.first().cloned() else {
            break;
        };
        // Balanced: every input measured USES_PER_ROUND times in each class, in random order.
        plan.clear();
        for input in 0..inputs.len() {
            for _ in 0..USES_PER_ROUND {
                plan.push((Class::First, input, rng.random::<bool>()));
                plan.push((Class::Second, input, rng.random::<bool>()));
            }
        }
        plan.shuffle(rng);
        times.clear();
        for (class, input, swap) in &plan {
            let Some((secret, [first, second])) = inputs.get(*input) else {
                continue;
            };
            // Which buffer gets which side is a coin of its own, so that neither the memory the
            // operation reads nor the order of the copies depends on the class.
            let [low, high] = &mut buffers;
            if *swap {
                low.clone_from(second);
                high.clone_from(first);
            } else {
                low.clone_from(first);
                high.clone_from(second);
            }
            let scratch = match (class, swap) {
                (Class::First, false) | (Class::Second, true) => &*low,
                (Class::First, true) | (Class::Second, false) => &*high,
            };
            let start = Instant::now();
            for _ in 0..batch {
                black_box(operation(&secrets, black_box(*secret), black_box(scratch)));
            }
            times.push(start.elapsed().as_secs_f64() * 1e9);
        }
        match &mut tests {
            None => tests = Some(CroppedTests::calibrate(&times)),
            Some(tests) => {
                for ((class, _, _), time) in plan.iter().zip(&times) {
                    tests.push(*class, *time);
                }
                measurements = measurements.saturating_add(u64::try_from(times.len()).unwrap_or(0));
            }
        }
    }
    Report {
        measurements,
        max: tests.as_ref().and_then(CroppedTests::max_abs_t),
        batch,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn welch_t_matches_a_hand_computed_example() {
        // First class 1, 2, 3, 4 (mean 2.5, s² = 5/3); second 2, 4, 6, 8 (mean 5, s² = 20/3).
        // t = (2.5 − 5) / √(5/12 + 20/12) = −2.5 / √(25/12) = −√3 ≈ −1.7320508.
        let mut test = WelchTest::default();
        for value in [1.0, 2.0, 3.0, 4.0] {
            test.push(Class::First, value);
        }
        for value in [2.0, 4.0, 6.0, 8.0] {
            test.push(Class::Second, value);
        }
        let t = test.t().unwrap();
        assert!((t + 3.0_f64.sqrt()).abs() < 1e-12, "t = {t}");
    }

    #[test]
    fn moments_match_the_two_pass_formulas() {
        let values = [3.5, -1.25, 8.0, 0.0, 2.75, 1e3];
        let mut moments = Moments::default();
        for value in values {
            moments.push(value);
        }
        let n = 6.0;
        let mean = values.iter().sum::<f64>() / n;
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        assert_eq!(moments.count(), n);
        assert!((moments.mean() - mean).abs() < 1e-9);
        assert!((moments.variance().unwrap() - variance).abs() < 1e-6);
    }

    #[test]
    fn too_few_values_or_no_spread_give_no_t() {
        let mut test = WelchTest::default();
        test.push(Class::First, 1.0);
        test.push(Class::Second, 1.0);
        assert_eq!(test.t(), None);
        test.push(Class::First, 1.0);
        test.push(Class::Second, 1.0);
        assert_eq!(test.t(), None, "no variance in either class");
    }

    #[test]
    fn crops_keep_only_values_at_or_below_their_percentile() {
        let calibration: Vec<f64> = (0..10_000).map(f64::from).collect();
        let mut tests = CroppedTests::calibrate(&calibration);
        assert_eq!(tests.cropped.len(), CROPS_PERMYRIAD.len());
        // The 5 % crop's threshold is the 500th smallest value.
        assert_eq!(tests.cropped.first().map(|c| c.0), Some(500.0));
        tests.push(Class::First, 499.0);
        tests.push(Class::First, 9_995.0);
        let counts: Vec<f64> = tests
            .cropped
            .iter()
            .map(|(_, _, test)| test.moments(Class::First).count())
            .collect();
        assert_eq!(counts.first(), Some(&1.0));
        assert_eq!(
            counts.last(),
            Some(&1.0),
            "9 995 is above the 99.9 % threshold 9 990"
        );
        assert_eq!(tests.uncropped.moments(Class::First).count(), 2.0);
    }

    /// Same distribution in both classes: the crop with the largest |t| stays small.
    #[test]
    fn identical_classes_show_no_leak() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut tests = CroppedTests::calibrate(&[]);
        let mut noise = StdRng::seed_from_u64(2);
        for _ in 0..20_000 {
            let class = if rng.random::<bool>() {
                Class::First
            } else {
                Class::Second
            };
            tests.push(class, noise.random_range(100.0..200.0));
        }
        let (t, crop, _) = tests.max_abs_t().unwrap();
        assert_eq!(crop, Crop::None);
        assert_eq!(Verdict::of(t), Verdict::NoLeakDetected, "t = {t}");
    }

    /// One class 2 % slower than the other, under noise of ±33 %: a clear leak.
    #[test]
    fn a_shifted_class_is_a_leak() {
        let mut rng = StdRng::seed_from_u64(3);
        let calibration: Vec<f64> = (0..10_000)
            .map(|_| rng.random_range(100.0..200.0))
            .collect();
        let mut tests = CroppedTests::calibrate(&calibration);
        for _ in 0..200_000 {
            let (class, shift) = if rng.random::<bool>() {
                (Class::First, 3.0)
            } else {
                (Class::Second, 0.0)
            };
            tests.push(class, rng.random_range(100.0..200.0) + shift);
        }
        let (t, _, _) = tests.max_abs_t().unwrap();
        assert_eq!(Verdict::of(t), Verdict::Leak, "t = {t}");
    }

    #[test]
    fn verdict_thresholds() {
        assert_eq!(Verdict::of(4.49), Verdict::NoLeakDetected);
        assert_eq!(Verdict::of(4.5), Verdict::Inconclusive);
        assert_eq!(Verdict::of(10.0), Verdict::Inconclusive);
        assert_eq!(Verdict::of(10.01), Verdict::Leak);
    }

    #[test]
    fn measure_counts_rounds_after_calibration() {
        let mut rng = StdRng::seed_from_u64(4);
        let prepare = |_: &mut StdRng| (10_u64, vec![(0, [1_u64, 2]), (1, [2, 3]), (2, [3, 4])]);
        let add =
            |base: &u64, secret: usize, typed: &u64| base + typed + u64::try_from(secret).unwrap();
        let report = measure(1, Budget::time(Duration::ZERO), &mut rng, prepare, add);
        // One calibration round, then the budget (zero) has passed: nothing counted yet.
        assert_eq!(report.measurements, 0);
        assert_eq!(report.verdict(), Verdict::Inconclusive);
        let report = measure(
            1,
            Budget::time(Duration::from_millis(1)),
            &mut rng,
            prepare,
            add,
        );
        // Rounds of 3 inputs × 2 classes × USES_PER_ROUND.
        assert!(report.measurements > 0);
        assert_eq!(
            report.measurements % u64::try_from(6 * USES_PER_ROUND).unwrap(),
            0,
            "whole rounds"
        );
        let empty = |_: &mut StdRng| (0_u64, Vec::<(usize, [u64; 2])>::new());
        let report = measure(
            1,
            Budget::time(Duration::from_millis(1)),
            &mut rng,
            empty,
            add,
        );
        let capped = Budget {
            time: Duration::from_secs(60),
            measurements: Some(100),
        };
        let report_capped = measure(1, capped, &mut rng, prepare, add);
        assert_eq!(
            report_capped.measurements,
            6 * 8 * 3,
            "stops after the round that passes 100"
        );
        assert_eq!(report.measurements, 0, "no input, no measurement");
    }
}
