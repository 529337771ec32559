//! The normalised model every input is read into: test results, access events
//! (summarised), and the inventory of identities, credentials and grants.

pub mod access;
pub mod endpoint;
mod enums;
pub mod inventory;
mod records;
pub mod time;

pub use enums::{
    CredentialState, Decision, Expected, GrantStatus, IdentityType, Risk, Severity, fold_enum_text,
};
pub use records::{EntitlementRow, Origin, TestResult};
pub use time::Timestamp;
