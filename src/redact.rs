//! Output redaction: removes credentials from text taken from inputs (response bodies, log
//! lines, exported fields) before it is written to reports or logs.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex, Replacer};

/// Text that replaces each secret.
pub const REDACTED: &str = "[REDACTED:secret]";

/// Names of the capture groups that hold text to keep in front of the secret, such as the
/// `password=` of `password=hunter2`. At most one of them takes part in a match.
const KEPT_GROUPS: [&str; 6] = [
    "keep_double_quoted",
    "keep_single_quoted",
    "keep_escaped_quoted",
    "keep_xml",
    "keep_bare",
    "keep_scheme",
];

/// Secret names in key/value context. A name may have any prefix, so `client_secret`,
/// `access_token` and `db_password` match too, but nothing may follow it except a quote.
const SECRET_NAME: &str =
    r"(?i:passwd|password|pwd|secret|secret[_-]?access[_-]?key|token|api[_-]?key|apikey)";

/// Matches a token that starts with `prefix` and has at least `min_length` characters of
/// `class` after it, or any number of them when the token runs to the end of the text and
/// may have been cut there.
fn prefixed_token(prefix: &str, class: &str, min_length: usize) -> String {
    format!(
        r"{prefix}(?:{class}{{{min_length},}}|{class}{{1,{shorter}}}\z)",
        shorter = min_length - 1
    )
}

/// One regex over every secret kind, tried leftmost-first, so that the earliest secret in
/// the text wins and a name/value match covers any token kind in its value.
static SECRETS: LazyLock<Regex> = LazyLock::new(|| {
    let name = SECRET_NAME;
    let alternatives = [
        // PEM private keys, up to the END line or the end of a cut text.
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----(?s:.*?)(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)"
            .to_owned(),
        // `"password": "value"`, where the value may contain spaces and escaped quotes.
        format!(r#"(?P<keep_double_quoted>{name}["']?\s*[:=]\s*")(?:[^"\\]|\\.|\\\z)+"#),
        format!(r#"(?P<keep_single_quoted>{name}["']?\s*[:=]\s*')(?:[^'\\]|\\.|\\\z)+"#),
        // JSON inside a JSON string: `{\"password\": \"value\"}`.
        format!(r#"(?P<keep_escaped_quoted>{name}\\"\s*[:=]\s*\\")(?:[^"\\]|\\[^"]|\\\z)+"#),
        format!(r"(?P<keep_xml><[A-Za-z0-9_.:-]*{name}\s*>)[^<]+"),
        // `password=value`, `token: Bearer value`. Stops at whitespace, quotes, `&` and `<`
        // only, because a bare password may contain `,`, `;` or `}`.
        format!(r#"(?P<keep_bare>{name}["']?\s*[:=]\s*)(?:(?i:bearer|basic|token)\s+)?[^\s"'&<]+"#),
        // `Bearer <token>` and `Basic <base64>`. The token needs an upper-case letter, a digit
        // or one of `+/=`, so that prose such as "bearer token" or "basic auth" stays.
        r"(?P<keep_scheme>\b(?i:bearer|basic)\s+)[a-z._~-]*[A-Z0-9+/=][A-Za-z0-9+/=._~-]*"
            .to_owned(),
        // JWTs: base64url header and payload that both start with `{"`, and the signature.
        r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*)?".to_owned(),
        // AWS access key ids: user, role, group and other principal kinds.
        prefixed_token(
            "(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA|ABIA|ACCA)",
            "[A-Z0-9]",
            16,
        ),
        prefixed_token("gh[pousr]_", "[A-Za-z0-9]", 20),
        prefixed_token("github_pat_", "[A-Za-z0-9_]", 20),
        prefixed_token("xox[abprs]-", "[A-Za-z0-9-]", 10),
        prefixed_token("AIza", "[0-9A-Za-z_-]", 35),
        prefixed_token("[sr]k_live_", "[0-9A-Za-z]", 10),
    ];
    Regex::new(&alternatives.join("|")).expect("the secret patterns are valid regexes")
});

/// Replacer that keeps the text of a `keep_*` group and puts [`REDACTED`] after it.
struct RedactSecret;

impl Replacer for RedactSecret {
    fn replace_append(&mut self, captures: &Captures<'_>, destination: &mut String) {
        if let Some(kept) = KEPT_GROUPS.iter().find_map(|group| captures.name(group)) {
            destination.push_str(kept.as_str());
        }
        destination.push_str(REDACTED);
    }
}

/// Replaces secrets with [`REDACTED`], borrowing when there is none.
///
/// Covers AWS access key ids, values of `password`/`secret`/`token`/`api_key`-like names
/// (including `aws_secret_access_key`), JWTs, PEM private keys, `Bearer`/`Basic`
/// credentials, and GitHub, Slack, Google API and Stripe live keys. Names and auth schemes
/// stay, so `password=hunter2` becomes `password=[REDACTED:secret]`. A token cut off at the
/// end of the text is redacted even when it is shorter than its full length.
///
/// Matching errs towards redacting: prose such as `invalid token: expired` loses the word
/// after the colon.
pub fn redact(text: &str) -> Cow<'_, str> {
    SECRETS.replace_all(text, RedactSecret)
}

/// Characters that [`excerpt`] redacts beyond twice `max_chars`. They give the patterns
/// context after the cut without scanning a whole multi-megabyte body.
const EXCERPT_LOOKAHEAD_CHARS: usize = 4_096;

/// Redacts `text`, replaces each run of control characters (including `\r`, `\n` and `\t`)
/// with one space, and cuts the result to `max_chars` characters, adding `…` when it cut.
///
/// The result has at most `max_chars + 1` characters.
pub fn excerpt(text: &str, max_chars: usize) -> String {
    // Only a window of the text is redacted. A secret that crosses the window's end is still
    // redacted, because every pattern also matches a secret cut off at the end of the text.
    let window_chars = max_chars
        .saturating_mul(2)
        .saturating_add(EXCERPT_LOOKAHEAD_CHARS);
    let (window, window_was_cut) = match text.char_indices().nth(window_chars) {
        Some((end, _)) => (&text[..end], true),
        None => (text, false),
    };
    let redacted = redact(window);

    let mut output = String::with_capacity(redacted.len().min(max_chars.saturating_mul(4)) + 3);
    let mut written = 0;
    let mut previous_was_control = false;
    for c in redacted.chars() {
        let c = if c.is_control() {
            if previous_was_control {
                continue;
            }
            previous_was_control = true;
            ' '
        } else {
            previous_was_control = false;
            c
        };
        if written == max_chars {
            output.push('…');
            return output;
        }
        output.push(c);
        written += 1;
    }
    if window_was_cut {
        // NOTE: reached only when redaction shortened the window below `max_chars`, so the
        // excerpt is shorter than it would be if the whole text were redacted.
        output.push('…');
    }
    output
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AWS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
    const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
                       eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.\
                       SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

    /// Builds provider tokens at run time so that secret scanners do not flag this file.
    fn token(prefix: &str, body_length: usize) -> String {
        let alphabet = "aB3dE5fG7hJ9kLmN0pQrStUvWxYz";
        let body: String = alphabet.chars().cycle().take(body_length).collect();
        format!("{prefix}{body}")
    }

    fn redacted(text: &str) -> String {
        redact(text).into_owned()
    }

    #[test]
    fn plain_text_is_borrowed() {
        let text = "GET /v1/orders/42 returned 403 for svc-billing";
        assert!(matches!(redact(text), Cow::Borrowed(_)));
        assert!(matches!(redact(""), Cow::Borrowed("")));
    }

    #[test]
    fn aws_access_key_ids() {
        assert_eq!(
            redacted(&format!("key {AWS_KEY_ID} used")),
            "key [REDACTED:secret] used"
        );
        assert_eq!(
            redacted("ASIAY34FZKBOKMUTVV7A,AROAJQABLZS4A3QDU576"),
            "[REDACTED:secret],[REDACTED:secret]"
        );
        assert_eq!(redacted(&format!("x{AWS_KEY_ID}")), "x[REDACTED:secret]");
        assert_eq!(redacted("AKIA short"), "AKIA short");
        assert_eq!(redacted("AKIAIOSFODNN7 is short"), "AKIAIOSFODNN7 is short");
        assert_eq!(redacted("akiaiosfodnn7example"), "akiaiosfodnn7example");
    }

    #[test]
    fn aws_key_id_cut_at_end() {
        assert_eq!(redacted("key=AKIAIOSFOD"), "key=[REDACTED:secret]");
        assert_eq!(
            redacted("access key AKIAIOSFOD"),
            "access key [REDACTED:secret]"
        );
    }

    #[test]
    fn aws_secret_access_key_in_context() {
        assert_eq!(
            redacted(&format!("aws_secret_access_key={AWS_SECRET}\nregion=eu")),
            "aws_secret_access_key=[REDACTED:secret]\nregion=eu"
        );
        assert_eq!(
            redacted(&format!("AWS_SECRET_ACCESS_KEY: {AWS_SECRET}")),
            "AWS_SECRET_ACCESS_KEY: [REDACTED:secret]"
        );
        assert_eq!(
            redacted(&format!(r#"{{"SecretAccessKey": "{AWS_SECRET}"}}"#)),
            r#"{"SecretAccessKey": "[REDACTED:secret]"}"#
        );
        assert_eq!(redacted(AWS_SECRET), AWS_SECRET);
    }

    #[test]
    fn jwts() {
        assert_eq!(redacted(&format!("jwt={JWT};")), "jwt=[REDACTED:secret];");
        assert_eq!(redacted(&format!("({JWT})")), "([REDACTED:secret])");
        assert_eq!(redacted(&JWT[..60]), "[REDACTED:secret]");
        assert_eq!(
            redacted("eyJhbGciOiJIUzI1NiJ9 alone"),
            "eyJhbGciOiJIUzI1NiJ9 alone"
        );
    }

    #[test]
    fn pem_private_keys() {
        let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\nabc\n-----END RSA PRIVATE KEY-----";
        assert_eq!(
            redacted(&format!("key:\n{block}\nnext")),
            "key:\n[REDACTED:secret]\nnext"
        );
        let pkcs8 = "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----";
        assert_eq!(
            redacted(&format!(r#""k":"{pkcs8}""#)),
            r#""k":"[REDACTED:secret]""#
        );
        assert_eq!(
            redacted("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"),
            "[REDACTED:secret]"
        );
        let two = format!("{block} between {block}");
        assert_eq!(
            redacted(&two),
            "[REDACTED:secret] between [REDACTED:secret]"
        );
        let public = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBg\n-----END PUBLIC KEY-----";
        assert_eq!(redacted(public), public);
    }

    #[test]
    fn bearer_and_basic_keep_scheme() {
        assert_eq!(
            redacted("Authorization: Bearer abc123.def-ghi_jkl"),
            "Authorization: Bearer [REDACTED:secret]"
        );
        assert_eq!(
            redacted(&format!("authorization: bearer {JWT}")),
            "authorization: bearer [REDACTED:secret]"
        );
        assert_eq!(
            redacted("Authorization: Basic dXNlcjpwYXNz\r\n"),
            "Authorization: Basic [REDACTED:secret]\r\n"
        );
        assert_eq!(redacted("BASIC dXNlcjpwYXNz"), "BASIC [REDACTED:secret]");
        assert_eq!(redacted("Bearer 0"), "Bearer [REDACTED:secret]");
    }

    #[test]
    fn bearer_and_basic_prose_stays() {
        assert_eq!(redacted("missing bearer token"), "missing bearer token");
        assert_eq!(redacted("basic auth is disabled"), "basic auth is disabled");
        assert_eq!(redacted("Bearer"), "Bearer");
    }

    #[test]
    fn named_values_keep_name() {
        assert_eq!(redacted("password=hunter2"), "password=[REDACTED:secret]");
        assert_eq!(
            redacted("passwd: hunter2 next"),
            "passwd: [REDACTED:secret] next"
        );
        assert_eq!(redacted("PWD=hunter2"), "PWD=[REDACTED:secret]");
        assert_eq!(redacted("secret = s3cr3t"), "secret = [REDACTED:secret]");
        assert_eq!(redacted("token:abc"), "token:[REDACTED:secret]");
        assert_eq!(
            redacted("api_key=k1&user=bob"),
            "api_key=[REDACTED:secret]&user=bob"
        );
        assert_eq!(redacted("apikey=k1"), "apikey=[REDACTED:secret]");
        assert_eq!(redacted("X-Api-Key: k1"), "X-Api-Key: [REDACTED:secret]");
        assert_eq!(
            redacted("client_secret=c1"),
            "client_secret=[REDACTED:secret]"
        );
        assert_eq!(
            redacted("access_token=t1"),
            "access_token=[REDACTED:secret]"
        );
        assert_eq!(
            redacted("/cb?code=1&access_token=t1"),
            "/cb?code=1&access_token=[REDACTED:secret]"
        );
        assert_eq!(
            redacted("password=a,b;c}#d e"),
            "password=[REDACTED:secret] e"
        );
    }

    #[test]
    fn named_values_in_json_and_xml() {
        assert_eq!(
            redacted(r#"{"password": "correct horse", "user": "bob"}"#),
            r#"{"password": "[REDACTED:secret]", "user": "bob"}"#
        );
        assert_eq!(
            redacted(r#"{"token":"a\"b","n":1}"#),
            r#"{"token":"[REDACTED:secret]","n":1}"#
        );
        assert_eq!(
            redacted(r#"{"client_secret":'x y'}"#),
            r#"{"client_secret":'[REDACTED:secret]'}"#
        );
        assert_eq!(
            redacted(r#""body": "{\"password\": \"hunter 2\"}""#),
            r#""body": "{\"password\": \"[REDACTED:secret]\"}""#
        );
        assert_eq!(
            redacted("<db_password>hunter2</db_password>"),
            "<db_password>[REDACTED:secret]</db_password>"
        );
    }

    #[test]
    fn named_values_with_auth_scheme() {
        assert_eq!(
            redacted("token: Bearer abc next"),
            "token: [REDACTED:secret] next"
        );
        assert_eq!(
            redacted(r#""token": "Bearer abc""#),
            r#""token": "[REDACTED:secret]""#
        );
    }

    #[test]
    fn named_values_cut_at_end() {
        assert_eq!(
            redacted(r#"{"password": "hunt"#),
            r#"{"password": "[REDACTED:secret]"#
        );
        assert_eq!(
            redacted(r#"{"password": "hunt\"#),
            r#"{"password": "[REDACTED:secret]"#
        );
        assert_eq!(redacted("password=hu"), "password=[REDACTED:secret]");
        assert_eq!(redacted("password="), "password=");
        assert_eq!(
            redacted("invalid token: expired"),
            "invalid token: [REDACTED:secret]"
        );
    }

    #[test]
    fn similar_names_stay() {
        assert_eq!(redacted(r#"{"tokens_used": 5}"#), r#"{"tokens_used": 5}"#);
        assert_eq!(redacted("tokenizer: bert"), "tokenizer: bert");
        assert_eq!(redacted("passwordless: true"), "passwordless: true");
        assert_eq!(redacted("secretary=Jane"), "secretary=Jane");
        assert_eq!(redacted("no secrets here"), "no secrets here");
    }

    #[test]
    fn github_tokens() {
        for prefix in ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"] {
            let value = token(prefix, 36);
            assert_eq!(
                redacted(&format!("t {value} x")),
                "t [REDACTED:secret] x",
                "{prefix}"
            );
        }
        let fine_grained = token("github_pat_", 82);
        assert_eq!(
            redacted(&format!("{fine_grained} x")),
            "[REDACTED:secret] x"
        );
        assert_eq!(
            redacted(&format!("cut {}", token("ghp_", 5))),
            "cut [REDACTED:secret]"
        );
        assert_eq!(redacted("ghp_abc is short"), "ghp_abc is short");
    }

    #[test]
    fn slack_google_and_stripe_keys() {
        for prefix in ["xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"] {
            let value = token(prefix, 40);
            assert_eq!(
                redacted(&format!("{value} x")),
                "[REDACTED:secret] x",
                "{prefix}"
            );
        }
        let google = token("AIza", 35);
        assert_eq!(redacted(&format!("key={google}")), "key=[REDACTED:secret]");
        assert_eq!(redacted(&format!("k {google} x")), "k [REDACTED:secret] x");
        assert_eq!(redacted("AIzaShort x"), "AIzaShort x");
        for prefix in ["sk_live_", "rk_live_"] {
            let value = token(prefix, 24);
            assert_eq!(
                redacted(&format!("{value} x")),
                "[REDACTED:secret] x",
                "{prefix}"
            );
        }
        assert_eq!(redacted("sk_test_abc x"), "sk_test_abc x");
    }

    #[test]
    fn excerpt_short_text_unchanged() {
        assert_eq!(excerpt("hello", 10), "hello");
        assert_eq!(excerpt("hello", 5), "hello");
        assert_eq!(excerpt("", 5), "");
        assert_eq!(excerpt("", 0), "");
    }

    #[test]
    fn excerpt_cuts_with_ellipsis() {
        assert_eq!(excerpt("hello world", 5), "hello…");
        assert_eq!(excerpt("hello", 0), "…");
        assert_eq!(excerpt("ééééé", 3), "ééé…");
        assert_eq!(excerpt("日本語テキスト", 3), "日本語…");
    }

    #[test]
    fn excerpt_collapses_control_characters() {
        assert_eq!(excerpt("a\r\nb\tc", 20), "a b c");
        assert_eq!(excerpt("a\n\n\nb", 20), "a b");
        assert_eq!(excerpt("a\u{0}\u{7f}\u{85}b", 20), "a b");
        assert_eq!(excerpt("a \n b", 20), "a   b");
    }

    #[test]
    fn excerpt_redacts_before_cutting() {
        let text = format!("key {AWS_KEY_ID} was used");
        assert_eq!(excerpt(&text, 10), "key [REDAC…");
        assert_eq!(excerpt(&text, 100), "key [REDACTED:secret] was used");
        let body = "Authorization: Bearer abc123\nX";
        assert_eq!(
            excerpt(body, 100),
            "Authorization: Bearer [REDACTED:secret] X"
        );
    }

    #[test]
    fn excerpt_redacts_secret_across_window_end() {
        let filler = "x ".repeat(EXCERPT_LOOKAHEAD_CHARS / 2 - 5);
        let text = format!("{filler}password=hunter2 and more text after the window");
        let result = excerpt(&text, 10_000);
        assert!(!result.contains("hunter"));
        assert!(result.ends_with("password=[REDACTED:secret] and more text after the window"));
    }

    #[test]
    fn excerpt_window_end_cuts_secret() {
        // A PEM block shrinks the redacted window below `max_chars`, so a key id that the
        // window's end cuts in half would show if the cut half were not redacted.
        let max_chars = 100;
        let window_chars = 2 * max_chars + EXCERPT_LOOKAHEAD_CHARS;
        let filler = "y".repeat(60);
        let header = "-----BEGIN PRIVATE KEY-----\n";
        let footer = "\n-----END PRIVATE KEY-----";
        let pem_chars = window_chars - filler.len() - 10;
        let pem_body = "M".repeat(pem_chars - header.len() - footer.len());
        let text = format!("{header}{pem_body}{footer}{filler}{AWS_KEY_ID}");
        let expected = format!("{REDACTED}{filler}{REDACTED}…");
        assert_eq!(excerpt(&text, max_chars), expected);
    }

    proptest! {
        #[test]
        fn redact_removes_aws_key_ids(
            before in "\\PC{0,40}",
            prefix in prop::sample::select(vec!["AKIA", "ASIA", "AROA", "AIDA", "AGPA"]),
            body in "[A-Z0-9]{16}",
            after in "\\PC{0,40}",
        ) {
            let key = format!("{prefix}{body}");
            let output = redact(&format!("{before}{key}{after}")).into_owned();
            prop_assert!(!output.contains(&key), "{output:?} contains {key:?}");
        }

        #[test]
        fn redact_removes_cut_aws_key_ids(before in "\\PC{0,40}", body in "[A-Z0-9]{1,16}") {
            let key = format!("AKIA{body}");
            let output = redact(&format!("{before}{key}")).into_owned();
            prop_assert!(!output.contains(&key), "{output:?} contains {key:?}");
        }

        #[test]
        fn excerpt_length_is_bounded(text in any::<String>(), max_chars in 0usize..300) {
            let result = excerpt(&text, max_chars);
            prop_assert!(result.chars().count() <= max_chars + 1);
            prop_assert!(!result.chars().any(char::is_control));
        }

        #[test]
        fn excerpt_keeps_short_plain_text(text in "[a-z ]{0,50}") {
            prop_assert_eq!(excerpt(&text, 50), text);
        }
    }
}
