//! Origin matching ([WebAuthn L3 §13.4.9] "Validating the origin of a credential").
//!
//! Origins are compared as serialized strings ([HTML origin serialization]): a configured origin
//! may carry one trailing `/`, which is ignored. `android:apk-key-hash:…` and other non-web
//! origins are compared the same way, as opaque strings.
//!
//! [WebAuthn L3 §13.4.9]: https://www.w3.org/TR/webauthn-3/#sctn-validating-origin
//! [HTML origin serialization]: https://html.spec.whatwg.org/multipage/browsers.html#ascii-serialisation-of-an-origin

/// Strips the one trailing `/` a configured origin may carry.
pub(crate) fn normalize(origin: &str) -> &str {
    origin.strip_suffix('/').unwrap_or(origin)
}

/// Whether `origin` (from client data) equals one of `allowed`.
pub(crate) fn origin_allowed(origin: &str, allowed: &[String]) -> bool {
    let origin = normalize(origin);
    !origin.is_empty() && allowed.iter().any(|a| normalize(a) == origin)
}
