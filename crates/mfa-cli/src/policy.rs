//! `mfa policy`: validate conditional-access policy files (native TOML/JSON, or Microsoft Entra
//! exports) and evaluate a sign-in context against them ("what if"), with the exit codes of the
//! CLI contract: 0 valid / allowed, 1 step-up or block, 2 malformed input or usage.

use std::fs::File;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use mfa_policy::entra::{self, ImportReport, MAX_ENTRA_INPUT_LEN};
use mfa_policy::{Decision, Engine, PolicyError, PolicySet, SignInContext};
use serde_json::{Value, json};

use crate::outcome::{Failure, print_line};

/// Subcommands of `mfa policy`.
#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Validate policy files: native TOML or JSON (by extension, else by content) or Microsoft
    /// Entra conditional access exports (recognized by shape). Prints one JSON line per file
    /// (for Entra files with the import report: what was not mapped, and why); exit 0 when all
    /// are valid, 2 with the first error.
    Check(CheckArgs),
    /// Evaluate a sign-in context against the policies of all the files together: prints the
    /// decision and its trace as JSON (`{"decision": "allow" | "step_up" | "block", …}`);
    /// exit 0 for allow, 1 for step_up or block, 2 for bad input.
    Eval(EvalArgs),
}

/// Where Entra exports find their named locations and authentication strengths.
#[derive(Debug, Args)]
pub(crate) struct EntraArgs {
    /// An Entra `namedLocations` export, to resolve the location ids of Entra policy files.
    #[arg(long, value_name = "FILE")]
    named_locations: Option<PathBuf>,
    /// An Entra `authenticationStrengthPolicies` export, to resolve custom strength ids.
    #[arg(long, value_name = "FILE")]
    strengths: Option<PathBuf>,
}

/// Arguments of `mfa policy check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// Policy files.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    entra: EntraArgs,
}

/// Arguments of `mfa policy eval`.
#[derive(Debug, Args)]
pub(crate) struct EvalArgs {
    /// Policy files (native or Entra); their locations, strengths and policies are joined.
    #[arg(long = "policy", required = true, num_args = 1.., value_name = "FILE")]
    policies: Vec<PathBuf>,
    /// The sign-in context, as JSON (`mfa_policy::SignInContext`).
    #[arg(long, value_name = "CONTEXT.json")]
    context: PathBuf,
    #[command(flatten)]
    entra: EntraArgs,
}

/// Runs `mfa policy …`.
pub(crate) fn run(command: PolicyCommand) -> Result<(), Failure> {
    match command {
        PolicyCommand::Check(args) => check(&args),
        PolicyCommand::Eval(args) => eval(&args),
    }
}

/// A file read and understood.
struct Loaded {
    set: PolicySet,
    format: &'static str,
    report: Option<ImportReport>,
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    let cannot = |e: std::io::Error| Failure::Usage(format!("cannot read {}: {e}", path.display()));
    let limit = u64::try_from(MAX_ENTRA_INPUT_LEN).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(cannot)?
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > MAX_ENTRA_INPUT_LEN {
        return Err(Failure::Usage(format!(
            "{} is larger than {MAX_ENTRA_INPUT_LEN} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

fn invalid(path: &Path, error: &PolicyError) -> Failure {
    Failure::Usage(format!("{}: {error}", path.display()))
}

/// The Entra side files, read once.
struct Side {
    named_locations: Option<Vec<u8>>,
    strengths: Option<Vec<u8>>,
}

impl Side {
    fn read(args: &EntraArgs) -> Result<Self, Failure> {
        Ok(Self {
            named_locations: args.named_locations.as_deref().map(read).transpose()?,
            strengths: args.strengths.as_deref().map(read).transpose()?,
        })
    }
}

fn load(path: &Path, side: &Side) -> Result<Loaded, Failure> {
    let bytes = read(path)?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let is_toml = extension.as_deref() == Some("toml");
    if !is_toml && entra::looks_like_policies(&bytes) {
        let (set, report) = entra::import(
            &bytes,
            side.named_locations.as_deref(),
            side.strengths.as_deref(),
        )
        .map_err(|e| invalid(path, &e))?;
        return Ok(Loaded {
            set,
            format: "entra",
            report: Some(report),
        });
    }
    let text = core::str::from_utf8(&bytes).map_err(|e| {
        Failure::Usage(format!(
            "{}: a native policy file is UTF-8 ({e})",
            path.display()
        ))
    })?;
    let text = text.trim_start_matches('\u{feff}');
    let is_json = match extension.as_deref() {
        Some("json") => true,
        Some("toml") => false,
        // TOML tables start with `[` too: JSON is what parses as JSON.
        _ => serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok(),
    };
    let (set, format) = if is_json {
        (PolicySet::from_json(text), "json")
    } else {
        (PolicySet::from_toml(text), "toml")
    };
    let set = set.map_err(|e| invalid(path, &e))?;
    Engine::new(set.clone()).map_err(|e| invalid(path, &e))?;
    Ok(Loaded {
        set,
        format,
        report: None,
    })
}

fn to_json(value: &impl serde::Serialize) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| Failure::Usage(format!("cannot encode JSON: {e}")))
}

fn check(args: &CheckArgs) -> Result<(), Failure> {
    let side = Side::read(&args.entra)?;
    let mut lines = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let loaded = load(path, &side)?;
        let mut line = json!({
            "file": path.display().to_string(),
            "format": loaded.format,
            "valid": true,
            "policies": loaded.set.policies.len(),
            "locations": loaded.set.locations.len(),
            "strengths": loaded.set.strengths.len(),
        });
        if let (Some(report), Some(object)) = (&loaded.report, line.as_object_mut()) {
            object.insert("unmapped".to_owned(), json!(report.unmapped_count()));
            let report: Value = serde_json::to_value(report)
                .map_err(|e| Failure::Usage(format!("cannot encode JSON: {e}")))?;
            object.insert("report".to_owned(), report);
        }
        lines.push(to_json(&line)?);
    }
    // Every file is checked before anything is printed: exit 2 prints nothing on stdout.
    for line in &lines {
        print_line(line)?;
    }
    Ok(())
}

fn eval(args: &EvalArgs) -> Result<(), Failure> {
    let side = Side::read(&args.entra)?;
    let mut joined = PolicySet::new();
    let mut reports = Vec::new();
    for path in &args.policies {
        let loaded = load(path, &side)?;
        let PolicySet {
            locations,
            strengths,
            policies,
            ..
        } = loaded.set;
        joined.locations.extend(locations);
        joined.strengths.extend(strengths);
        joined.policies.extend(policies);
        if let Some(report) = loaded.report {
            reports.push(json!({
                "file": path.display().to_string(),
                "unmapped": report.unmapped_count(),
            }));
        }
    }
    let engine = Engine::new(joined)
        .map_err(|e| Failure::Usage(format!("the policy files do not fit together: {e}")))?;
    let context_bytes = read(&args.context)?;
    let context_text = core::str::from_utf8(&context_bytes)
        .map_err(|e| Failure::Usage(format!("{}: not UTF-8 ({e})", args.context.display())))?;
    let context = SignInContext::from_json(context_text.trim_start_matches('\u{feff}'))
        .map_err(|e| invalid(&args.context, &e))?;
    let evaluation = engine.evaluate(&context);
    let mut output = serde_json::to_value(&evaluation)
        .map_err(|e| Failure::Usage(format!("cannot encode JSON: {e}")))?;
    if !reports.is_empty()
        && let Some(object) = output.as_object_mut()
    {
        object.insert("entra_imports".to_owned(), Value::Array(reports));
    }
    print_line(&to_json(&output)?)?;
    match &evaluation.decision {
        Decision::Allow { .. } => Ok(()),
        Decision::Block { policy, reason } => Err(Failure::Rejected(format!(
            "blocked by policy `{policy}` ({reason})"
        ))),
        Decision::StepUp(step_up) => Err(Failure::Rejected(format!(
            "step-up needed: policy `{}` requires strength `{}`",
            step_up.policy, step_up.strength
        ))),
        other => Err(Failure::Rejected(format!("not allowed: {other}"))),
    }
}
