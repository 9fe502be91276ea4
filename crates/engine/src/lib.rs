//! Wires kite together: configuration, the provider fallback chain, store caching, queries.
