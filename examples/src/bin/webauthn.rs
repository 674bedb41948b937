//! Example: the webauthn factor end to end (filled in by its issue).

fn main() {}
