//! Matching requests to grants: action globs, path globs and method lists.

pub mod pattern;
