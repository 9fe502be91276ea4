//! Test-only helpers: fake provider HTTP servers on 127.0.0.1, fixture builders.
