//! Constant-time harness: Welch's t-test on the timing of every secret comparison of the
//! workspace, in the style of dudect (see `mfa_benches::ct`).
//!
//! ```text
//! cargo run --release -p mfa-benches --bin ct -- [--quick | --long] [--seconds N] [--only NAME]
//! ```
//!
//! One line per path: its name, the measurements counted, the largest |t| over the crops (with
//! the crop and the mean time per call of each class in it) and the verdict: below 4.5 "no leak
//! detected", 4.5 to 10 "inconclusive", above 10 "LEAK".
//!
//! Every path times the crate's own entry on inputs prepared in memory (no store, no I/O), in
//! two classes; its [`Kind`] says what the classes share and so what a leak means:
//! - secret paths (both classes accepted, or both refused: which window step or slot matched,
//!   how close a wrong code came) fail the run on a LEAK that shows again, the same way round,
//!   when measured a second time on fresh inputs;
//! - accept-vs-refuse paths (the right code against wrong ones) are reported only: the caller
//!   is told the answer anyway, and success does more work (it builds the proof token);
//! - the controls: two deliberately early-exit comparisons must leak (or the harness has no
//!   power), and identical classes must not (or it measures itself).
//!
//! Exits 1 when a run fails, 2 on a bad argument.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use mfa_account::FindMatchForTiming;
use mfa_backup::{HashParams, IssuePolicy, Pbkdf2Params};
use mfa_benches::ct::{Budget, Crop, Report, Verdict, measure};
use mfa_core::UnixTime;
use mfa_oob::OobCode;
use mfa_otp::{OtpSecret, Totp, TotpCredential, TotpParams};
use mfa_push::MatchNumber;
use mfa_webauthn::{CHALLENGE_LEN, Challenge};
use rand::rngs::StdRng;
use rand::{RngExt as _, SeedableRng as _};
use serde::Deserialize as _;
use serde::de::IntoDeserializer as _;
use subtle::ConstantTimeEq as _;

/// Secrets per path (credentials, sets, challenges, ...), each with one input of each class.
const POOL: usize = 256;

const NOW_SECS: u64 = 1_795_000_000;
const NOW: UnixTime = UnixTime::from_secs(NOW_SECS);

/// Crockford's base32 alphabet, as mfa-account's generated secrets use it.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// What a path's two classes have in common, and so what its |t| may fail.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Both classes get the same answer (both accepted, or both refused) and differ only in the
    /// secret's relation to the input: which step or slot matched, how close a wrong input came.
    /// A time difference here tells an attacker something the answer does not: |t| > 10 fails.
    Secret,
    /// One class is accepted and the other refused. The caller is told which anyway, so a time
    /// difference here reveals only the answer (success builds a proof token, failure an error):
    /// reported, never failing.
    Outcome,
    /// A deliberately early-exit comparison: it must show |t| > 10, or the harness could not
    /// have seen a leak anywhere else.
    MustLeak,
    /// The same input in both classes: it must not show |t| > 10, or the harness reports
    /// differences of its own making.
    MustNotLeak,
}

/// One line of the report.
struct Path {
    name: &'static str,
    kind: Kind,
    run: fn(&Settings, &mut StdRng) -> Report,
}

/// How long each path is measured.
struct Settings {
    budget: Budget,
}

/// The paths, in the order printed.
const PATHS: &[Path] = &[
    Path {
        name: "otp/totp verify: right code at step -1 vs step 0",
        kind: Kind::Secret,
        run: |settings, rng| totp(settings, rng, [Otp::Right(-1), Otp::Right(0)]),
    },
    Path {
        name: "otp/totp verify: right code at step +1 vs step 0",
        kind: Kind::Secret,
        run: |settings, rng| totp(settings, rng, [Otp::Right(1), Otp::Right(0)]),
    },
    Path {
        name: "otp/totp verify: wrong, last digit off vs random",
        kind: Kind::Secret,
        run: |settings, rng| totp(settings, rng, [Otp::LastDigitOff, Otp::Random]),
    },
    Path {
        name: "otp/totp verify: right code at step -1 vs wrong",
        kind: Kind::Outcome,
        run: |settings, rng| totp(settings, rng, [Otp::Right(-1), Otp::Random]),
    },
    Path {
        name: "otp/totp verify: right code at step 0 vs wrong",
        kind: Kind::Outcome,
        run: |settings, rng| totp(settings, rng, [Otp::Right(0), Otp::Random]),
    },
    Path {
        name: "otp/totp verify: right code at step +1 vs wrong",
        kind: Kind::Outcome,
        run: |settings, rng| totp(settings, rng, [Otp::Right(1), Otp::Random]),
    },
    Path {
        name: "backup/redeem: first slot vs last slot",
        kind: Kind::Secret,
        run: backup_redeem_first_vs_last,
    },
    Path {
        name: "backup/contains_code: first slot vs no match",
        kind: Kind::Outcome,
        run: |settings, rng| backup_match_vs_none(settings, rng, 0),
    },
    Path {
        name: "backup/contains_code: last slot vs no match",
        kind: Kind::Outcome,
        run: |settings, rng| backup_match_vs_none(settings, rng, BACKUP_CODES - 1),
    },
    Path {
        name: "webauthn/Challenge::matches: wrong last vs first byte",
        kind: Kind::Secret,
        run: |settings, rng| webauthn_challenge(settings, rng, [Wrong::Last, Wrong::First]),
    },
    Path {
        name: "webauthn/Challenge::matches: right vs wrong",
        kind: Kind::Outcome,
        run: |settings, rng| webauthn_challenge(settings, rng, [Wrong::None, Wrong::Random]),
    },
    Path {
        name: "push/MatchNumber::matches: wrong last digit vs random",
        kind: Kind::Secret,
        run: |settings, rng| push_number(settings, rng, [Wrong::Last, Wrong::Random]),
    },
    Path {
        name: "push/MatchNumber::matches: right vs wrong",
        kind: Kind::Outcome,
        run: |settings, rng| push_number(settings, rng, [Wrong::None, Wrong::Random]),
    },
    Path {
        name: "oob/OobCode::ct_eq: wrong last digit vs random",
        kind: Kind::Secret,
        run: |settings, rng| oob_code(settings, rng, [Wrong::Last, Wrong::Random]),
    },
    Path {
        name: "oob/OobCode::ct_eq: right vs wrong",
        kind: Kind::Outcome,
        run: |settings, rng| oob_code(settings, rng, [Wrong::None, Wrong::Random]),
    },
    Path {
        name: "account/find_match: first record vs last record",
        kind: Kind::Secret,
        run: |settings, rng| {
            account_find_match(settings, rng, [Some(0), Some(ACCOUNT_RECORDS - 1)])
        },
    },
    Path {
        name: "account/find_match: last record vs no match",
        kind: Kind::Outcome,
        run: |settings, rng| account_find_match(settings, rng, [Some(ACCOUNT_RECORDS - 1), None]),
    },
    Path {
        name: "control/early-exit compare: wrong last vs first byte",
        kind: Kind::MustLeak,
        run: control_early_exit,
    },
    Path {
        name: "control/early-exit compare: 6 digits, last vs first",
        kind: Kind::MustLeak,
        run: control_early_exit_digits,
    },
    Path {
        name: "control/account/find_match: last record vs itself",
        kind: Kind::MustNotLeak,
        run: |settings, rng| {
            let last = Some(ACCOUNT_RECORDS - 1);
            account_find_match(settings, rng, [last, last])
        },
    },
];

/// What a TOTP class types.
#[derive(Clone, Copy)]
enum Otp {
    /// The code of the step at this offset from the current one.
    Right(i8),
    /// The current step's code with its last digit changed (matching no step of the window).
    LastDigitOff,
    /// A random code matching no step of the window.
    Random,
}

/// How a typed value relates to the secret it is compared with.
#[derive(Clone, Copy)]
enum Wrong {
    /// It is the secret.
    None,
    /// It differs in the first byte only.
    First,
    /// It differs in the last byte only.
    Last,
    /// Random, and not the secret.
    Random,
}

/// `secret` with its `which` byte changed, or a random value of its length and alphabet that is
/// not it.
fn wrong_bytes(rng: &mut StdRng, secret: &[u8], alphabet: &[u8], which: Wrong) -> Vec<u8> {
    let mut typed = secret.to_vec();
    let change = |byte: &mut u8| {
        let at = alphabet.iter().position(|a| a == byte).unwrap_or(0);
        *byte = alphabet
            .get((at + 1) % alphabet.len())
            .copied()
            .unwrap_or(0);
    };
    match which {
        Wrong::None => {}
        Wrong::First => typed.first_mut().into_iter().for_each(change),
        Wrong::Last => typed.last_mut().into_iter().for_each(change),
        Wrong::Random => {
            while typed == secret {
                for byte in &mut typed {
                    *byte = alphabet
                        .get(rng.random_range(0..alphabet.len()))
                        .copied()
                        .unwrap_or(0);
                }
            }
        }
    }
    typed
}

/// Every byte value, for secrets of raw bytes.
fn any_byte() -> Vec<u8> {
    (0..=u8::MAX).collect()
}

/// [`wrong_bytes`] for text of ASCII symbols.
fn wrong_text(rng: &mut StdRng, secret: &str, alphabet: &[u8], which: Wrong) -> String {
    let bytes = wrong_bytes(rng, secret.as_bytes(), alphabet, which);
    String::from_utf8(bytes).expect("ASCII symbols")
}

/// `count` random strings of `len` symbols of `alphabet`, none of them in `excluded`.
fn random_strings(
    rng: &mut StdRng,
    alphabet: &[u8],
    len: usize,
    count: usize,
    excluded: &[&str],
) -> Vec<String> {
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let text: String = (0..len)
            .filter_map(|_| alphabet.get(rng.random_range(0..alphabet.len())))
            .map(|&byte| char::from(byte))
            .collect();
        if !excluded.contains(&text.as_str()) {
            out.push(text);
        }
    }
    out
}

/// One random string of `len` symbols of `alphabet` that is not in `excluded`.
fn random_string(rng: &mut StdRng, alphabet: &[u8], len: usize, excluded: &[&str]) -> String {
    random_strings(rng, alphabet, len, 1, excluded).concat()
}

/// `len` random bytes.
fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    (0..len).map(|_| rng.random::<u8>()).collect()
}

/// Inputs for [`measure`]: for each of `secrets` secrets, by its index, what each class types
/// against it (`typed(rng, index, class)`), checked first: `accepts(index, typed)` must be true
/// exactly for the classes in `accepted`.
fn inputs<C: Copy, T>(
    rng: &mut StdRng,
    secrets: usize,
    classes: [C; 2],
    accepted: [bool; 2],
    mut typed: impl FnMut(&mut StdRng, usize, C) -> T,
    mut accepts: impl FnMut(usize, &T) -> bool,
) -> Vec<(usize, [T; 2])> {
    (0..secrets)
        .map(|index| {
            let [first, second] = classes.map(|class| typed(rng, index, class));
            assert_eq!(accepts(index, &first), accepted[0], "first class");
            assert_eq!(accepts(index, &second), accepted[1], "second class");
            (index, [first, second])
        })
        .collect()
}

const DIGITS: &[u8] = b"0123456789";

/// The credential's TOTP code for `step`.
fn totp_code(credential: &TotpCredential, step: u64) -> String {
    credential
        .params()
        .code_for_step(credential.secret(), step)
        .as_str()
        .to_owned()
}

fn totp(settings: &Settings, rng: &mut StdRng, classes: [Otp; 2]) -> Report {
    let step = NOW_SECS / 30;
    let totp = Totp::new();
    let verify = |credentials: &Vec<TotpCredential>, index: usize, typed: &String| {
        let credential = credentials.get(index).expect("a credential of the pool");
        totp.verify(credential, typed, NOW)
    };
    let typed = |rng: &mut StdRng, credential: &TotpCredential, class: Otp| {
        let window: Vec<String> = (step - 1..=step + 1)
            .map(|s| totp_code(credential, s))
            .collect();
        let window: Vec<&str> = window.iter().map(String::as_str).collect();
        match class {
            Otp::Right(offset) => {
                totp_code(credential, step.saturating_add_signed(i64::from(offset)))
            }
            Otp::LastDigitOff => {
                let mut near = totp_code(credential, step);
                while window.contains(&near.as_str()) {
                    near = wrong_text(rng, &near, DIGITS, Wrong::Last);
                }
                near
            }
            Otp::Random => random_string(rng, DIGITS, 6, &window),
        }
    };
    let prepare = |rng: &mut StdRng| {
        let credentials: Vec<TotpCredential> = (0..POOL)
            .map(|_| TotpCredential::new("ct", OtpSecret::generate(rng), TotpParams::default()))
            .collect();
        let pool = inputs(
            rng,
            POOL,
            classes,
            classes.map(|class| matches!(class, Otp::Right(_))),
            |rng, index, class| typed(rng, credentials.get(index).expect("a credential"), class),
            |index, typed| verify(&credentials, index, typed).is_ok(),
        );
        (credentials, pool)
    };
    measure(1, settings.budget, rng, prepare, verify)
}

/// Codes per backup set (the default policy's count).
const BACKUP_CODES: usize = 10;

/// `POOL` sets issued by the default policy with the cheapest hash mfa-backup accepts
/// (PBKDF2-HMAC-SHA-256, one iteration), so that the slot scan is a visible share of the time.
fn backup_sets(rng: &mut StdRng) -> Vec<mfa_backup::IssuedCodes> {
    let policy = IssuePolicy {
        hasher: HashParams::Pbkdf2Sha256(Pbkdf2Params::new(1).expect("one iteration")),
        ..IssuePolicy::default()
    };
    (0..POOL)
        .map(|_| policy.issue("alice", NOW, rng).expect("a set"))
        .collect()
}

/// The code in `slot` of set `index`; `None`: a code of the next set (well-formed, matching no
/// slot of this one).
fn backup_code(sets: &[mfa_backup::IssuedCodes], index: usize, slot: Option<usize>) -> String {
    let (set, slot) = match slot {
        Some(slot) => (index, slot),
        None => ((index + 1) % sets.len(), 0),
    };
    let issued = sets.get(set).expect("a set of the pool");
    let code = issued.codes.get(slot).expect("a slot of the set");
    code.expose_secret().to_owned()
}

fn backup_set(sets: &[mfa_backup::IssuedCodes], index: usize) -> &mfa_backup::BackupCodeSet {
    &sets.get(index).expect("a set of the pool").set
}

/// Backup-code classes: the slot typed (`None`: a code of no slot), checked through `check`.
fn backup<R>(
    settings: &Settings,
    rng: &mut StdRng,
    classes: [Option<usize>; 2],
    mut check: impl FnMut(&mfa_backup::BackupCodeSet, &str) -> Result<R, mfa_backup::BackupCodeError>,
) -> Report {
    let prepare = |rng: &mut StdRng| {
        let sets = backup_sets(rng);
        let pool = inputs(
            rng,
            POOL,
            classes,
            classes.map(|slot| slot.is_some()),
            |_, index, slot| backup_code(&sets, index, slot),
            |index, typed| backup_set(&sets, index).contains_code(typed) == Ok(true),
        );
        (sets, pool)
    };
    measure(
        1,
        settings.budget,
        rng,
        prepare,
        |sets: &Vec<mfa_backup::IssuedCodes>, index, typed: &String| {
            check(backup_set(sets, index), typed)
        },
    )
}

fn backup_redeem_first_vs_last(settings: &Settings, rng: &mut StdRng) -> Report {
    let mut replacement_rng = StdRng::seed_from_u64(5);
    backup(
        settings,
        rng,
        [Some(0), Some(BACKUP_CODES - 1)],
        |set, typed| set.redeem("alice", typed, NOW, &mut replacement_rng),
    )
}

fn backup_match_vs_none(settings: &Settings, rng: &mut StdRng, slot: usize) -> Report {
    backup(settings, rng, [Some(slot), None], |set, typed| {
        set.contains_code(typed)
    })
}

/// Classes of byte or digit secrets: `POOL` secrets from `secret`, typed as `classes` say
/// (`to_typed` turns the bytes into the typed type), compared with `compare`.
fn bytes_secret<S, T: Clone>(
    settings: &Settings,
    rng: &mut StdRng,
    classes: [Wrong; 2],
    alphabet: &[u8],
    mut secret: impl FnMut(&mut StdRng) -> (S, Vec<u8>),
    to_typed: impl Fn(Vec<u8>) -> T,
    compare: impl Fn(&S, &T) -> bool,
) -> Report {
    let prepare = |rng: &mut StdRng| {
        let secrets: Vec<(S, Vec<u8>)> = (0..POOL).map(|_| secret(rng)).collect();
        let pool = inputs(
            rng,
            POOL,
            classes,
            classes.map(|class| matches!(class, Wrong::None)),
            |rng, index, class| {
                let (_, bytes) = secrets.get(index).expect("a secret of the pool");
                to_typed(wrong_bytes(rng, bytes, alphabet, class))
            },
            |index, typed| compare(&secrets.get(index).expect("a secret").0, typed),
        );
        (secrets, pool)
    };
    measure(
        64,
        settings.budget,
        rng,
        prepare,
        |secrets: &Vec<(S, Vec<u8>)>, index, typed: &T| {
            compare(&secrets.get(index).expect("a secret").0, typed)
        },
    )
}

fn webauthn_challenge(settings: &Settings, rng: &mut StdRng, classes: [Wrong; 2]) -> Report {
    bytes_secret(
        settings,
        rng,
        classes,
        &any_byte(),
        |rng| {
            let challenge = Challenge::random(rng);
            let bytes = challenge.as_bytes().to_vec();
            (challenge, bytes)
        },
        |bytes| bytes,
        |challenge, received| challenge.matches(received),
    )
}

fn push_number(settings: &Settings, rng: &mut StdRng, classes: [Wrong; 2]) -> Report {
    // Six digits: the default mode (`Typed { digits: 6 }`).
    let parse = |digits: Vec<u8>| {
        MatchNumber::parse(core::str::from_utf8(&digits).expect("ASCII")).expect("six digits")
    };
    bytes_secret(
        settings,
        rng,
        classes,
        DIGITS,
        |rng| {
            let digits = random_string(rng, DIGITS, 6, &[]).into_bytes();
            (parse(digits.clone()), digits)
        },
        parse,
        |number, typed| number.matches(typed),
    )
}

/// An [`OobCode`] as the store reads one back (its public constructor from outside the crate).
fn oob(digits: Vec<u8>) -> OobCode {
    let digits = String::from_utf8(digits).expect("ASCII");
    let text: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
        digits.as_str().into_deserializer();
    OobCode::deserialize(text).expect("six digits are a code")
}

fn oob_code(settings: &Settings, rng: &mut StdRng, classes: [Wrong; 2]) -> Report {
    bytes_secret(
        settings,
        rng,
        classes,
        DIGITS,
        |rng| {
            let digits = random_string(rng, DIGITS, 6, &[]).into_bytes();
            (oob(digits.clone()), digits)
        },
        oob,
        // As `mfa-oob` checks a pending code: `stored.ct_eq(typed)`.
        |stored, typed| bool::from(stored.ct_eq(typed)),
    )
}

/// App passwords each account holds in this test.
const ACCOUNT_RECORDS: usize = 5;

/// Symbols in each app password (mfa-account's minimum).
const APP_PASSWORD_CHARS: usize = mfa_account::MIN_APP_PASSWORD_CHARS;

/// Classes of app passwords typed against accounts of [`ACCOUNT_RECORDS`] each: the record
/// typed (`None`: a secret of no record).
fn account_find_match(
    settings: &Settings,
    rng: &mut StdRng,
    classes: [Option<usize>; 2],
) -> Report {
    const DOMAIN: &str = "mfa-account/app_password";
    type Account = (Vec<String>, FindMatchForTiming);
    let prepare = |rng: &mut StdRng| {
        let accounts: Vec<Account> = (0..POOL)
            .map(|_| {
                let secrets =
                    random_strings(rng, CROCKFORD, APP_PASSWORD_CHARS, ACCOUNT_RECORDS, &[]);
                let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
                let search = FindMatchForTiming::new(rng, DOMAIN, &refs);
                (secrets, search)
            })
            .collect();
        let pool = inputs(
            rng,
            POOL,
            classes,
            classes.map(|record| record.is_some()),
            |rng, index, record| {
                let (secrets, _) = accounts.get(index).expect("an account");
                match record {
                    Some(record) => secrets.get(record).expect("a record").clone(),
                    None => {
                        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
                        random_string(rng, CROCKFORD, APP_PASSWORD_CHARS, &refs)
                    }
                }
            },
            |index, typed| {
                let (_, search) = accounts.get(index).expect("an account");
                search.position(typed).is_some()
            },
        );
        (accounts, pool)
    };
    measure(
        1,
        settings.budget,
        rng,
        prepare,
        |accounts: &Vec<Account>, index, typed: &String| {
            let (_, search) = accounts.get(index).expect("an account");
            search.position(typed)
        },
    )
}

/// The control: what a naive comparison does, returning at the first differing byte. The harness
/// must call this a leak, or it could not have seen one in the paths above.
fn equal_vartime(ours: &[u8], theirs: &[u8]) -> bool {
    if ours.len() != theirs.len() {
        return false;
    }
    for (a, b) in ours.iter().zip(theirs) {
        if std::hint::black_box(*a) != *b {
            return false;
        }
    }
    true
}

/// The same classes and sizes as the WebAuthn challenge path, through [`equal_vartime`].
fn control_early_exit(settings: &Settings, rng: &mut StdRng) -> Report {
    bytes_secret(
        settings,
        rng,
        [Wrong::Last, Wrong::First],
        &any_byte(),
        |rng| {
            let bytes = random_bytes(rng, CHALLENGE_LEN);
            (bytes.clone(), bytes)
        },
        |bytes| bytes,
        |ours, theirs| equal_vartime(ours, theirs),
    )
}

/// The early-exit comparison on six-digit codes, wrong in the last digit or the first: a leak of
/// a few loop iterations, the size an early-exit code comparison would have.
fn control_early_exit_digits(settings: &Settings, rng: &mut StdRng) -> Report {
    bytes_secret(
        settings,
        rng,
        [Wrong::Last, Wrong::First],
        DIGITS,
        |rng| {
            let digits = random_string(rng, DIGITS, 6, &[]).into_bytes();
            (digits.clone(), digits)
        },
        |digits| digits,
        |ours, theirs| equal_vartime(ours, theirs),
    )
}

/// The one-minute load average, when the system tells it.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next().map(str::to_owned)
}

/// One line of the report.
fn print_line(name: &str, report: &Report, note: &str) {
    let (crop, means) = match (report.max, report.mean_ns_per_call()) {
        (Some((_, crop, _)), Some([a, b])) => {
            (crop_label(crop), format!("{a:8.1} vs {b:8.1} ns/call"))
        }
        _ => ("-".to_owned(), "-".to_owned()),
    };
    println!(
        "{name:<54} {:>10} measurements  max |t| = {:>7.2} ({crop:>8})  {means}  {}{note}",
        report.measurements,
        report.max_abs_t(),
        report.verdict().as_str(),
    );
}

fn crop_label(crop: Crop) -> String {
    match crop {
        Crop::None => "all".to_owned(),
        Crop::BelowPermyriad(permyriad) => {
            format!("<p{}.{:02}", permyriad / 100, permyriad % 100)
        }
    }
}

const USAGE: &str = "usage: ct [--quick | --long] [--seconds N] [--only NAME]
  --quick      100 000 measurements per path, at most 5 s (CI)
  (default)    10 s per path
  --long       30 s per path (the README's figures)
  --seconds N  N seconds per path
  --only NAME  only the paths whose name contains NAME";

/// Measurements per path in a quick run. Enough for a leak of a nanosecond or more per call
/// (the control's |t| is in the thousands even so); at a few million, differences of a tenth of
/// a nanosecond that come and go with the memory layout reach |t| > 10 (see the README).
const QUICK_MEASUREMENTS: u64 = 100_000;

/// The budget per path and the name filter, from the command line.
fn parse_args() -> Result<(Budget, Option<String>), String> {
    let mut budget = Budget::time(Duration::from_secs(10));
    let mut only = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => {
                budget = Budget {
                    time: Duration::from_secs(5),
                    measurements: Some(QUICK_MEASUREMENTS),
                }
            }
            "--long" => budget = Budget::time(Duration::from_secs(30)),
            "--seconds" => {
                let seconds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| (1..=3_600).contains(n))
                    .ok_or("--seconds takes a whole number from 1 to 3600")?;
                budget = Budget::time(Duration::from_secs(seconds));
            }
            "--only" => only = Some(args.next().ok_or("--only takes a name")?),
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok((budget, only))
}

fn main() -> ExitCode {
    let (budget, only) = match parse_args() {
        Ok(parsed) => parsed,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("ct: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let settings = Settings { budget };
    let selected: Vec<&Path> = PATHS
        .iter()
        .filter(|path| only.as_deref().is_none_or(|name| path.name.contains(name)))
        .collect();
    if selected.is_empty() {
        eprintln!("ct: no path's name contains {:?}", only.unwrap_or_default());
        return ExitCode::from(2);
    }
    let started = Instant::now();
    println!(
        "constant-time harness: {} path(s), each {} s{}, Welch's t over {} crops; load average {}",
        selected.len(),
        budget.time.as_secs(),
        budget
            .measurements
            .map(|most| format!(" or {most} measurements"))
            .unwrap_or_default(),
        mfa_benches::ct::CROPS_PERMYRIAD.len() + 1,
        load_average().unwrap_or_else(|| "unknown".to_owned()),
    );
    let mut failures = Vec::new();
    let mut rng = StdRng::seed_from_u64(0x00c7);
    for path in selected {
        let report = (path.run)(&settings, &mut rng);
        let leaked = report.verdict() == Verdict::Leak;
        match path.kind {
            Kind::Secret | Kind::MustNotLeak if leaked => {
                // A leak must show again, the same way round, on fresh inputs: a real one does
                // (the control's |t| is in the thousands); a one-off of a busy machine does not.
                print_line(path.name, &report, "  [measuring again]");
                let again = (path.run)(&settings, &mut rng);
                let confirmed = again.verdict() == Verdict::Leak
                    && again.first_slower() == report.first_slower();
                let note = if confirmed {
                    failures.push(path.name);
                    "  [LEAK confirmed]"
                } else {
                    "  [not confirmed: not failing]"
                };
                print_line("  (again)", &again, note);
            }
            Kind::Secret | Kind::MustNotLeak => print_line(path.name, &report, ""),
            Kind::Outcome => print_line(
                path.name,
                &report,
                "  [accept vs refuse: reported, not failing]",
            ),
            Kind::MustLeak if leaked => {
                print_line(path.name, &report, "  [control: must leak, and does]");
            }
            Kind::MustLeak => {
                failures.push(path.name);
                print_line(
                    path.name,
                    &report,
                    "  [control: must leak and did not: the harness has no power]",
                );
            }
        }
    }
    println!(
        "done in {:.0} s; load average {}",
        started.elapsed().as_secs_f64(),
        load_average().unwrap_or_else(|| "unknown".to_owned())
    );
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("FAILED: {}", failures.join(", "));
        ExitCode::FAILURE
    }
}
