#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod attestation;
pub mod cose;
pub mod crypto;
pub mod metadata;

pub mod authenticator_data;
pub mod base64url;
pub mod client_data;
pub mod extensions;
pub mod related_origins;
pub mod response;

mod authentication;
mod checks;
mod credential;
mod credential_id;
mod error;
mod options;
mod origin;
mod registration;
mod store;

#[cfg(feature = "testing")]
pub mod testing;

pub use crate::attestation::{
    AcceptAnyAttestation, AttestationFormat, AttestationOptions, AttestationTrust, TrustDecision,
    VerifiedAttestation,
};
pub use crate::authentication::VerifiedAssertion;
pub use crate::authenticator_data::{
    AttestedCredentialData, AuthenticatorData, AuthenticatorFlags,
};
pub use crate::base64url::Base64UrlBytes;
pub use crate::client_data::CollectedClientData;
pub use crate::cose::{CoseAlgorithm, CoseKey};
pub use crate::credential::StoredCredential;
pub use crate::credential_id::CredentialId;
pub use crate::crypto::{DefaultVerifier, RustCryptoVerifier, SignatureVerifier};
pub use crate::error::WebAuthnError;
pub use crate::extensions::{
    CredentialProperties, LargeBlobCreationInputs, LargeBlobOutputs, LargeBlobRequestInputs,
    LargeBlobSupport, PrfCreationInputs, PrfOutput, PrfOutputs, PrfRequestInputs, PrfResults,
    PrfValues,
};
pub use crate::options::{
    AttestationConveyance, AuthenticationRequest, AuthenticationState, AuthenticatorAttachment,
    AuthenticatorSelection, CHALLENGE_LEN, Challenge, CreationExtensions, CreationOptions,
    CredentialDescriptor, CredentialParameters, CrossOrigin, DEFAULT_TIMEOUT, Hint,
    RegistrationRequest, RegistrationState, RelyingParty, RequestExtensions, RequestOptions,
    ResidentKey, RpEntity, SignCountPolicy, UserEntity, UserVerification,
};
pub use crate::registration::RegisteredCredential;
pub use crate::related_origins::{
    RelatedOriginsBuilder, RelatedOriginsDocument, RelatedOriginsError,
};
pub use crate::response::{
    AttestationObject, AuthenticationResponse, ClientExtensionResults, RegistrationResponse,
};
pub use crate::store::{
    CEREMONY_KIND, CREDENTIAL_KIND, authentication_key, find_credential, find_credential_async,
    finish_authentication, finish_authentication_async, finish_registration,
    finish_registration_async, finish_registration_with_trust,
    finish_registration_with_trust_async, list_credentials, list_credentials_async, record_key,
    register_credential, register_credential_async, registration_key, start_authentication,
    start_authentication_async, start_registration, start_registration_async,
};

#[doc(hidden)]
pub use crate::authenticator_data::fuzz_authenticator_data;
#[doc(hidden)]
pub use crate::client_data::fuzz_client_data;
#[doc(hidden)]
pub use crate::metadata::fuzz_metadata_blob;
#[doc(hidden)]
pub use crate::response::fuzz_response_json;
