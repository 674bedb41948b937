//! Passkey provider names by AAGUID, read from the JSON format of the community-maintained
//! passkey provider list (`{"<aaguid>": {"name": "…", "icon_dark": "…", "icon_light": "…"}}`).
//!
//! The list parser lives in `mfa-webauthn` ([`mfa_webauthn::metadata::names`]), beside FIDO
//! metadata names ([`mfa_webauthn::metadata::names::AuthenticatorNames`]); it is re-exported
//! here under the names this crate has always used. No list ships with either crate: the service
//! downloads one it trusts, reviews it, and loads it with [`ProviderNames::from_json`].

pub use mfa_webauthn::metadata::names::{
    MAX_PROVIDER_FILE_LEN, MAX_PROVIDER_NAME_CHARS, MAX_PROVIDERS, ProviderNames,
    ProviderNamesError, fuzz_provider_names,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_old_names_still_read_lists() {
        let names = ProviderNames::from_json(
            r#"{"0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6": {"name": "Example Vault"}}"#,
        )
        .unwrap();
        assert_eq!(
            names.name("0EA242B4-43C4-4A1B-8B17-DD6D0B6BAEC6"),
            Some("Example Vault")
        );
        assert_eq!(
            ProviderNames::from_json(r#"{"x": {"name": "A"}}"#),
            Err(ProviderNamesError::InvalidAaguid { entry: 0 })
        );
    }
}
