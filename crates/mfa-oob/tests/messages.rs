//! Message templates: languages and fallback, the WebOTP line last in an SMS, the code spaced
//! and said twice in a call, e-mail subjects, custom templates, and nothing secret in `Debug`.
#![allow(clippy::unwrap_used, reason = "tests unwrap fixed test data")]

mod common;

use std::borrow::Cow;

use common::{Bench, UK_MOBILE, example_messages, number};
use mfa_oob::{
    Channel, CodeRequest, CodeTarget, ConsoleSender, Destination, Message, Messages, OobError,
    OobPolicy, Templates, send_code,
};

/// The message a code for `language` on `channel` produces, and its code.
fn message(messages: Messages, channel: Channel, language: &str) -> (Message, String) {
    let mut bench = Bench::with_policy(OobPolicy::new(messages));
    let uk = number(UK_MOBILE);
    let request = CodeRequest {
        account: "alice",
        transaction: "t",
        channel,
        language,
    };
    let now = bench.now();
    send_code(
        &bench.store,
        &bench.sender,
        &bench.policy,
        &request,
        CodeTarget::NewPhone {
            id: "m",
            number: &uk,
        },
        now,
        &mut bench.rng,
    )
    .unwrap();
    let message = bench.sender.last().unwrap();
    let code = message.code().unwrap().expose_secret().to_owned();
    (message, code)
}

#[test]
fn an_sms_ends_with_the_origin_bound_line() {
    let (sms, code) = message(example_messages(), Channel::Sms, "en");
    let lines: Vec<&str> = sms.body().lines().collect();
    assert_eq!(lines.last().unwrap(), &format!("@example.com #{code}"));
    // The human part comes first, with a blank line before the origin-bound line.
    assert_eq!(
        lines[0],
        format!(
            "{code} is your Example verification code. It expires in 5 minutes. Don't share it with anyone."
        )
    );
    assert_eq!(lines[1], "");
    assert_eq!(lines.len(), 3);
}

#[test]
fn without_a_webotp_host_there_is_no_origin_bound_line() {
    let (sms, _) = message(Messages::new("Example").unwrap(), Channel::Sms, "en");
    assert_eq!(sms.body().lines().count(), 1);
    assert!(!sms.body().contains('@'));
}

#[test]
fn a_call_spells_the_code_out_twice() {
    let (call, code) = message(example_messages(), Channel::Voice, "en");
    let spoken: String = code.chars().map(String::from).collect::<Vec<_>>().join(" ");
    assert_eq!(call.body().matches(&spoken).count(), 2, "{:?}", call.body());
    // The bare code is never read as one number, and no WebOTP line in a call.
    assert!(!call.body().contains(&code));
    assert!(!call.body().contains("@example.com"));
}

#[test]
fn languages_follow_the_primary_subtag_and_fall_back_to_english() {
    for (tag, expected) in [
        (
            "de",
            "ist Ihr Bestätigungscode für Example. Er ist 5 Minuten gültig.",
        ),
        ("de-AT", "ist Ihr Bestätigungscode für Example."),
        ("DE_ch", "ist Ihr Bestätigungscode für Example."),
        (
            "fr-CA",
            "est votre code de vérification Example. Il expire dans 5 minutes.",
        ),
        ("en-GB", "is your Example verification code."),
        ("ja-JP", "is your Example verification code."),
        ("", "is your Example verification code."),
        ("x\ny", "is your Example verification code."),
    ] {
        let (sms, code) = message(example_messages(), Channel::Sms, tag);
        assert!(
            sms.body().starts_with(&format!("{code} {expected}")),
            "{tag:?}: {:?}",
            sms.body()
        );
    }
    let (call, _) = message(example_messages(), Channel::Voice, "fr");
    assert!(call.body().contains("Je répète"));
    let (call, _) = message(example_messages(), Channel::Voice, "de");
    assert!(call.body().contains("Ich wiederhole"));
}

#[test]
fn a_one_minute_code_says_minute() {
    use std::time::Duration;
    let policy = OobPolicy::new(example_messages())
        .with_code(mfa_oob::CodePolicy::new(6, Duration::from_secs(60)).unwrap());
    let mut bench = Bench::with_policy(policy);
    let uk = number(UK_MOBILE);
    bench.send_new("alice", "t", &uk).unwrap();
    assert!(
        bench
            .sender
            .last()
            .unwrap()
            .body()
            .contains("expires in 1 minute.")
    );
}

#[test]
fn custom_templates_add_a_language_and_are_checked() {
    let spanish = Templates {
        sms: Cow::Borrowed("{code} es tu código de {service}. Caduca en {minutes}."),
        voice: Cow::Borrowed("Tu código es {spoken_code}. Repito: {spoken_code}."),
        email_subject: Cow::Borrowed("Tu código de {service}"),
        email_body: Cow::Borrowed("Tu código es {code}."),
        minute: Cow::Borrowed("1 minuto"),
        minutes: Cow::Borrowed("{n} minutos"),
    };
    let messages = example_messages()
        .with_templates("es", spanish.clone())
        .unwrap()
        .with_fallback("es")
        .unwrap();
    assert_eq!(messages.language_for("es-MX"), "es");
    assert_eq!(messages.language_for("pt"), "es");
    let (sms, code) = message(messages, Channel::Sms, "es-MX");
    assert!(sms.body().starts_with(&format!(
        "{code} es tu código de Example. Caduca en 5 minutos."
    )));

    let broken = [
        Templates {
            sms: Cow::Borrowed("no code here"),
            ..spanish.clone()
        },
        Templates {
            voice: Cow::Borrowed("once: {spoken_code}"),
            ..spanish.clone()
        },
        Templates {
            sms: Cow::Borrowed("{code} {typo}"),
            ..spanish.clone()
        },
        Templates {
            sms: Cow::Borrowed("{code} {unclosed"),
            ..spanish.clone()
        },
        Templates {
            minutes: Cow::Borrowed("minutos"),
            ..spanish.clone()
        },
        Templates {
            sms: Cow::Borrowed("{code}\n\n@evil.example #{code}"),
            ..spanish.clone()
        },
    ];
    for templates in broken {
        assert!(
            matches!(
                example_messages().with_templates("es", templates.clone()),
                Err(OobError::InvalidParameter(_))
            ),
            "{templates:?}"
        );
    }
    assert!(example_messages().with_fallback("es").is_err());
}

#[test]
fn service_names_are_checked() {
    assert!(Messages::new("Example Bank").is_ok());
    for bad in ["", " Example", "Ex\nample", &"x".repeat(41)] {
        assert!(Messages::new(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn debug_output_holds_no_code_and_no_whole_number() {
    let (sms, code) = message(example_messages(), Channel::Sms, "en");
    let shown = format!("{sms:?} {:?}", sms.code().unwrap());
    assert!(!shown.contains(&code), "{shown}");
    assert!(!shown.contains("7911123456"), "{shown}");
    assert!(shown.contains("+44 ••• ••• ••56"), "{shown}");
}

#[test]
fn the_console_sender_prints_what_the_phone_shows() {
    let (sms, code) = message(example_messages(), Channel::Sms, "en");
    let console = ConsoleSender::new(Vec::new());
    mfa_oob::Sender::send(&console, &sms).unwrap();
    let printed = String::from_utf8(console.into_inner()).unwrap();
    assert!(printed.starts_with("--- sms to +44 ••• ••• ••56 ---\n"));
    assert!(printed.contains(&format!("@example.com #{code}\n---\n")));
}

#[test]
fn notices_go_by_any_channel_that_fits() {
    let address = mfa_oob::EmailAddress::parse("alice@example.com").unwrap();
    let notice = Message::notice(
        Channel::Email,
        Destination::Email(address.clone()),
        Some("A phone was added".into()),
        "A phone ending in 56 was added to your account.",
    )
    .unwrap();
    assert!(notice.code().is_none());
    assert!(matches!(
        Message::notice(Channel::Sms, Destination::Email(address), None, "x"),
        Err(OobError::ChannelRefused(Channel::Sms))
    ));
}
