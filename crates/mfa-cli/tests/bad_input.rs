//! Every `mfa` subcommand against bad input: malformed, oversized (megabytes in files and on
//! stdin; as large as the OS allows in one argument), truncated and binary (invalid UTF-8, NUL
//! bytes) arguments, files and standard input.
//!
//! The contract checked for each case: exit 2, stderr exactly one line starting `mfa: `, no panic
//! (no `panicked`, no backtrace, no exit 101), and not one byte changed in any file of the
//! case's directory (the JSON records file, the SQLite database, the backup-code set, the phone's
//! key file, the policy files: every store the command could touch), nor a file added or removed
//! (lock files aside: an empty `FILE.lock` is created by design and never removed).
//!
//! The one deliberate exception is an *answer* (a code, pass, token or password typed in to be
//! checked): whatever it holds is a guess, refused with exit 1 (or 2 when it cannot even be
//! read), and a backup-code guess is counted by the attempt throttle, which the command then
//! records in the set's file; every other byte must stay as it was.
//!
//! The table is data: [`SPECS`] lists each subcommand once, with a valid invocation and the
//! argument, file and stdin slots to poison; [`cases`] generates the bad values per slot kind.
//! [`every_subcommand_has_an_entry`] walks `mfa --help` recursively and fails when a subcommand
//! has no entry, so a new subcommand cannot go untested.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::io::Write as _;
use std::os::unix::ffi::OsStringExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::{fs, thread};

/// The fixed time every fixture and case runs at (`--time`).
const T: &str = "1700000000";

/// The largest single argument Linux passes to a program is `MAX_ARG_STRLEN`, 128 KiB: an
/// oversized argument is just under it. Megabytes go through files and stdin instead.
const OVERSIZED_ARG: usize = 120 * 1024;

/// Oversized files and stdin: 4 MiB.
const OVERSIZED_INPUT: usize = 4 * 1024 * 1024;

/// One slot of an invocation that a case poisons.
#[derive(Clone, Copy, Debug)]
enum Slot {
    /// The value of a text flag with a shape (`--account`, a URI, an enum), or a positional
    /// written as a `@token`: oversized, binary, control characters and empty are all refused.
    Text(&'static str),
    /// Free text a person chooses (a label, a display string): any UTF-8 is legal, so only
    /// invalid UTF-8 and megabytes are refused.
    Free(&'static str),
    /// A value looked up or matched (an id in the store, the RP ID a response must carry): a
    /// value nothing has is refused as "no such …" (exit 1), or as malformed (exit 2).
    Lookup(&'static str),
    /// The value of a numeric flag (`--time`).
    Number(&'static str),
    /// A flag (or `@token`) naming a file the command reads: its contents and its path.
    File(&'static str),
    /// `--store`: the store's contents (a missing file is a new, empty store, not bad input; so
    /// is an empty file for SQLite).
    Store(&'static str),
    /// Standard input.
    Stdin,
    /// A guess the command checks (a code, pass, token, password): exit 1 or 2.
    Answer(&'static str),
    /// A guess read from standard input.
    AnswerStdin,
}

/// One subcommand: a valid invocation (`@tokens` name fixture files) and the slots to poison.
struct Spec {
    command: &'static [&'static str],
    args: &'static [&'static str],
    /// The fixture file fed on stdin, if the command reads stdin.
    stdin: Option<&'static str>,
    slots: &'static [Slot],
}

use Slot::{Answer, AnswerStdin, File, Free, Lookup, Number, Stdin, Store, Text};

/// The slots every store-backed command shares.
macro_rules! store_slots {
    ($($slot:expr),* $(,)?) => {
        &[Store("--store"), Text("--account"), Number("--time"), $($slot),*]
    };
}

/// A valid invocation on the JSON records file, for Alice, at [`T`], then `extra`.
macro_rules! records_args {
    ($($extra:expr),* $(,)?) => {
        &["--store", "@records", "--account", "alice", "--time", T, $($extra),*]
    };
}

/// Every subcommand. Keep in step with `mfa --help` ([`every_subcommand_has_an_entry`]).
const SPECS: &[Spec] = &[
    // otp
    Spec {
        command: &["otp", "code"],
        args: &["--secret", "JBSWY3DPEHPK3PXP", "--time", T],
        stdin: None,
        slots: &[
            Text("--secret"),
            Number("--time"),
            Number("--counter"),
            Number("--digits"),
            Number("--period"),
            Number("--t0"),
            Text("--algorithm"),
        ],
    },
    Spec {
        command: &["otp", "code"],
        args: &["--secret", "-", "--time", T],
        stdin: Some("secret.txt"),
        slots: &[Stdin],
    },
    Spec {
        command: &["otp", "verify"],
        args: &[
            "--secret",
            "JBSWY3DPEHPK3PXP",
            "--time",
            T,
            "--code",
            "123456",
        ],
        stdin: None,
        slots: &[
            Text("--secret"),
            Number("--time"),
            Number("--window"),
            Number("--counter"),
            Answer("--code"),
        ],
    },
    Spec {
        command: &["otp", "new"],
        args: &["--issuer", "Example", "--account", "alice", "--svg", "@svg"],
        stdin: None,
        slots: &[
            Free("--issuer"),
            Free("--account"),
            Number("--digits"),
            Number("--period"),
        ],
    },
    Spec {
        command: &["otp", "uri", "parse"],
        args: &["@otpauth"],
        stdin: None,
        slots: &[Text("@otpauth")],
    },
    // backup
    Spec {
        command: &["backup", "issue"],
        args: &[
            "--store",
            "@codes",
            "--account",
            "alice",
            "--danger-low-cost",
        ],
        stdin: None,
        slots: &[
            Text("--account"),
            Number("--count"),
            Text("--format"),
            Text("--hasher"),
            Free("--issuer"),
            Store("--store"),
        ],
    },
    Spec {
        command: &["backup", "redeem"],
        args: &["--store", "@codes", "--account", "alice", "aaaaa-aaaaa"],
        stdin: None,
        slots: &[Store("--store"), Text("--account"), Answer("aaaaa-aaaaa")],
    },
    Spec {
        command: &["backup", "redeem"],
        args: &["--store", "@sqlite", "--account", "alice", "aaaaa-aaaaa"],
        stdin: None,
        slots: &[Store("--store"), Text("--account")],
    },
    Spec {
        command: &["backup", "status"],
        args: &["--store", "@codes"],
        stdin: None,
        slots: &[Store("--store"), Text("--account")],
    },
    // push
    Spec {
        command: &["push", "enroll"],
        args: &["--store", "@records", "--account", "bob", "--time", T],
        stdin: None,
        slots: store_slots![
            Free("--issuer"),
            Text("--url"),
            Number("--enrollment-lifetime"),
            Number("--max-devices"),
        ],
    },
    Spec {
        command: &["push", "device", "init"],
        args: &[
            "--enrollment",
            "@enrollment",
            "--key-file",
            "@newkey",
            "--time",
            T,
        ],
        stdin: None,
        slots: &[
            Text("--enrollment"),
            Free("--name"),
            Text("--platform"),
            Text("--push-token"),
            Number("--time"),
        ],
    },
    Spec {
        command: &["push", "device", "respond"],
        args: &["--key-file", "@key", "--time", T, "--approve", "123456"],
        stdin: Some("payload.json"),
        slots: &[
            File("--key-file"),
            Number("--time"),
            Stdin,
            Text("--approve"),
        ],
    },
    Spec {
        command: &["push", "device", "poll"],
        args: &["--key-file", "@key", "--time", T],
        stdin: None,
        slots: &[File("--key-file"), Number("--time")],
    },
    Spec {
        command: &["push", "device", "context"],
        args: &["--key-file", "@key", "--time", T],
        stdin: Some("payload.json"),
        slots: &[File("--key-file"), Number("--time"), Stdin],
    },
    Spec {
        command: &["push", "register"],
        args: &["--store", "@records", "--time", T],
        stdin: Some("registration.msg"),
        slots: &[Store("--store"), Number("--time"), Stdin],
    },
    Spec {
        command: &["push", "challenge"],
        args: records_args![],
        stdin: None,
        slots: store_slots![
            Text("--mode"),
            Free("--transaction"),
            Free("--app"),
            Free("--location"),
            Free("--browser"),
            Number("--challenge-lifetime"),
            Number("--free-pushes"),
        ],
    },
    Spec {
        command: &["push", "verify"],
        args: &["--store", "@records", "--time", T],
        stdin: Some("response.msg"),
        slots: &[
            Store("--store"),
            Number("--time"),
            Number("--clock-skew"),
            AnswerStdin,
        ],
    },
    Spec {
        command: &["push", "outcome"],
        args: &[
            "--store",
            "@records",
            "--account",
            "alice",
            "--challenge",
            "AAAAAAAAAAAAAAAAAAAAAA",
            "--transaction",
            "tx",
            "--time",
            T,
        ],
        stdin: None,
        slots: store_slots![Lookup("--challenge"), Lookup("--transaction")],
    },
    Spec {
        command: &["push", "pending"],
        args: &["--store", "@records", "--time", T],
        stdin: Some("poll.msg"),
        slots: &[Store("--store"), Number("--time"), Stdin],
    },
    Spec {
        command: &["push", "context"],
        args: &["--store", "@records", "--time", T],
        stdin: Some("context.msg"),
        slots: &[Store("--store"), Number("--time"), Stdin],
    },
    Spec {
        command: &["push", "devices"],
        args: &["--store", "@records", "--account", "alice"],
        stdin: None,
        slots: &[Store("--store"), Text("--account")],
    },
    Spec {
        command: &["push", "remove"],
        args: &[
            "--store",
            "@records",
            "--account",
            "alice",
            "--device",
            "nope",
        ],
        stdin: None,
        slots: &[Store("--store"), Text("--account"), Text("--device")],
    },
    Spec {
        command: &["push", "unlock"],
        args: &["--store", "@records", "--account", "alice"],
        stdin: None,
        slots: &[Store("--store"), Text("--account")],
    },
    Spec {
        command: &["push", "demo"],
        args: &["--interactive", "--time", T],
        stdin: Some("number.txt"),
        slots: &[Number("--time"), AnswerStdin],
    },
    // webauthn
    Spec {
        command: &["webauthn", "register"],
        args: &[
            "--rp-id",
            "@reg-rp-id",
            "--origin",
            "@reg-origin",
            "--challenge",
            "@reg-challenge",
            "--store",
            "@records",
            "--account",
            "alice",
        ],
        stdin: Some("registration.json"),
        slots: &[
            Lookup("--rp-id"),
            Lookup("--origin"),
            Text("--challenge"),
            Text("--alg"),
            Text("--user-handle"),
            Free("--top-origin"),
            Store("--store"),
            Text("--account"),
            Stdin,
        ],
    },
    Spec {
        command: &["webauthn", "authenticate"],
        args: &[
            "--rp-id",
            "localhost",
            "--origin",
            "http://localhost:5000",
            "--challenge",
            "@webauthn-challenge",
            "--credential",
            "@credential",
            "--update",
        ],
        stdin: Some("assertion.json"),
        slots: &[
            Lookup("--rp-id"),
            Lookup("--origin"),
            Text("--challenge"),
            Text("--alg"),
            Text("--user-handle"),
            Free("--appid"),
            File("--credential"),
            AnswerStdin,
        ],
    },
    Spec {
        command: &["webauthn", "authenticate"],
        args: &[
            "--rp-id",
            "localhost",
            "--origin",
            "http://localhost:5000",
            "--challenge",
            "@webauthn-challenge",
            "--store",
            "@sqlite",
            "--account",
            "alice",
        ],
        stdin: Some("assertion.json"),
        slots: &[Store("--store"), Text("--account")],
    },
    Spec {
        command: &["webauthn", "register"],
        args: &[
            "--rp-id",
            "@reg-rp-id",
            "--origin",
            "@reg-origin",
            "--challenge",
            "@reg-challenge",
            "--mds",
            "@mds-blob",
            "--mds-root",
            "@mds-root",
            "--mds-permissive",
        ],
        stdin: Some("registration.json"),
        slots: &[File("--mds"), File("--mds-root")],
    },
    Spec {
        command: &["webauthn", "mds", "verify"],
        args: &["--blob", "@mds-blob", "--root", "@mds-root", "--at", T],
        stdin: None,
        slots: &[
            File("--blob"),
            File("--root"),
            File("--crl"),
            Text("--at"),
            Number("--after"),
        ],
    },
    Spec {
        command: &["webauthn", "mds", "show"],
        args: &[
            "--blob",
            "@mds-blob",
            "--root",
            "@mds-root",
            "--at",
            T,
            "@aaguid",
        ],
        stdin: None,
        slots: &[
            File("--blob"),
            File("--root"),
            Text("--at"),
            Text("@aaguid"),
        ],
    },
    // oob
    Spec {
        command: &["oob", "send"],
        args: &[
            "--store",
            "@records",
            "--account",
            "alice",
            "--to",
            "+64211234567",
            "--time",
            "1700000100",
        ],
        stdin: None,
        slots: store_slots![
            Text("--to"),
            Text("--channel"),
            Text("--region"),
            Free("--language"),
            Text("--service"),
            Text("--webotp-host"),
            Text("--id"),
            Text("--transaction"),
        ],
    },
    Spec {
        command: &["oob", "verify"],
        args: &[
            "--store",
            "@records",
            "--account",
            "alice",
            "--code",
            "000000",
            "--time",
            T,
        ],
        stdin: None,
        slots: store_slots![Text("--transaction"), Answer("--code")],
    },
    Spec {
        command: &["oob", "phones"],
        args: records_args![],
        stdin: None,
        slots: store_slots![],
    },
    Spec {
        command: &["oob", "remove"],
        args: &[
            "--store",
            "@records",
            "--account",
            "alice",
            "--phone",
            "phone-9",
            "--time",
            T,
        ],
        stdin: None,
        slots: store_slots![Lookup("--phone")],
    },
    Spec {
        command: &["oob", "demo"],
        args: &["--to", "+64211234567"],
        stdin: Some("number.txt"),
        slots: &[
            Text("--to"),
            Text("--region"),
            Text("--service"),
            Text("--account"),
            Stdin,
        ],
    },
    Spec {
        command: &["oob", "demo"],
        args: &["--to", "+64211234567", "--store", "@records"],
        stdin: Some("number.txt"),
        slots: &[Store("--store")],
    },
    // policy
    Spec {
        command: &["policy", "check"],
        args: &["@policy"],
        stdin: None,
        slots: &[
            File("@policy"),
            File("--named-locations"),
            File("--strengths"),
        ],
    },
    Spec {
        command: &["policy", "eval"],
        args: &["--policy", "@policy", "--context", "@context"],
        stdin: None,
        slots: &[
            File("--policy"),
            File("--context"),
            File("--named-locations"),
            File("--strengths"),
        ],
    },
    // audit
    Spec {
        command: &["audit", "recent"],
        args: &["--store", "@sqlite", "--account", "alice"],
        stdin: None,
        slots: &[
            Store("--store"),
            Text("--account"),
            Number("--limit"),
            Text("--before"),
        ],
    },
    Spec {
        command: &["audit", "purge"],
        args: &["--store", "@sqlite", "--older-than-days", "100000"],
        stdin: None,
        slots: &[Store("--store"), Number("--older-than-days")],
    },
    // account
    Spec {
        command: &["account", "methods", "list"],
        args: records_args![],
        stdin: None,
        slots: store_slots![],
    },
    Spec {
        command: &["account", "methods", "rename"],
        args: records_args!["--id", "nope", "--name", "n"],
        stdin: None,
        slots: store_slots![Text("--id"), Text("--name")],
    },
    Spec {
        command: &["account", "methods", "remove"],
        args: records_args!["--id", "nope"],
        stdin: None,
        slots: store_slots![
            Text("--id"),
            File("--policy"),
            File("--context"),
            File("--session"),
        ],
    },
    Spec {
        command: &["account", "methods", "default"],
        args: records_args!["--id", "nope"],
        stdin: None,
        slots: store_slots![Text("--id")],
    },
    Spec {
        command: &["account", "reset"],
        args: records_args!["--operator", "op"],
        stdin: None,
        slots: store_slots![Text("--operator")],
    },
    Spec {
        command: &["account", "tap", "issue"],
        args: records_args!["--operator", "op"],
        stdin: None,
        slots: store_slots![Text("--operator"), Text("--lifetime"), Number("--start")],
    },
    Spec {
        command: &["account", "tap", "redeem"],
        args: records_args![],
        stdin: Some("wrong-pass.txt"),
        slots: store_slots![Answer("--pass"), AnswerStdin],
    },
    Spec {
        command: &["account", "tap", "list"],
        args: records_args![],
        stdin: None,
        slots: store_slots![],
    },
    Spec {
        command: &["account", "tap", "revoke"],
        args: records_args!["--id", "nope"],
        stdin: None,
        slots: store_slots![Lookup("--id"), Text("--operator")],
    },
    Spec {
        command: &["account", "app-password", "create"],
        args: records_args!["--name", "mail"],
        stdin: None,
        slots: store_slots![Text("--name")],
    },
    Spec {
        command: &["account", "app-password", "list"],
        args: records_args![],
        stdin: None,
        slots: store_slots![],
    },
    Spec {
        command: &["account", "app-password", "revoke"],
        args: records_args!["--id", "nope"],
        stdin: None,
        slots: store_slots![Lookup("--id"), Text("--operator")],
    },
    Spec {
        command: &["account", "app-password", "check"],
        args: records_args![],
        stdin: Some("wrong-pass.txt"),
        slots: store_slots![Text("--client"), Answer("--password"), AnswerStdin],
    },
    Spec {
        command: &["account", "signout-all"],
        args: records_args![],
        stdin: None,
        slots: store_slots![Text("--operator")],
    },
    Spec {
        command: &["account", "session", "check"],
        args: records_args!["--epoch", "0"],
        stdin: None,
        slots: store_slots![Number("--epoch")],
    },
    Spec {
        command: &["account", "remember", "add"],
        args: records_args!["--label", "Firefox"],
        stdin: None,
        slots: store_slots![Text("--label"), Text("--lifetime")],
    },
    Spec {
        command: &["account", "remember", "check"],
        args: records_args![],
        stdin: Some("wrong-pass.txt"),
        slots: store_slots![Answer("--token"), AnswerStdin],
    },
    Spec {
        command: &["account", "remember", "list"],
        args: records_args![],
        stdin: None,
        slots: store_slots![],
    },
    Spec {
        command: &["account", "remember", "forget"],
        args: records_args!["--id", "nope"],
        stdin: None,
        slots: store_slots![Lookup("--id"), Text("--operator")],
    },
];

/// Cases that do not meet the contract yet, each with the reason: skipped by the main test, and
/// checked by [`known_gaps_are_still_gaps`] so that a fix shows up (and its entry must go).
/// `(command, slot name ("" for stdin), poison label, "contents" (any file contents) or "*",
/// reason)`.
const KNOWN_GAPS: &[(&str, &str, &str, &str)] = &[
    (
        "policy check",
        "--named-locations",
        "contents",
        "read only when an Entra policy file needs it: with native policies a broken file is ignored",
    ),
    (
        "policy check",
        "--strengths",
        "contents",
        "as --named-locations",
    ),
    (
        "policy eval",
        "--named-locations",
        "contents",
        "as for policy check",
    ),
    (
        "policy eval",
        "--strengths",
        "contents",
        "as for policy check",
    ),
    (
        "policy check",
        "@policy",
        "empty file",
        "an empty file is a valid, empty TOML policy file",
    ),
    (
        "policy eval",
        "--policy",
        "empty file",
        "as for policy check",
    ),
    (
        "account methods remove",
        "--policy",
        "empty file",
        "an empty TOML policy file is valid; the unknown method is then refused (exit 1)",
    ),
    (
        "push demo",
        "",
        "truncated stdin",
        "a mistyped number is part of the narration (the story shows it refused): the demo exits 0",
    ),
    (
        "oob demo",
        "",
        "*",
        "the prompt `Type the code you received: ` goes to stderr without a newline, so the error \
         shares its line (tests/oob.rs pins the prompt when stdin is piped)",
    ),
];

/// The [`KNOWN_GAPS`] entry `case` falls under, if any.
fn known_gap(case: &Case) -> Option<usize> {
    let command = case.spec.command.join(" ");
    let name = slot_name(case.slot);
    KNOWN_GAPS.iter().position(|(c, slot, label, _)| {
        *c == command
            && *slot == name
            && (*label == "*"
                || *label == case.label
                || (*label == "contents" && matches!(case.poison, Poison::Contents(_))))
    })
}

/// The flag or `@token` a slot poisons (`""` for stdin).
fn slot_name(slot: Slot) -> &'static str {
    match slot {
        Text(name) | Free(name) | Lookup(name) | Number(name) | File(name) | Store(name)
        | Answer(name) => name,
        Stdin | AnswerStdin => "",
    }
}

/// A bad value for one slot.
#[derive(Clone, Debug)]
enum Poison {
    /// Replace the argument with these bytes (or add the flag with them).
    Arg(OsString),
    /// Replace the named fixture file's contents.
    Contents(Vec<u8>),
    /// Point the flag at another path (missing, a directory, not UTF-8).
    Path(OsString),
    /// Feed this on stdin instead.
    Stdin(Vec<u8>),
}

/// One generated case.
struct Case {
    spec: &'static Spec,
    slot: Slot,
    label: &'static str,
    poison: Poison,
}

fn oversized_text() -> OsString {
    OsString::from("a".repeat(OVERSIZED_ARG))
}

/// Invalid UTF-8: a lone continuation byte, `0xFF`, an overlong encoding.
fn invalid_utf8() -> OsString {
    OsString::from_vec(b"ab\x80\xff\xc0\xafcd".to_vec())
}

/// Megabytes of one byte: `[` also probes nesting limits of JSON parsers.
fn oversized_input(byte: u8) -> Vec<u8> {
    vec![byte; OVERSIZED_INPUT]
}

/// Binary: NUL bytes, invalid UTF-8, a BOM, an escape sequence.
fn binary_input() -> Vec<u8> {
    b"\0\0\xff\xfe\xef\xbb\xbf{\"\0\":\x1b[2J\x80}\n\0".to_vec()
}

/// The first half of valid input.
fn truncated(valid: &[u8]) -> Vec<u8> {
    valid.get(..valid.len() / 2).unwrap_or_default().to_vec()
}

/// The bad values for `slot` of `spec`, each with a label for the failure report.
fn poisons(spec: &Spec, slot: Slot, template: &Path) -> Vec<(&'static str, Poison)> {
    let text = |s: &str| OsString::from(s);
    let stdin_valid = || {
        spec.stdin
            .map(|name| fs::read(template.join(name)).expect("a fixture"))
            .unwrap_or_default()
    };
    match slot {
        Free(_) => vec![("invalid UTF-8", Poison::Arg(invalid_utf8()))],
        Text(_) | Lookup(_) | Answer(_) => vec![
            ("oversized", Poison::Arg(oversized_text())),
            ("invalid UTF-8", Poison::Arg(invalid_utf8())),
            ("control characters", Poison::Arg(text("a\u{1b}[2J\nb\r\t"))),
            ("empty", Poison::Arg(text(""))),
        ],
        Number(_) => vec![
            ("negative", Poison::Arg(text("-1"))),
            ("past u64", Poison::Arg(text("18446744073709551616"))),
            ("not a number", Poison::Arg(text("1e3"))),
            ("empty", Poison::Arg(text(""))),
            (
                "oversized",
                Poison::Arg(OsString::from("9".repeat(OVERSIZED_ARG))),
            ),
            ("invalid UTF-8", Poison::Arg(invalid_utf8())),
        ],
        Store(flag) => {
            let sqlite = fixture_for(spec, flag) == Some("db.sqlite");
            let valid = fixture_for(spec, flag)
                .map(|name| fs::read(template.join(name)).unwrap_or_default())
                .unwrap_or_default();
            let mut poisons = vec![
                (
                    "oversized file of spaces",
                    Poison::Contents(oversized_input(b' ')),
                ),
                (
                    "oversized file of [",
                    Poison::Contents(oversized_input(b'[')),
                ),
                ("binary file", Poison::Contents(binary_input())),
                ("truncated file", Poison::Contents(truncated(&valid))),
                (
                    "malformed file",
                    Poison::Contents(b"{ \"not\": valid ]".to_vec()),
                ),
                ("directory", Poison::Path(text("."))),
            ];
            if !sqlite {
                poisons.push(("empty file", Poison::Contents(Vec::new())));
            }
            poisons
        }
        File(flag) => {
            let valid = fixture_for(spec, flag)
                .map(|name| fs::read(template.join(name)).unwrap_or_default())
                .unwrap_or_else(|| b"{\"a\": [1, 2, 3], \"b\": \"text\"}".to_vec());
            vec![
                (
                    "oversized file of spaces",
                    Poison::Contents(oversized_input(b' ')),
                ),
                (
                    "oversized file of [",
                    Poison::Contents(oversized_input(b'[')),
                ),
                ("binary file", Poison::Contents(binary_input())),
                ("truncated file", Poison::Contents(truncated(&valid))),
                (
                    "malformed file",
                    Poison::Contents(b"{ \"not\": valid ]".to_vec()),
                ),
                ("empty file", Poison::Contents(Vec::new())),
                ("missing file", Poison::Path(text("no/such/file"))),
                ("directory", Poison::Path(text("."))),
                ("path not UTF-8", Poison::Path(invalid_utf8())),
            ]
        }
        Stdin | AnswerStdin => vec![
            (
                "oversized stdin of spaces",
                Poison::Stdin(oversized_input(b' ')),
            ),
            ("oversized stdin of [", Poison::Stdin(oversized_input(b'['))),
            (
                "oversized stdin of digits",
                Poison::Stdin(oversized_input(b'7')),
            ),
            ("binary stdin", Poison::Stdin(binary_input())),
            ("truncated stdin", Poison::Stdin(truncated(&stdin_valid()))),
            ("empty stdin", Poison::Stdin(Vec::new())),
        ],
    }
}

/// The fixture file a file slot names in `spec`'s valid invocation, if any (`@token` → file).
fn fixture_for(spec: &Spec, flag: &str) -> Option<&'static str> {
    let token = if flag.starts_with('@') {
        Some(flag)
    } else {
        spec.args
            .iter()
            .position(|arg| *arg == flag)
            .and_then(|at| spec.args.get(at + 1).copied())
    };
    token.and_then(file_of)
}

/// The fixture file behind a `@token`, for tokens that name files.
fn file_of(token: &str) -> Option<&'static str> {
    Some(match token {
        "@records" => "records.json",
        "@sqlite" => "db.sqlite",
        "@codes" => "codes.json",
        "@key" => "device.key",
        "@policy" => "policy.toml",
        "@context" => "context.json",
        "@credential" => "credential.json",
        "@mds-blob" => "blob.jwt",
        "@mds-root" => "root.pem",
        _ => return None,
    })
}

/// Every case of the table.
fn cases(template: &Path) -> Vec<Case> {
    let mut cases = Vec::new();
    for spec in SPECS {
        for &slot in spec.slots {
            for (label, poison) in poisons(spec, slot, template) {
                cases.push(Case {
                    spec,
                    slot,
                    label,
                    poison,
                });
            }
        }
    }
    cases
}

/// The value a `@token` stands for in `dir`.
fn resolve(token: &str, dir: &Path, template: &Path) -> OsString {
    if let Some(file) = file_of(token) {
        let path = dir.join(file);
        return if token == "@sqlite" {
            let mut spec = OsString::from("sqlite:");
            spec.push(path);
            spec
        } else {
            path.into_os_string()
        };
    }
    match token {
        "@svg" => dir.join("qr.svg").into_os_string(),
        "@newkey" => dir.join("new.key").into_os_string(),
        "@otpauth"
        | "@enrollment"
        | "@webauthn-challenge"
        | "@reg-rp-id"
        | "@reg-origin"
        | "@reg-challenge"
        | "@aaguid" => {
            let name = &token[1..];
            OsString::from(
                fs::read_to_string(template.join(format!("{name}.txt")))
                    .expect("a fixture")
                    .trim(),
            )
        }
        other => OsString::from(other),
    }
}

/// The case's arguments and stdin, with its poison applied; writes poisoned file contents.
fn invocation(case: &Case, dir: &Path, template: &Path) -> (Vec<OsString>, Vec<u8>) {
    let spec = case.spec;
    let mut args: Vec<OsString> = spec.command.iter().map(OsString::from).collect();
    let first = args.len();
    args.extend(spec.args.iter().map(|arg| {
        if arg.starts_with('@') {
            resolve(arg, dir, template)
        } else {
            OsString::from(arg)
        }
    }));
    let mut stdin = spec
        .stdin
        .map(|name| fs::read(template.join(name)).expect("a fixture"))
        .unwrap_or_default();
    let name = slot_name(case.slot);
    // Where the slot's value is: after its flag, or the `@token` itself.
    let value_at = |args: &[OsString]| {
        let raw: Vec<&str> = std::iter::repeat_n("", first)
            .chain(spec.args.iter().copied())
            .collect();
        if name.starts_with("--") {
            raw.iter().position(|arg| *arg == name).map(|at| at + 1)
        } else {
            raw.iter().position(|arg| *arg == name)
        }
        .filter(|at| *at < args.len())
    };
    match &case.poison {
        Poison::Arg(value) | Poison::Path(value) => match value_at(&args) {
            Some(at) => args[at] = value.clone(),
            None => {
                args.push(OsString::from(name));
                args.push(value.clone());
            }
        },
        Poison::Contents(bytes) => match fixture_for(spec, name) {
            Some(file) => fs::write(dir.join(file), bytes).expect("poison a fixture"),
            None => {
                let file = dir.join("poisoned.input");
                fs::write(&file, bytes).expect("write a poisoned file");
                args.push(OsString::from(name));
                args.push(file.into_os_string());
            }
        },
        Poison::Stdin(bytes) => stdin.clone_from(bytes),
    }
    (args, stdin)
}

/// Every file under `dir` but lock files, with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in fs::read_dir(&at).expect("read the case dir") {
            let path = entry.expect("a dir entry").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_none_or(|ext| ext != "lock") {
                let bytes = fs::read(&path).expect("read a fixture");
                files.insert(path, bytes);
            }
        }
    }
    files
}

/// A backup-code set's file without its throttle record: what a counted guess must leave as is.
fn without_throttle(bytes: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(bytes) {
        Ok(mut value) => {
            if let Some(object) = value.as_object_mut() {
                object.remove("throttle");
            }
            serde_json::to_vec(&value).unwrap_or_default()
        }
        Err(_) => bytes.to_vec(),
    }
}

fn run(args: &[OsString], stdin: &[u8], dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(args)
        .current_dir(dir)
        .env("RUST_BACKTRACE", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mfa binary runs");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = stdin.to_vec();
    // The command may stop reading (a size limit, a usage error): a closed pipe is fine.
    let writer = thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("mfa finishes");
    let _ = writer.join();
    out
}

/// What is wrong with `out` for `case`, if anything.
fn check(
    case: &Case,
    out: &Output,
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
) -> Option<String> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let answer = matches!(case.slot, Answer(_) | AnswerStdin);
    let code = out.status.code();
    let mut problems = Vec::new();
    let exit_ok = match code {
        Some(2) => true,
        Some(1) => answer || matches!(case.slot, Lookup(_)),
        _ => false,
    };
    if !exit_ok {
        problems.push(format!("exit {code:?}"));
    }
    if stderr.contains("panicked")
        || stderr.contains("internal error")
        || stderr.contains("stack backtrace")
    {
        problems.push("panicked".into());
    }
    if stderr.lines().count() != 1 || !stderr.starts_with("mfa: ") {
        problems.push(format!("stderr has {} lines", stderr.lines().count()));
    }
    let unchanged = |path: &PathBuf, bytes: &Vec<u8>| {
        after.get(path).is_some_and(|now| {
            now == bytes || (answer && without_throttle(now) == without_throttle(bytes))
        })
    };
    let changed: Vec<String> = before
        .iter()
        .filter(|(path, bytes)| !unchanged(path, bytes))
        .map(|(path, _)| format!("changed {}", path.display()))
        .chain(
            after
                .keys()
                .filter(|path| !before.contains_key(*path))
                .map(|path| format!("added {}", path.display())),
        )
        .collect();
    problems.extend(changed);
    if problems.is_empty() {
        return None;
    }
    let shown: String = stderr.chars().take(200).collect();
    Some(format!(
        "mfa {} [{:?} {}]: {} — stderr: {shown:?}",
        case.spec.command.join(" "),
        case.slot,
        case.label,
        problems.join(", ")
    ))
}

/// Runs `mfa` in `dir` with `args` (strings) and `stdin`; panics unless it exits 0.
fn setup(dir: &Path, args: &[&str], stdin: &[u8]) -> String {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let out = run(&args, stdin, dir);
    assert_eq!(
        out.status.code(),
        Some(0),
        "fixture `mfa {args:?}`: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The fixture files every case starts from, built once with the command itself.
fn template() -> &'static Path {
    static TEMPLATE: OnceLock<tempfile::TempDir> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temp dir");
            build_template(dir.path());
            dir
        })
        .path()
}

fn build_template(dir: &Path) {
    let write = |name: &str, bytes: &[u8]| fs::write(dir.join(name), bytes).expect("a fixture");
    let store = ["--store", "records.json"];
    let at = ["--time", T];
    let with = |command: &[&'static str], extra: &[&str]| -> Vec<String> {
        command
            .iter()
            .chain(&store)
            .chain(&at)
            .chain(extra)
            .map(|s| (*s).to_owned())
            .collect()
    };
    let go = |args: Vec<String>, stdin: &[u8]| {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        setup(dir, &refs, stdin)
    };
    // A backup-code set (JSON) and one in SQLite, whose failed redemption fills the sign-in log.
    setup(
        dir,
        &[
            "backup",
            "issue",
            "--store",
            "codes.json",
            "--account",
            "alice",
            "--danger-low-cost",
            "--count",
            "3",
        ],
        b"",
    );
    setup(
        dir,
        &[
            "backup",
            "issue",
            "--store",
            "sqlite:db.sqlite",
            "--account",
            "alice",
            "--danger-low-cost",
            "--count",
            "3",
        ],
        b"",
    );
    let refused = run(
        &[
            "backup",
            "redeem",
            "--store",
            "sqlite:db.sqlite",
            "--account",
            "alice",
            "aaaaa-aaaaa",
        ]
        .map(OsString::from),
        b"",
        dir,
    );
    assert_eq!(refused.status.code(), Some(1), "a wrong code for the log");
    // A phone enrolled and registered; its messages kept for the stdin slots.
    let uri = go(with(&["push", "enroll"], &["--account", "alice"]), b"");
    let registration = setup(
        dir,
        &[
            "push",
            "device",
            "init",
            "--enrollment",
            uri.trim(),
            "--key-file",
            "device.key",
            "--platform",
            "other",
            "--time",
            T,
        ],
        b"",
    );
    go(with(&["push", "register"], &[]), registration.as_bytes());
    write("registration.msg", registration.as_bytes());
    let second_uri = go(with(&["push", "enroll"], &["--account", "carol"]), b"");
    write("enrollment.txt", second_uri.as_bytes());
    let challenge: serde_json::Value = serde_json::from_str(&go(
        with(&["push", "challenge"], &["--account", "alice"]),
        b"",
    ))
    .expect("challenge JSON");
    let payload = challenge["pushes"][0]["payload"].to_string();
    write("payload.json", payload.as_bytes());
    let number = challenge["number"].as_str().expect("a number");
    let respond = [
        "push",
        "device",
        "respond",
        "--key-file",
        "device.key",
        "--time",
        T,
    ];
    let response = setup(
        dir,
        &[&respond[..], &["--approve", number]].concat(),
        payload.as_bytes(),
    );
    write("response.msg", response.as_bytes());
    write(
        "poll.msg",
        setup(
            dir,
            &[
                "push",
                "device",
                "poll",
                "--key-file",
                "device.key",
                "--time",
                T,
            ],
            b"",
        )
        .as_bytes(),
    );
    write(
        "context.msg",
        setup(
            dir,
            &[
                "push",
                "device",
                "context",
                "--key-file",
                "device.key",
                "--time",
                T,
            ],
            payload.as_bytes(),
        )
        .as_bytes(),
    );
    // Out-of-band: a phone enrolled by its first code; account state.
    go(
        with(
            &["oob", "send"],
            &["--account", "alice", "--to", "+64211234567"],
        ),
        b"",
    );
    go(
        with(
            &["account", "tap", "issue"],
            &["--account", "alice", "--operator", "op"],
        ),
        b"",
    );
    go(
        with(
            &["account", "remember", "add"],
            &["--account", "alice", "--label", "Firefox"],
        ),
        b"",
    );
    go(
        with(
            &["account", "app-password", "create"],
            &["--account", "alice", "--name", "mail"],
        ),
        b"",
    );
    write("wrong-pass.txt", b"not-the-right-one\n");
    write("secret.txt", b"JBSWY3DPEHPK3PXP\n");
    write("number.txt", b"123456\n");
    write(
        "otpauth.txt",
        b"otpauth://totp/Example:alice?secret=JBSWY3DPEHPK3PXP&issuer=Example",
    );
    // Policy files and WebAuthn vectors from the workspace.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let policies = root.join("examples/policies");
    fs::copy(
        policies.join("office_network.toml"),
        dir.join("policy.toml"),
    )
    .expect("a policy");
    fs::copy(
        policies.join("office_network.in-office.json"),
        dir.join("context.json"),
    )
    .expect("a context");
    let vectors = root.join("crates/mfa-webauthn/tests/data/webauthn");
    let read_vector = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&fs::read(vectors.join(name)).expect("a vector")).expect("JSON")
    };
    let auth = read_vector("py-auth-es256-localhost.json");
    write("assertion.json", auth["response"].to_string().as_bytes());
    let credential = serde_json::json!({
        "id": auth["credential"]["id_b64url"],
        "public_key_cose": auth["credential"]["public_key_cose_b64url"],
        "sign_count": auth["credential"]["stored_sign_count"],
    });
    write("credential.json", credential.to_string().as_bytes());
    write(
        "webauthn-challenge.txt",
        auth["rp"]["expected_challenge_b64url"]
            .as_str()
            .expect("a challenge")
            .as_bytes(),
    );
    // A metadata BLOB (MDS3) with one entry, signed under a test root valid 2020-2040.
    {
        use mfa_webauthn::metadata::{Aaguid, MetadataEntry, MetadataStatement};
        use mfa_webauthn::testing::mds::{BlobBuilder, MdsSigner};
        use mfa_webauthn::testing::pki::JwsAlgorithm;
        use rand::SeedableRng as _;
        let mut rng = rand::rngs::StdRng::seed_from_u64(17);
        let (from, to) = (
            mfa_core::UnixTime::from_secs(1_577_836_800),
            mfa_core::UnixTime::from_secs(2_208_988_800),
        );
        let signer = MdsSigner::new(&mut rng, JwsAlgorithm::Es256, from, to);
        let aaguid = Aaguid([0x2f; 16]);
        let mut statement = MetadataStatement::default();
        statement.description = "Test Key".to_owned();
        let entry = MetadataEntry::fido2(aaguid, statement, Vec::new());
        let blob = BlobBuilder::new(3, "2030-01-01".parse().expect("a date"))
            .entries(vec![entry])
            .sign(&signer);
        write("blob.jwt", &blob);
        write("root.pem", signer.pki.root.pem().as_bytes());
        write("aaguid.txt", aaguid.to_string().as_bytes());
    }
    let registration = read_vector("py-reg-packed-eddsa.json");
    write(
        "registration.json",
        registration["response"].to_string().as_bytes(),
    );
    let rp = &registration["rp"];
    write(
        "reg-rp-id.txt",
        rp["rp_id"].as_str().expect("an RP ID").as_bytes(),
    );
    write(
        "reg-origin.txt",
        rp["expected_origins"][0]
            .as_str()
            .expect("an origin")
            .as_bytes(),
    );
    write(
        "reg-challenge.txt",
        rp["expected_challenge_b64url"]
            .as_str()
            .expect("a challenge")
            .as_bytes(),
    );
}

/// Copies the template's files into a fresh directory for one case.
fn fresh_copy(template: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temp dir");
    for entry in fs::read_dir(template).expect("read the template") {
        let path = entry.expect("an entry").path();
        if path.is_file() {
            let name = path.file_name().expect("a name");
            fs::copy(&path, dir.path().join(name)).expect("copy a fixture");
        }
    }
    dir
}

/// The subcommands `mfa --help` lists, recursively, as paths (`["account", "tap", "redeem"]`).
fn listed_subcommands(prefix: &[String]) -> Vec<Vec<String>> {
    let mut args = prefix.to_vec();
    args.push("--help".into());
    let out = Command::new(env!("CARGO_BIN_EXE_mfa"))
        .args(&args)
        .output()
        .expect("mfa --help");
    let help = String::from_utf8(out.stdout).expect("UTF-8 help");
    let names: Vec<String> = help
        .lines()
        .skip_while(|line| !line.starts_with("Commands:"))
        .skip(1)
        .take_while(|line| !line.trim().is_empty())
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return vec![prefix.to_vec()];
    }
    names
        .into_iter()
        .flat_map(|name| {
            let mut path = prefix.to_vec();
            path.push(name);
            listed_subcommands(&path)
        })
        .collect()
}

#[test]
fn every_subcommand_has_an_entry() {
    let listed: BTreeSet<Vec<String>> = listed_subcommands(&[]).into_iter().collect();
    assert!(listed.len() > 40, "the walk found only {listed:?}");
    let covered: BTreeSet<Vec<String>> = SPECS
        .iter()
        .filter(|spec| !spec.slots.is_empty())
        .map(|spec| spec.command.iter().map(|s| (*s).to_owned()).collect())
        .collect();
    let missing: Vec<String> = listed
        .difference(&covered)
        .map(|path| path.join(" "))
        .collect();
    assert!(missing.is_empty(), "no bad-input entry for: {missing:?}");
    let unknown: Vec<String> = covered
        .difference(&listed)
        .map(|path| path.join(" "))
        .collect();
    assert!(unknown.is_empty(), "entries for no subcommand: {unknown:?}");
}

#[test]
fn every_subcommand_refuses_bad_input_in_one_line_and_changes_nothing() {
    let template = template();
    let (gaps, cases): (Vec<Case>, Vec<Case>) = cases(template)
        .into_iter()
        .partition(|case| known_gap(case).is_some());
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let workers = thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(2, 8);
    thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let dir = fresh_copy(template);
                    let (args, stdin) = invocation(case, dir.path(), template);
                    let before = snapshot(dir.path());
                    let out = run(&args, &stdin, dir.path());
                    let after = snapshot(dir.path());
                    if let Some(problem) = check(case, &out, &before, &after) {
                        failures.lock().expect("not poisoned").push(problem);
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().expect("not poisoned");
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} bad-input cases passed; {} known gaps skipped",
        cases.len(),
        gaps.len()
    );
}

#[test]
fn known_gaps_are_still_gaps() {
    let template = template();
    let mut fixed = Vec::new();
    let mut matched = BTreeSet::new();
    for case in cases(template)
        .iter()
        .filter(|case| known_gap(case).is_some())
    {
        matched.insert(known_gap(case));
        let dir = fresh_copy(template);
        let (args, stdin) = invocation(case, dir.path(), template);
        let before = snapshot(dir.path());
        let out = run(&args, &stdin, dir.path());
        let after = snapshot(dir.path());
        if check(case, &out, &before, &after).is_none() {
            fixed.push(format!(
                "mfa {} [{:?} {}]",
                case.spec.command.join(" "),
                case.slot,
                case.label
            ));
        }
    }
    assert!(
        fixed.is_empty(),
        "these known gaps are fixed; remove them from KNOWN_GAPS: {fixed:?}"
    );
    assert_eq!(
        matched.len(),
        KNOWN_GAPS.len(),
        "a KNOWN_GAPS entry matches no case"
    );
}
