// WebAuthn (passkeys): written on branch demo-js.
