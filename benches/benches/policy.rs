//! One conditional-access decision (evaluation plus its trace) with 1,000 policies, beside a
//! 10-policy baseline measured in the same run. Goal: at most 25 µs median for 1,000 policies.
//!
//! - `10 policies`: the baseline, a small tenant's set (5 for all applications, 5 per app).
//! - `1000 policies, indexed`: a large set spread over 200 applications (about 5 each), 40 of them
//!   for all applications (group, location, risk, platform, device conditions) and 20 on user
//!   actions; the index means only the all-application ones and those of the target are examined.
//! - `1000 policies, all applications`: the same conditions, every policy targeting all
//!   applications, so the index cannot help: the worst case, every policy examined.
//!
//! The context is in three groups and comes from outside the trusted network; it holds a password
//! and a TOTP code (the decision is `allow`), then a password only (`step_up`, which also works out
//! the usable combinations).
#![allow(missing_docs)]

use std::fmt::Write as _;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mfa_core::{Evidence, Method, UnixTime};
use mfa_policy::{Engine, EnrolledMethod, SignInContext};

const NOW: UnixTime = UnixTime::from_secs(1_800_000_000);

const HEADER: &str = r#"
[[locations]]
name = "office"
trusted = true
cidrs = ["203.0.113.0/24", "198.18.0.0/15", "2001:db8::/32"]
[[locations]]
name = "embargoed"
countries = ["KP", "IR", "SY", "CU"]
"#;

fn policy(text: &mut String, i: usize, all_applications: bool) {
    let target = if all_applications {
        "all".to_owned()
    } else {
        format!("app-{}", i % 200)
    };
    let (assignments, grant) = match i % 10 {
        0 => (
            "locations = { include = [\"any\"], exclude = [\"all_trusted\"] }",
            "authentication_strength = \"mfa\"",
        ),
        1 => (
            "users = { include = { roles = [\"admin\"] } }",
            "authentication_strength = \"phishing_resistant_mfa\"",
        ),
        2 => ("sign_in_risk = [\"high\"]", "block = true"),
        3 => (
            "users = { include = { groups = [\"g-3\", \"g-9\"] }, exclude = { users = [\"breakglass\"] } }",
            "authentication_strength = \"aal2\"",
        ),
        4 => ("locations = { include = [\"embargoed\"] }", "block = true"),
        5 => (
            "client_apps = { include = [\"legacy\"], exclude = [\"app_password\"] }",
            "block = true",
        ),
        6 => (
            "platforms = { include = [\"android\", \"ios\"] }, devices = { exclude = [\"compliant\"] }",
            "authentication_strength = \"mfa\", controls = [\"compliant_device\"], operator = \"or\"",
        ),
        7 => (
            "user_risk = [\"medium\", \"high\"]",
            "authentication_strength = \"passwordless_mfa\"",
        ),
        8 => (
            "users = { include = { groups = [\"g-1\"] } }",
            "authentication_strength = \"mfa\"",
        ),
        _ => (
            "users = { include = { guests = true } }",
            "authentication_strength = \"aal2\"",
        ),
    };
    let _ = write!(
        text,
        "[[policies]]\nname = \"p{i}\"\nassignments = {{ applications = {{ include = [\"{target}\"] }}, {assignments} }}\ngrant = {{ {grant} }}\nsession = {{ sign_in_frequency = \"12h\" }}\n"
    );
}

fn engine(count: usize, all_share: usize, action_share: usize) -> Engine {
    let mut text = HEADER.to_owned();
    for i in 0..count {
        if i < action_share {
            let _ = write!(
                text,
                "[[policies]]\nname = \"action{i}\"\nassignments.user_actions = [\"register_security_info\"]\ngrant = {{ authentication_strength = \"aal2\" }}\n"
            );
        } else {
            policy(&mut text, i, i < all_share.saturating_add(action_share));
        }
    }
    let engine = Engine::from_toml(&text).expect("bench policies compile");
    assert_eq!(engine.len(), count);
    engine
}

fn context(application: &str, second_factor: bool) -> SignInContext {
    let context = SignInContext::builder("alice", application, NOW)
        .group("g-1")
        .group("g-3")
        .group("g-12")
        .ip("192.0.2.10".parse().expect("address"))
        .country("NL")
        .enrolled(EnrolledMethod::new(Method::Totp, "app"))
        .enrolled(EnrolledMethod::new(Method::WebAuthn, "key"))
        .evidence(Evidence::new(Method::Password, NOW, "pw"));
    if second_factor {
        context
            .evidence(Evidence::new(Method::Totp, NOW, "app"))
            .build()
    } else {
        context.build()
    }
}

fn decisions(c: &mut Criterion) {
    let mut group = c.benchmark_group("policy/decide");
    group.throughput(Throughput::Elements(1));
    let engines = [
        ("baseline: 10 policies", engine(10, 5, 0)),
        ("1000 policies, indexed", engine(1000, 40, 20)),
        ("1000 policies, all applications", engine(1000, 1000, 0)),
    ];
    for second_factor in [true, false] {
        let ctx = context("app-17", second_factor);
        for (label, engine) in &engines {
            let decision = engine.evaluate(&ctx).decision.kind();
            group.bench_function(format!("{label} ({decision})"), |b| {
                b.iter(|| {
                    let evaluation = engine.evaluate(std::hint::black_box(&ctx));
                    std::hint::black_box(evaluation.decision.kind())
                });
            });
        }
    }
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
