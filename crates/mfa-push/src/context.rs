//! What the phone shows about the sign-in it is asked to approve.

use serde::{Deserialize, Serialize};

use crate::error::PushError;

/// The longest context field, in characters.
pub const MAX_CONTEXT_FIELD_CHARS: usize = 128;

/// Context shown on the phone with a challenge, so the user can tell their own sign-in from
/// someone else's: every field optional, each at most [`MAX_CONTEXT_FIELD_CHARS`] characters with
/// no control characters. The time of the sign-in is the challenge's own
/// ([`ChallengeView::created_at`](crate::ChallengeView::created_at)).
///
/// It reaches the phone only through a signed request ([`challenge_context`](crate::challenge_context)),
/// never through the push service. Fill it with what the user can check: the application's name,
/// the client's IP address, an approximate location ("Lyon, France"), the browser and OS.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeContext {
    /// The application being signed in to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application: Option<String>,
    /// The signing-in client's IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// An approximate location of that address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The browser and operating system.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser: Option<String>,
}

impl ChallengeContext {
    /// Checks the limits.
    ///
    /// # Errors
    /// [`PushError::InvalidRequest`] if a field is too long or holds a control character.
    pub fn validate(&self) -> Result<(), PushError> {
        let fields = [
            &self.application,
            &self.ip_address,
            &self.location,
            &self.browser,
        ];
        if fields
            .into_iter()
            .flatten()
            .all(|field| short_text(field, MAX_CONTEXT_FIELD_CHARS))
        {
            Ok(())
        } else {
            Err(PushError::InvalidRequest(
                "a context field is too long or has a control character",
            ))
        }
    }
}

/// At most `max_chars` characters, none of them a control character.
pub(crate) fn short_text(text: &str, max_chars: usize) -> bool {
    text.chars().count() <= max_chars && !text.chars().any(char::is_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        let mut context = ChallengeContext {
            application: Some("Payroll".into()),
            location: Some("Lyon, France".into()),
            ..ChallengeContext::default()
        };
        assert!(context.validate().is_ok());
        assert_eq!(
            serde_json::to_string(&context).unwrap(),
            r#"{"application":"Payroll","location":"Lyon, France"}"#
        );
        context.browser = Some("é".repeat(MAX_CONTEXT_FIELD_CHARS));
        assert!(context.validate().is_ok(), "characters, not bytes");
        context.browser = Some("x".repeat(MAX_CONTEXT_FIELD_CHARS + 1));
        assert!(context.validate().is_err());
        context.browser = Some("Firefox\n on Linux".into());
        assert!(context.validate().is_err());
    }
}
