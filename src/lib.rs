//! corroborate reads API test results, access logs and entitlement exports about
//! non-human identities, correlates them, and reports where what identities can
//! do differs from what policy says.
//!
//! The modules follow the data: [`ingest`] reads inputs into the [`model`],
//! [`rules`] compiles the rule files, [`matching`] decides which grant covers a
//! request, [`detect`] runs the rules into [`findings`], [`register`] applies
//! exceptions and merges the findings into the exception register, and [`emit`]
//! writes the outputs. [`pipeline`] strings the stages together for the command
//! line.

pub mod config;
pub mod detect;
pub mod emit;
pub mod error;
pub mod findings;
pub mod ingest;
pub mod matching;
pub mod model;
pub mod pipeline;
pub mod progress;
pub mod redact;
pub mod register;
pub mod rules;

pub use config::RunConfig;
pub use error::{Error, Result};
