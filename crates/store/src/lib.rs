//! kite's local store: observations in an embedded SQLite database, idempotent upserts.
