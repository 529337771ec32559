//! The closed value sets of the input columns. Parsing is case-insensitive and
//! treats `-` and `_` alike, so `Wrong-Audience`, `wrong_audience` and
//! `WRONG_AUDIENCE` are one value.

use std::fmt;

/// Folds an enum spelling to its canonical form: trimmed, lower-case, `-` as `_`.
pub fn fold_enum_text(text: &str) -> String {
    text.trim().to_ascii_lowercase().replace('-', "_")
}

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling written to outputs.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a spelling case-insensitively, with `-` and `_` alike.
            pub fn parse(text: &str) -> Option<$name> {
                let folded = fold_enum_text(text);
                match folded.as_str() { $($text => Some($name::$variant),)+ _ => None }
            }

            /// The accepted spellings, for error messages.
            pub fn expected() -> String {
                [$($text),+].join(", ")
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// The state of the credential an API test sent.
    CredentialState {
        Valid => "valid",
        Expired => "expired",
        Revoked => "revoked",
        Missing => "missing",
        Malformed => "malformed",
        WrongAudience => "wrong_audience",
        WrongIssuer => "wrong_issuer",
        InsufficientScope => "insufficient_scope",
    }
);

text_enum!(
    /// What policy says a tested request should get.
    Expected {
        Allow => "allow",
        Deny => "deny",
    }
);

text_enum!(
    /// A service's decision on a logged request.
    Decision {
        Allow => "allow",
        Deny => "deny",
        Other => "other",
    }
);

text_enum!(
    /// How dangerous an action or a grant is.
    Risk {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

text_enum!(
    /// The kind of principal an identity is.
    IdentityType {
        ServiceAccount => "service_account",
        ApiKey => "api_key",
        Workload => "workload",
        Bot => "bot",
        Human => "human",
    }
);

text_enum!(
    /// The lifecycle status of an entitlement row.
    GrantStatus {
        Active => "active",
        Revoked => "revoked",
        Disabled => "disabled",
    }
);

text_enum!(
    /// How urgent a finding is, lowest first.
    Severity {
        Low => "low",
        Medium => "medium",
        High => "high",
        Critical => "critical",
    }
);

impl Severity {
    /// The next level up, or the same level at the top.
    pub fn raised(self) -> Severity {
        match self {
            Severity::Low => Severity::Medium,
            Severity::Medium => Severity::High,
            Severity::High | Severity::Critical => Severity::Critical,
        }
    }
}

impl Decision {
    /// Derives a decision from an HTTP status: 2xx/3xx allow, 401/403 deny, anything else
    /// is neither.
    pub fn from_status(status: u16) -> Decision {
        match status {
            200..=399 => Decision::Allow,
            401 | 403 => Decision::Deny,
            _ => Decision::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_parse_folds_case_and_dashes() {
        assert_eq!(
            CredentialState::parse("Wrong-Audience"),
            Some(CredentialState::WrongAudience)
        );
        assert_eq!(
            CredentialState::parse(" WRONG_ISSUER "),
            Some(CredentialState::WrongIssuer)
        );
        assert_eq!(Decision::parse("DENY"), Some(Decision::Deny));
        assert_eq!(
            IdentityType::parse("service-account"),
            Some(IdentityType::ServiceAccount)
        );
    }

    #[test]
    fn enum_parse_rejects_unknown() {
        assert_eq!(CredentialState::parse("stolen"), None);
        assert_eq!(Expected::parse(""), None);
        assert_eq!(Risk::parse("severe"), None);
    }

    #[test]
    fn severity_raise_caps_at_critical() {
        assert_eq!(Severity::Low.raised(), Severity::Medium);
        assert_eq!(Severity::High.raised(), Severity::Critical);
        assert_eq!(Severity::Critical.raised(), Severity::Critical);
    }

    #[test]
    fn decision_from_status_codes() {
        assert_eq!(Decision::from_status(204), Decision::Allow);
        assert_eq!(Decision::from_status(302), Decision::Allow);
        assert_eq!(Decision::from_status(401), Decision::Deny);
        assert_eq!(Decision::from_status(403), Decision::Deny);
        assert_eq!(Decision::from_status(404), Decision::Other);
        assert_eq!(Decision::from_status(500), Decision::Other);
    }
}
