//! Related Origin Requests (WebAuthn L3 §5.11): the `/.well-known/webauthn` document the
//! builder writes, its label limit as clients count it, and the client-side check.
#![allow(clippy::unwrap_used)] // tests may unwrap (STYLE.md)

use mfa_webauthn::related_origins::{MAX_DOCUMENT_LEN, MAX_LABELS};
use mfa_webauthn::{
    RelatedOriginsBuilder, RelatedOriginsDocument, RelatedOriginsError, RelyingParty,
};
use proptest::prelude::*;

fn build(origins: &[&str]) -> Result<RelatedOriginsDocument, RelatedOriginsError> {
    RelatedOriginsBuilder::new("example.com")
        .origins(origins.iter().copied())
        .build()
}

#[test]
fn document_from_the_relying_party_and_extra_origins() {
    let rp = RelyingParty::new("example.com", "Example", "https://example.com")
        .with_origin("https://login.example.com/") // own domain: needs no listing
        .with_origin("android:apk-key-hash:abc") // not a web origin: not for the document
        .with_origin("HTTPS://Example.CO.UK:443/"); // normalized
    let document = RelatedOriginsBuilder::from_relying_party(&rp)
        .origin("https://example.co.uk") // a duplicate once normalized
        .origins(["https://shop.example.de:8443", "https://other.io"])
        .build()
        .unwrap();
    assert_eq!(
        document.origins(),
        [
            "https://example.co.uk",
            "https://shop.example.de:8443",
            "https://other.io"
        ]
    );
    assert_eq!(
        document.to_json(),
        r#"{"origins":["https://example.co.uk","https://shop.example.de:8443","https://other.io"]}"#
    );
    // The typed struct serializes to the same text and reads back.
    assert_eq!(
        serde_json::to_string(&document).unwrap(),
        document.to_json()
    );
    assert_eq!(
        RelatedOriginsDocument::from_json(document.to_json().as_bytes()).unwrap(),
        document
    );
}

#[test]
fn own_domain_origins_are_left_out() {
    let document = build(&[
        "https://example.com",
        "https://www.example.com",
        "https://a.b.example.com:8443",
    ])
    .unwrap();
    assert!(document.origins().is_empty());
    assert_eq!(document.to_json(), r#"{"origins":[]}"#);
    // A domain that merely ends with the RP ID's text is not its subdomain.
    let document = build(&["https://notexample.com"]).unwrap();
    assert_eq!(document.origins(), ["https://notexample.com"]);
    // RP ID localhost: http://localhost is its own origin.
    let document = RelatedOriginsBuilder::new("localhost")
        .origin("http://localhost:3000")
        .build()
        .unwrap();
    assert!(document.origins().is_empty());
}

#[test]
fn five_labels_pass_and_a_sixth_is_refused() {
    let five = [
        "https://one.com",
        "https://two.net",
        "https://three.org",
        "https://four.de",
        "https://five.fr",
    ];
    let document = build(&five).unwrap();
    assert_eq!(document.origins().len(), MAX_LABELS);

    let mut six = five.to_vec();
    six.push("https://six.io");
    six.push("https://seven.io");
    assert_eq!(
        build(&six),
        Err(RelatedOriginsError::TooManyLabels {
            origin: "https://six.io".into(),
            label: "six".into(),
        })
    );
    // More origins under labels already seen are fine: the limit counts labels, not origins.
    let mut same_labels = five.to_vec();
    same_labels.extend([
        "https://one.co.uk",
        "https://www.two.com.au",
        "https://three.github.io", // private PSL section: registrable domain three.github.io
        "https://login.four.de:8443",
    ]);
    assert_eq!(build(&same_labels).unwrap().origins().len(), 9);
}

#[test]
fn example_com_and_example_co_uk_are_one_label() {
    let document = RelatedOriginsBuilder::new("example.org")
        .origins([
            "https://example.com",
            "https://example.co.uk",
            "https://shop.example.fr",
            "https://b.com",
            "https://c.com",
            "https://d.com",
            "https://e.com",
        ])
        .build()
        .unwrap();
    assert_eq!(document.origins().len(), 7);
    // A public suffix of two labels does not make `co` a label.
    let refused = RelatedOriginsBuilder::new("example.org")
        .origins([
            "https://a.co.uk",
            "https://b.co.uk",
            "https://c.co.uk",
            "https://d.co.uk",
            "https://e.co.uk",
            "https://f.co.uk",
        ])
        .build();
    assert!(
        matches!(&refused, Err(RelatedOriginsError::TooManyLabels { origin, label })
            if origin == "https://f.co.uk" && label == "f"),
        "{refused:?}"
    );
}

#[test]
fn invalid_origins_are_refused() {
    for bad in [
        "http://example.org",        // http only for localhost
        "https://example.org/login", // a path
        "https://example.org/?q=1",
        "https://example.org#top",
        "https://user:pw@example.org",
        "https://93.184.216.34",
        "https://[2001:db8::1]",
        "https://example.org:0x1bb",
        "https://example.org:70000",
        "https://exa_mple.org",
        "https://bücher.example",
        "https://-bad.org",
        "https://example.org.",
        "wss://example.org",
        "android:apk-key-hash:abc",
        "example.org",
        "",
    ] {
        let result = build(&[bad]);
        assert!(
            matches!(&result, Err(RelatedOriginsError::InvalidOrigin { origin, .. }) if origin == bad),
            "{bad}: {result:?}"
        );
    }
    // Hosts without a registrable domain: clients skip them, so the builder says so.
    for skipped in ["http://localhost:8080", "https://co.uk", "https://com"] {
        assert_eq!(
            build(&[skipped]),
            Err(RelatedOriginsError::NoRegistrableDomain {
                origin: skipped.into()
            })
        );
    }
    assert_eq!(
        RelatedOriginsBuilder::new("https://example.com").build(),
        Err(RelatedOriginsError::InvalidRpId(
            "https://example.com".into()
        ))
    );
    // Errors say which origin and why, for the operator.
    let message = build(&["https://example.org/login"])
        .unwrap_err()
        .to_string();
    assert!(message.contains("https://example.org/login"), "{message}");
}

#[test]
fn client_check_accepts_listed_origins_only() {
    let document = build(&["https://example.co.uk", "https://shop.example.de:8443"]).unwrap();
    document.check_origin("https://example.co.uk").unwrap();
    document.check_origin("https://EXAMPLE.co.uk:443").unwrap();
    document
        .check_origin("https://shop.example.de:8443")
        .unwrap();
    for refused in [
        "https://shop.example.de", // another port
        "http://example.co.uk",    // another scheme
        "https://www.example.co.uk",
        "https://evil.com",
    ] {
        assert_eq!(
            document.check_origin(refused),
            Err(RelatedOriginsError::NotListed {
                origin: refused.into()
            }),
            "{refused}"
        );
    }
    assert!(matches!(
        document.check_origin("not an origin"),
        Err(RelatedOriginsError::InvalidOrigin { .. })
    ));
}

#[test]
fn client_check_follows_the_label_budget_of_a_hand_written_document() {
    // Written by hand, not by the builder: six labels, junk items, a path.
    let json = br#"{
        "origins": [
            "not a url", "https://co.uk", "android:apk-key-hash:x",
            "https://a.com/ignored/path", "https://b.com", "https://c.com", "https://d.com",
            "https://e.com",
            "https://f.com",
            "https://a.co.uk"
        ],
        "comment": "other members are ignored"
    }"#;
    let document = RelatedOriginsDocument::from_json(json).unwrap();
    // Junk items consumed no label: a..e are the five.
    for ok in ["https://a.com", "https://e.com", "https://a.co.uk"] {
        document.check_origin(ok).unwrap();
    }
    // f is the sixth label: a client does not look at it.
    assert!(matches!(
        document.check_origin("https://f.com"),
        Err(RelatedOriginsError::NotListed { .. })
    ));
}

#[test]
fn malformed_documents_are_refused() {
    for bad in [
        &b"[]"[..],
        br#"{"origins": "https://a.com"}"#,
        br#"{"origins": [1, 2]}"#,
        br#"{"no_origins": []}"#,
        b"{",
    ] {
        assert!(
            matches!(
                RelatedOriginsDocument::from_json(bad),
                Err(RelatedOriginsError::MalformedDocument(_))
            ),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    let long = format!(r#"{{"origins": ["{}"]}}"#, "a".repeat(MAX_DOCUMENT_LEN));
    assert!(matches!(
        RelatedOriginsDocument::from_json(long.as_bytes()),
        Err(RelatedOriginsError::MalformedDocument(_))
    ));
}

/// Hosts whose registrable origin label a naive model knows: `[www.]name.suffix` with suffixes
/// whose registrable domain is one label more.
fn host() -> impl Strategy<Value = (String, String)> {
    (
        proptest::bool::ANY,
        "lbl[a-h]{1,2}", // a fixed prefix: two-letter names such as `de.com` are public suffixes
        prop_oneof![
            Just("com"),
            Just("co.uk"),
            Just("de"),
            Just("github.io"),
            Just("com.au")
        ],
    )
        .prop_map(|(www, name, suffix)| {
            let prefix = if www { "www." } else { "" };
            (format!("https://{prefix}{name}.{suffix}"), name)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Against a naive model of the label count: the builder accepts exactly the lists with at
    /// most five distinct labels, names the first origin past them otherwise, and a client
    /// reading what it built accepts every origin in it.
    #[test]
    fn label_limit_matches_a_model(hosts in proptest::collection::vec(host(), 0..12)) {
        let origins: Vec<&str> = hosts.iter().map(|(o, _)| o.as_str()).collect();
        let mut labels: Vec<&str> = Vec::new();
        let mut first_ignored = None;
        for (origin, label) in &hosts {
            if !labels.contains(&label.as_str()) {
                if labels.len() == MAX_LABELS {
                    first_ignored = Some((origin.clone(), label.clone()));
                    break;
                }
                labels.push(label);
            }
        }
        match (build(&origins), first_ignored) {
            (Ok(document), None) => {
                for origin in &origins {
                    prop_assert!(document.check_origin(origin).is_ok());
                }
                let read = RelatedOriginsDocument::from_json(document.to_json().as_bytes()).unwrap();
                prop_assert_eq!(read, document);
            }
            (Err(RelatedOriginsError::TooManyLabels { origin, label }), Some((o, l))) => {
                prop_assert_eq!(origin, o);
                prop_assert_eq!(label, l);
            }
            (result, model) => prop_assert!(false, "{:?} vs model {:?}", result, model),
        }
    }

    /// Any origin text is accepted or refused with a typed error, never a panic; any document
    /// text parses or is refused.
    #[test]
    fn arbitrary_text_never_panics(origin in "\\PC{0,40}", doc in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = build(&[origin.as_str()]);
        if let Ok(document) = RelatedOriginsDocument::from_json(&doc) {
            let _ = document.check_origin(&origin);
        }
        let document = build(&["https://a.com"]).unwrap();
        let _ = document.check_origin(&origin);
    }
}
