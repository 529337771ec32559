//! Endpoint templates for grouping: request paths reduced to their path part, and
//! templates such as `/v1/orders/{id}` that put requests to the same endpoint in one group.

use std::borrow::Cow;

/// Segment text that [`template`] puts in place of an id segment.
const ID_PLACEHOLDER: &str = "{id}";

/// Reduces a request path or full URL to its path, without query string, fragment or
/// trailing `/`.
///
/// Surrounding whitespace is trimmed. `https://host/p?q` gives `/p`, and a URL without a path
/// gives `/`. The root `/` stays `/` and an empty path stays empty. Duplicate slashes and
/// percent-encoding are left as they are.
pub fn normalize_path(raw: &str) -> &str {
    let mut path = raw.trim();
    if let Some(after_authority) = strip_scheme_and_authority(path) {
        path = after_authority;
        if path.is_empty() || path.starts_with(['?', '#']) {
            return "/";
        }
    }
    if let Some(end) = path.find(['?', '#']) {
        path = &path[..end];
    }
    // Whitespace goes too, so that `/a /` and `/a ?q` give `/a` like `/a` does.
    let without_slashes = path.trim_end_matches(|c: char| c == '/' || c.is_whitespace());
    if without_slashes.is_empty() && !path.is_empty() {
        return "/";
    }
    without_slashes
}

/// Returns what follows `scheme://authority` when `text` starts with an absolute URL.
fn strip_scheme_and_authority(text: &str) -> Option<&str> {
    let scheme_end = text.find("://")?;
    let scheme = &text[..scheme_end];
    // RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
    let mut scheme_chars = scheme.chars();
    let starts_with_letter = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let valid_scheme = starts_with_letter
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !valid_scheme {
        return None;
    }
    let authority_and_rest = &text[scheme_end + 3..];
    let authority_end = authority_and_rest
        .find(['/', '?', '#'])
        .unwrap_or(authority_and_rest.len());
    Some(&authority_and_rest[authority_end..])
}

/// Replaces the id segments of a normalized path with `{id}`, borrowing when none is an id.
///
/// `/v1/orders/42/items` becomes `/v1/orders/{id}/items`. See [`is_id_segment`] for what
/// counts as an id.
pub fn template(path: &str) -> Cow<'_, str> {
    if !path.split('/').any(is_id_segment) {
        return Cow::Borrowed(path);
    }
    let mut templated = String::with_capacity(path.len());
    for (index, segment) in path.split('/').enumerate() {
        if index > 0 {
            templated.push('/');
        }
        if is_id_segment(segment) {
            templated.push_str(ID_PLACEHOLDER);
        } else {
            templated.push_str(segment);
        }
    }
    Cow::Owned(templated)
}

/// Returns whether a path segment looks like an identifier rather than a fixed name.
///
/// Ids are: one or more ASCII digits, a UUID (8-4-4-4-12 hex digits in any case), or 16 or
/// more ASCII letters and digits with at least one digit (hex digests, base32, ULIDs). A long
/// word without digits such as `organizationsettings` is not an id.
pub fn is_id_segment(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    if bytes.iter().all(u8::is_ascii_digit) {
        return true;
    }
    if is_uuid(bytes) {
        return true;
    }
    bytes.len() >= 16
        && bytes.iter().all(u8::is_ascii_alphanumeric)
        && bytes.iter().any(u8::is_ascii_digit)
}

fn is_uuid(bytes: &[u8]) -> bool {
    const HYPHENS: [usize; 4] = [8, 13, 18, 23];
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| {
            if HYPHENS.contains(&index) {
                *byte == b'-'
            } else {
                byte.is_ascii_hexdigit()
            }
        })
}

/// Trims an HTTP method and converts it to upper case (`" get"` becomes `"GET"`).
pub fn normalize_method(raw: &str) -> String {
    raw.trim().to_ascii_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalize_path_drops_query_fragment_and_slash() {
        assert_eq!(normalize_path("/v1/items"), "/v1/items");
        assert_eq!(normalize_path("/v1/items/"), "/v1/items");
        assert_eq!(normalize_path("/v1/items//"), "/v1/items");
        assert_eq!(normalize_path("/v1/items?limit=10"), "/v1/items");
        assert_eq!(normalize_path("/v1/items/?limit=10"), "/v1/items");
        assert_eq!(normalize_path("/v1/items#top"), "/v1/items");
        assert_eq!(normalize_path("/v1/items?next=/a#b"), "/v1/items");
        assert_eq!(normalize_path("  /v1/items \n"), "/v1/items");
        assert_eq!(normalize_path("/v1/items ?x=1"), "/v1/items");
        assert_eq!(normalize_path("v1/items/"), "v1/items");
        assert_eq!(normalize_path("/v1/items /"), "/v1/items");
    }

    #[test]
    fn normalize_path_root_and_empty() {
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("///"), "/");
        assert_eq!(normalize_path("/?x=1"), "/");
        assert_eq!(normalize_path(""), "");
        assert_eq!(normalize_path("   "), "");
        assert_eq!(normalize_path("?x=1"), "");
    }

    #[test]
    fn normalize_path_full_urls() {
        assert_eq!(
            normalize_path("https://api.example.com/v1/items"),
            "/v1/items"
        );
        assert_eq!(
            normalize_path("http://localhost:8080/v1/items/?a=b"),
            "/v1/items"
        );
        assert_eq!(normalize_path("https://user@host/v1#frag"), "/v1");
        assert_eq!(normalize_path("https://api.example.com"), "/");
        assert_eq!(normalize_path("https://api.example.com/"), "/");
        assert_eq!(normalize_path("https://api.example.com?x=1"), "/");
        assert_eq!(normalize_path("HTTPS://api.example.com/v1"), "/v1");
    }

    #[test]
    fn normalize_path_keeps_non_url_colons() {
        assert_eq!(normalize_path("/redirect?to=https://x/y"), "/redirect");
        assert_eq!(normalize_path("/v1/a://b"), "/v1/a://b");
        assert_eq!(normalize_path("1http://host/p"), "1http://host/p");
    }

    #[test]
    fn id_segment_digits() {
        assert!(is_id_segment("42"));
        assert!(is_id_segment("0"));
        assert!(is_id_segment("12345678901234567890123"));
        assert!(!is_id_segment(""));
        assert!(!is_id_segment("-42"));
        assert!(!is_id_segment("4.2"));
        assert!(!is_id_segment("v1"));
    }

    #[test]
    fn id_segment_uuid() {
        assert!(is_id_segment("123e4567-e89b-12d3-a456-426614174000"));
        assert!(is_id_segment("123E4567-E89B-12D3-A456-426614174000"));
        assert!(!is_id_segment("123e4567-e89b-12d3-a456-42661417400"));
        assert!(!is_id_segment("123e4567-e89b-12d3-a456-4266141740000"));
        assert!(!is_id_segment("123e4567e89b-12d3-a456-4266141740000"));
        assert!(!is_id_segment("123e4567-e89b-12d3-a456-42661417400g"));
        assert!(!is_id_segment("{123e4567-e89b-12d3-a456-426614174000}"));
    }

    #[test]
    fn id_segment_long_alphanumeric() {
        assert!(is_id_segment("01HGW2N7EJXQ3ZK8P5M4R6T9VB"));
        assert!(is_id_segment("d41d8cd98f00b204e9800998ecf8427e"));
        assert!(is_id_segment("abcdefghijklmno1"));
        assert!(is_id_segment("1ABCDEFGHIJKLMNO"));
        assert!(!is_id_segment("abcdefghijklmn1"));
        assert!(!is_id_segment("organizationsettings"));
        assert!(!is_id_segment("abcdefgh-ijklmnop-1"));
        assert!(!is_id_segment("abcdefghijklmnop_1"));
        assert!(!is_id_segment("abcdéfghijklmnop1"));
    }

    #[test]
    fn template_replaces_ids() {
        assert_eq!(template("/v1/orders/42"), "/v1/orders/{id}");
        assert_eq!(
            template("/v1/orders/42/items/7"),
            "/v1/orders/{id}/items/{id}"
        );
        assert_eq!(
            template("/users/123e4567-e89b-12d3-a456-426614174000/keys"),
            "/users/{id}/keys"
        );
        assert_eq!(
            template("/blobs/d41d8cd98f00b204e9800998ecf8427e"),
            "/blobs/{id}"
        );
        assert_eq!(template("42"), "{id}");
        assert_eq!(template("/42/"), "/{id}/");
    }

    #[test]
    fn template_keeps_names() {
        assert_eq!(
            template("/v1/organizationsettings"),
            "/v1/organizationsettings"
        );
        assert_eq!(template("/v1/abcdefghijklmn1"), "/v1/abcdefghijklmn1");
        assert_eq!(template("/v2/items"), "/v2/items");
        assert_eq!(template("/"), "/");
        assert_eq!(template(""), "");
    }

    #[test]
    fn template_borrows_when_unchanged() {
        assert!(matches!(template("/v1/items"), Cow::Borrowed("/v1/items")));
        assert!(matches!(template("/v1/orders/{id}"), Cow::Borrowed(_)));
        assert!(matches!(template("/v1/orders/1"), Cow::Owned(_)));
    }

    #[test]
    fn normalize_method_trims_and_upper_cases() {
        assert_eq!(normalize_method("get"), "GET");
        assert_eq!(normalize_method("  Post\t"), "POST");
        assert_eq!(normalize_method("DELETE"), "DELETE");
        assert_eq!(normalize_method(""), "");
    }

    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z]{1,20}",
            "[0-9]{1,12}",
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[A-Za-z0-9]{10,30}",
            "\\{id\\}",
            "[a-z._~-]{0,6}",
        ]
    }

    proptest! {
        #[test]
        fn template_is_idempotent(segments in prop::collection::vec(segment(), 0..8)) {
            let path = format!("/{}", segments.join("/"));
            let once = template(&path).into_owned();
            let twice = template(&once);
            prop_assert_eq!(twice.as_ref(), once.as_str());
            prop_assert!(matches!(twice, Cow::Borrowed(_)));
        }

        #[test]
        fn template_keeps_segment_count(segments in prop::collection::vec(segment(), 0..8)) {
            let path = segments.join("/");
            let templated = template(&path);
            prop_assert_eq!(templated.split('/').count(), path.split('/').count());
        }

        #[test]
        fn normalize_path_is_idempotent(raw in "\\PC{0,40}") {
            let once = normalize_path(&raw);
            prop_assert_eq!(normalize_path(once), once);
        }
    }
}
