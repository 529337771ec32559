//! Grant pattern matching: the action, path and method patterns of entitlement grants,
//! matched against the actions, request paths and methods seen in tests and logs.

use std::iter::Filter;
use std::str::Split;

use crate::model::endpoint::is_id_segment;

/// Case-insensitive glob over an action name such as `s3:GetObject`.
///
/// `*` matches any run of characters, including none and including `:`. No other character
/// is special. Case folding uses Unicode lower case (`str::to_lowercase`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActionPattern {
    source: String,
    /// Lower-cased text between the `*`s. A single piece means there is no `*`.
    pieces: Vec<String>,
}

impl ActionPattern {
    /// Compiles an action pattern. Surrounding whitespace is trimmed, and every text is valid.
    pub fn new(pattern: &str) -> ActionPattern {
        let source = pattern.trim();
        ActionPattern {
            source: source.to_owned(),
            pieces: split_glob(&source.to_lowercase()),
        }
    }

    /// Returns whether `action` matches, ignoring case.
    pub fn matches(&self, action: &str) -> bool {
        if action.is_ascii() {
            glob_matches(
                &self.pieces,
                action.as_bytes(),
                <[u8]>::eq_ignore_ascii_case,
            )
        } else {
            let lowered = action.to_lowercase();
            glob_matches(&self.pieces, lowered.as_bytes(), <[u8]>::eq)
        }
    }

    /// Returns whether the pattern contains `*`.
    pub fn is_wildcard(&self) -> bool {
        self.pieces.len() > 1
    }

    /// Returns the pattern as given, without surrounding whitespace.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Splits a glob at its `*`s. Empty pieces between consecutive `*`s match nothing and are
/// dropped, but the first and last piece always stay so that the anchors are kept.
fn split_glob(glob: &str) -> Vec<String> {
    let parts: Vec<&str> = glob.split('*').collect();
    let last = parts.len() - 1;
    parts
        .iter()
        .enumerate()
        .filter(|(index, part)| *index == 0 || *index == last || !part.is_empty())
        .map(|(_, part)| (*part).to_owned())
        .collect()
}

/// Matches `text` against the pieces of a `*` glob, comparing bytes with `equal`.
///
/// The first piece must be a prefix and the last a suffix. The middle pieces are found
/// leftmost-first in between, which is exact for globs whose only metacharacter is `*`.
fn glob_matches(pieces: &[String], text: &[u8], equal: fn(&[u8], &[u8]) -> bool) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return text.is_empty();
    };
    let Some((last, middle)) = rest.split_last() else {
        return equal(first.as_bytes(), text);
    };
    let (first, last) = (first.as_bytes(), last.as_bytes());
    if text.len() < first.len() + last.len()
        || !equal(first, &text[..first.len()])
        || !equal(last, &text[text.len() - last.len()..])
    {
        return false;
    }
    let mut window = &text[first.len()..text.len() - last.len()];
    for piece in middle {
        let piece = piece.as_bytes();
        let found = window
            .windows(piece.len())
            .position(|candidate| equal(candidate, piece));
        match found {
            Some(start) => window = &window[start + piece.len()..],
            None => return false,
        }
    }
    true
}

/// One segment of a [`PathPattern`].
#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    /// Text that must equal the path segment exactly, case-sensitively.
    Literal(String),
    /// A segment such as `report-*.csv`, stored as the pieces between its `*`s.
    Glob(Vec<String>),
    /// `*` or `{name}`: exactly one non-empty path segment.
    One,
    /// `**`: zero or more path segments.
    AnyDepth,
}

impl Segment {
    fn parse(segment: &str, pattern: &str) -> Result<Segment, PatternError> {
        let error = |reason: String| PatternError {
            pattern: pattern.to_owned(),
            reason,
        };
        if segment == "**" {
            return Ok(Segment::AnyDepth);
        }
        if segment.contains("**") {
            return Err(error(format!(
                "segment {segment:?} mixes `**` with other text, but `**` must be a whole segment"
            )));
        }
        if has_unclosed_brace(segment) {
            return Err(error(format!(
                "segment {segment:?} has a `{{` without a closing `}}`"
            )));
        }
        if segment == "*" || is_parameter(segment) {
            return Ok(Segment::One);
        }
        if segment.contains('*') {
            return Ok(Segment::Glob(split_glob(segment)));
        }
        Ok(Segment::Literal(segment.to_owned()))
    }

    /// Returns whether this segment, other than `**`, matches one path segment.
    fn matches_one(&self, path_segment: &str) -> bool {
        match self {
            Segment::Literal(text) => text == path_segment,
            Segment::Glob(pieces) => glob_matches(pieces, path_segment.as_bytes(), <[u8]>::eq),
            Segment::One => !path_segment.is_empty(),
            Segment::AnyDepth => false,
        }
    }
}

/// Returns whether `segment` is `{name}` as a whole. Braces within other text, as in
/// `{id}.json`, are literal.
fn is_parameter(segment: &str) -> bool {
    segment.len() >= 2
        && segment.starts_with('{')
        && segment.ends_with('}')
        && !segment[1..segment.len() - 1].contains(['{', '}'])
}

fn has_unclosed_brace(segment: &str) -> bool {
    let mut open = false;
    for c in segment.chars() {
        match c {
            '{' if open => return true,
            '{' => open = true,
            '}' => open = false,
            _ => {}
        }
    }
    open
}

/// Path glob over `/`-separated segments, such as `/v1/orders/{id}/**`.
///
/// `*` and `{name}` match exactly one segment, `**` matches zero or more, and a segment with
/// `*` among other text (`report-*.csv`) is a glob within that segment. Other segments are
/// literal and case-sensitive. Pattern and path both lose their query string, fragment and
/// surrounding whitespace, and empty segments are ignored, so leading, trailing and doubled
/// `/` make no difference. Full URLs are not reduced to their path.
///
/// Endpoint templates are matched as text: the path segment `{id}` is matched by `*`,
/// `{name}` and `**`, but not by a literal such as `42`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathPattern {
    source: String,
    segments: Vec<Segment>,
}

/// Error for a path pattern that [`PathPattern::new`] rejects.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid path pattern {pattern:?}: {reason}")]
pub struct PatternError {
    pattern: String,
    reason: String,
}

impl PatternError {
    /// Returns the rejected pattern.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

type PathSegments<'a> = Filter<Split<'a, char>, fn(&&str) -> bool>;

/// Splits a pattern or path into its non-empty segments, after dropping the query string,
/// fragment and surrounding whitespace.
fn path_segments(text: &str) -> PathSegments<'_> {
    let text = text.trim();
    let without_query = match text.find(['?', '#']) {
        Some(end) => text[..end].trim_end(),
        None => text,
    };
    let is_non_empty: fn(&&str) -> bool = |segment| !segment.is_empty();
    without_query.split('/').filter(is_non_empty)
}

impl PathPattern {
    /// Compiles a path pattern.
    ///
    /// Fails on an empty pattern, a `{` without a closing `}` in the same segment, and `**`
    /// mixed with other text in one segment (`a**`). The root `/` is valid and matches only
    /// the root.
    pub fn new(pattern: &str) -> Result<PathPattern, PatternError> {
        let source = pattern.trim();
        if source.is_empty() {
            return Err(PatternError {
                pattern: pattern.to_owned(),
                reason: "the pattern is empty; use `**` to match every path".to_owned(),
            });
        }
        let segments = path_segments(source)
            .map(|segment| Segment::parse(segment, source))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(PathPattern {
            source: source.to_owned(),
            segments,
        })
    }

    /// Returns whether `path` matches.
    ///
    /// Runs in O(pattern segments × path segments): on a mismatch only the last `**` seen
    /// absorbs one more path segment, which is enough because every other segment kind
    /// matches exactly one path segment.
    pub fn matches(&self, path: &str) -> bool {
        let pattern = &self.segments;
        let mut pattern_index = 0;
        let mut remaining = path_segments(path);
        // Pattern index after the last `**`, and the path where that `**` stopped absorbing.
        let mut last_any_depth: Option<(usize, PathSegments<'_>)> = None;

        loop {
            if matches!(pattern.get(pattern_index), Some(Segment::AnyDepth)) {
                pattern_index += 1;
                last_any_depth = Some((pattern_index, remaining.clone()));
                continue;
            }
            let mut after_next = remaining.clone();
            let Some(path_segment) = after_next.next() else {
                break;
            };
            if pattern
                .get(pattern_index)
                .is_some_and(|segment| segment.matches_one(path_segment))
            {
                pattern_index += 1;
                remaining = after_next;
                continue;
            }
            let Some((resume_index, absorbed_until)) = &mut last_any_depth else {
                return false;
            };
            if absorbed_until.next().is_none() {
                return false;
            }
            pattern_index = *resume_index;
            remaining = absorbed_until.clone();
        }

        pattern[pattern_index..]
            .iter()
            .all(|segment| matches!(segment, Segment::AnyDepth))
    }

    /// Returns whether the pattern contains `*`, `**` or a `{name}` segment.
    pub fn is_wildcard(&self) -> bool {
        self.segments
            .iter()
            .any(|segment| !matches!(segment, Segment::Literal(_)))
    }

    /// Returns whether a literal segment is id-like (per
    /// [`crate::model::endpoint::is_id_segment`]) or a segment is a glob within the segment.
    ///
    /// Such patterns can tell raw paths apart where their endpoint templates cannot, so they
    /// must be matched against raw paths.
    pub fn has_id_like_literal(&self) -> bool {
        self.segments.iter().any(|segment| match segment {
            Segment::Literal(text) => is_id_segment(text),
            Segment::Glob(_) => true,
            Segment::One | Segment::AnyDepth => false,
        })
    }

    /// Returns the pattern as given, without surrounding whitespace.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// HTTP methods a grant covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MethodPattern {
    /// Every method.
    Any,
    /// The listed methods, trimmed and upper-cased.
    List(Vec<String>),
}

impl MethodPattern {
    /// Parses `""` or `"*"` as [`MethodPattern::Any`], and a comma-separated list such as
    /// `"GET, head"` as a list.
    ///
    /// A list that contains `*` is `Any`, and so is a list of only commas and whitespace.
    pub fn new(pattern: &str) -> MethodPattern {
        let methods: Vec<String> = pattern
            .split(',')
            .map(str::trim)
            .filter(|method| !method.is_empty())
            .map(str::to_ascii_uppercase)
            .collect();
        if methods.is_empty() || methods.iter().any(|method| method == "*") {
            MethodPattern::Any
        } else {
            MethodPattern::List(methods)
        }
    }

    /// Returns whether `method` is covered, ignoring case and surrounding whitespace.
    pub fn matches(&self, method: &str) -> bool {
        match self {
            MethodPattern::Any => true,
            MethodPattern::List(methods) => {
                let method = method.trim();
                methods
                    .iter()
                    .any(|listed| listed.eq_ignore_ascii_case(method))
            }
        }
    }

    /// Returns whether every method is covered.
    pub fn is_wildcard(&self) -> bool {
        matches!(self, MethodPattern::Any)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn path_pattern(pattern: &str) -> PathPattern {
        match PathPattern::new(pattern) {
            Ok(compiled) => compiled,
            Err(error) => panic!("{error}"),
        }
    }

    fn path_matches(pattern: &str, path: &str) -> bool {
        path_pattern(pattern).matches(path)
    }

    #[test]
    fn action_exact_ignores_case() {
        let pattern = ActionPattern::new("s3:GetObject");
        assert!(pattern.matches("s3:GetObject"));
        assert!(pattern.matches("S3:GETOBJECT"));
        assert!(pattern.matches("s3:getobject"));
        assert!(!pattern.matches("s3:GetObjectAcl"));
        assert!(!pattern.matches("s3:GetObjec"));
        assert!(!pattern.matches(""));
        assert!(!pattern.is_wildcard());
    }

    #[test]
    fn action_star_suffix() {
        let pattern = ActionPattern::new("orders:*");
        assert!(pattern.matches("Orders:Delete"));
        assert!(pattern.matches("orders:"));
        assert!(pattern.matches("orders:items:list"));
        assert!(!pattern.matches("orders"));
        assert!(!pattern.matches("customers:list"));
        assert!(pattern.is_wildcard());

        let get = ActionPattern::new("s3:Get*");
        assert!(get.matches("s3:GetObject"));
        assert!(get.matches("S3:getbucketpolicy"));
        assert!(!get.matches("s3:PutObject"));
        assert!(!get.matches("ec2:GetConsoleOutput"));
    }

    #[test]
    fn action_star_prefix_middle_and_alone() {
        let any = ActionPattern::new("*");
        assert!(any.matches(""));
        assert!(any.matches("s3:GetObject"));
        assert!(any.is_wildcard());

        let suffix = ActionPattern::new("*:list");
        assert!(suffix.matches("orders:List"));
        assert!(!suffix.matches("orders:listall"));

        let middle = ActionPattern::new("s3:*Object*");
        assert!(middle.matches("s3:GetObject"));
        assert!(middle.matches("s3:PutObjectAcl"));
        assert!(middle.matches("s3:Object"));
        assert!(!middle.matches("s3:ListBucket"));

        let spanning = ActionPattern::new("iam*role");
        assert!(spanning.matches("iam:PassRole"));
        assert!(spanning.matches("IAMROLE"));
        assert!(!spanning.matches("iam:PassRoles"));
    }

    #[test]
    fn action_overlapping_pieces() {
        let pattern = ActionPattern::new("a*ab*b");
        assert!(pattern.matches("aabb"));
        assert!(pattern.matches("axabyb"));
        assert!(!pattern.matches("ab"));
        assert!(!pattern.matches("aab"));
        let doubled = ActionPattern::new("a**b");
        assert!(doubled.matches("ab"));
        assert!(doubled.matches("axyb"));
        assert!(!doubled.matches("ba"));
    }

    #[test]
    fn action_other_characters_are_literal() {
        let pattern = ActionPattern::new("s3:Get?bject.[a]");
        assert!(pattern.matches("S3:GET?BJECT.[A]"));
        assert!(!pattern.matches("s3:GetObject.a"));
    }

    #[test]
    fn action_non_ascii_case() {
        let pattern = ActionPattern::new("Straße:Ändern");
        assert!(pattern.matches("straße:ändern"));
        assert!(pattern.matches("STRAßE:ÄNDERN"));
        assert!(!pattern.matches("strasse:andern"));
    }

    #[test]
    fn action_as_str_trims() {
        assert_eq!(ActionPattern::new("  s3:Get* ").as_str(), "s3:Get*");
        assert!(ActionPattern::new(" s3:Get* ").matches("s3:GetObject"));
    }

    #[test]
    fn path_literal() {
        assert!(path_matches("/v1/orders/42", "/v1/orders/42"));
        assert!(!path_matches("/v1/orders/43", "/v1/orders/42"));
        assert!(!path_matches("/v1/orders", "/v1/orders/42"));
        assert!(!path_matches("/v1/orders/42", "/v1/orders"));
        assert!(!path_matches("/v1/Orders", "/v1/orders"));
        assert!(!path_pattern("/v1/orders/42").is_wildcard());
    }

    #[test]
    fn path_normalization() {
        assert!(path_matches("v1/items", "/v1/items"));
        assert!(path_matches("/v1/items", "v1/items"));
        assert!(path_matches("/v1/items/", "/v1/items"));
        assert!(path_matches("/v1/items", "/v1/items/"));
        assert!(path_matches("/v1/items", "/v1/items?limit=5"));
        assert!(path_matches("/v1/items", "/v1/items#x"));
        assert!(path_matches("/v1/items?ignored", "/v1/items"));
        assert!(path_matches("/v1/items", "  /v1/items  "));
        assert!(path_matches("/v1/items", "/v1//items"));
    }

    #[test]
    fn path_root() {
        assert!(path_matches("/", "/"));
        assert!(path_matches("/", ""));
        assert!(path_matches("/", "/?q=1"));
        assert!(!path_matches("/", "/v1"));
    }

    #[test]
    fn path_single_segment_wildcards() {
        assert!(path_matches("/v1/orders/*", "/v1/orders/42"));
        assert!(path_matches("/v1/orders/{id}", "/v1/orders/42"));
        assert!(path_matches("/v1/*/items", "/v1/orders/items"));
        assert!(!path_matches("/v1/orders/*", "/v1/orders"));
        assert!(!path_matches("/v1/orders/{id}", "/v1/orders"));
        assert!(!path_matches("/v1/orders/{id}", "/v1/orders/"));
        assert!(!path_matches("/v1/orders/*", "/v1/orders/42/items"));
        assert!(!path_matches("/v1/orders/{id}", "/v1/orders/42/items"));
    }

    #[test]
    fn path_any_depth_at_end() {
        let pattern = path_pattern("/v1/**");
        assert!(pattern.matches("/v1"));
        assert!(pattern.matches("/v1/orders"));
        assert!(pattern.matches("/v1/orders/42/items"));
        assert!(!pattern.matches("/v2/orders"));
        assert!(!pattern.matches("/"));
    }

    #[test]
    fn path_any_depth_at_start() {
        let pattern = path_pattern("**/items");
        assert!(pattern.matches("/items"));
        assert!(pattern.matches("/v1/items"));
        assert!(pattern.matches("/v1/orders/42/items"));
        assert!(!pattern.matches("/v1/items/7"));
        assert!(!pattern.matches("/"));
    }

    #[test]
    fn path_any_depth_in_middle() {
        let pattern = path_pattern("/v1/**/items");
        assert!(pattern.matches("/v1/items"));
        assert!(pattern.matches("/v1/orders/items"));
        assert!(pattern.matches("/v1/orders/42/items"));
        assert!(pattern.matches("/v1/items/items"));
        assert!(!pattern.matches("/v1/items/7"));
        assert!(!pattern.matches("/v2/items"));
    }

    #[test]
    fn path_any_depth_several_times() {
        let pattern = path_pattern("/**/orders/**/items/*");
        assert!(pattern.matches("/orders/items/1"));
        assert!(pattern.matches("/v1/orders/42/items/1"));
        assert!(pattern.matches("/a/b/orders/c/d/items/x"));
        assert!(pattern.matches("/orders/orders/items/items/1"));
        assert!(!pattern.matches("/orders/items"));
        assert!(!pattern.matches("/v1/items/orders/1"));

        let only = path_pattern("**/**");
        assert!(only.matches("/"));
        assert!(only.matches("/a/b/c"));
    }

    #[test]
    fn path_any_depth_needs_no_exponential_time() {
        let pattern = path_pattern(&format!("{}b", "**/a/".repeat(20)));
        let path = "/a".repeat(60);
        let started = std::time::Instant::now();
        assert!(!pattern.matches(&path));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn path_glob_within_segment() {
        let pattern = path_pattern("/reports/report-*.csv");
        assert!(pattern.matches("/reports/report-2026.csv"));
        assert!(pattern.matches("/reports/report-.csv"));
        assert!(!pattern.matches("/reports/report-2026.json"));
        assert!(!pattern.matches("/reports/Report-2026.csv"));
        assert!(!pattern.matches("/reports/sub/report-2026.csv"));
        assert!(pattern.is_wildcard());

        let prefix = path_pattern("/v1/user*");
        assert!(prefix.matches("/v1/users"));
        assert!(prefix.matches("/v1/user"));
        assert!(!prefix.matches("/v1/users/7"));
    }

    #[test]
    fn path_templates_match_as_text() {
        assert!(path_matches("/v1/orders/*", "/v1/orders/{id}"));
        assert!(path_matches("/v1/orders/{orderId}", "/v1/orders/{id}"));
        assert!(path_matches("/v1/**", "/v1/orders/{id}"));
        assert!(path_matches("/v1/orders/{id}", "/v1/orders/{id}"));
        assert!(!path_matches("/v1/orders/42", "/v1/orders/{id}"));
        assert!(!path_matches("/v1/orders/report-*", "/v1/orders/{id}"));
    }

    #[test]
    fn path_braces_inside_text_are_literal() {
        let pattern = path_pattern("/files/{id}.json");
        assert!(pattern.matches("/files/{id}.json"));
        assert!(!pattern.matches("/files/42.json"));
        assert!(!pattern.is_wildcard());
    }

    #[test]
    fn path_pattern_errors() {
        let empty = PathPattern::new("").unwrap_err();
        assert_eq!(empty.pattern(), "");
        assert_eq!(
            empty.to_string(),
            "invalid path pattern \"\": the pattern is empty; use `**` to match every path"
        );
        assert!(PathPattern::new("   ").is_err());

        let brace = PathPattern::new("/v1/{id/items").unwrap_err();
        assert_eq!(
            brace.to_string(),
            "invalid path pattern \"/v1/{id/items\": segment \"{id\" has a `{` without a \
             closing `}`"
        );
        assert!(PathPattern::new("/v1/{{id}").is_err());
        assert!(PathPattern::new("/v1/a{b").is_err());

        let mixed = PathPattern::new("/v1/a**").unwrap_err();
        assert_eq!(
            mixed.to_string(),
            "invalid path pattern \"/v1/a**\": segment \"a**\" mixes `**` with other text, \
             but `**` must be a whole segment"
        );
        assert!(PathPattern::new("/v1/**b").is_err());
        assert!(PathPattern::new("/v1/***").is_err());
    }

    #[test]
    fn path_pattern_accepts_edge_forms() {
        assert!(PathPattern::new("/").is_ok());
        assert!(PathPattern::new("**").is_ok());
        assert!(PathPattern::new("/v1/}").is_ok());
        assert!(PathPattern::new("/v1/{}").is_ok());
        assert_eq!(path_pattern("  /v1/items/ ").as_str(), "/v1/items/");
    }

    #[test]
    fn path_is_wildcard() {
        assert!(path_pattern("/v1/*").is_wildcard());
        assert!(path_pattern("/v1/**").is_wildcard());
        assert!(path_pattern("/v1/{id}").is_wildcard());
        assert!(path_pattern("/v1/a*b").is_wildcard());
        assert!(!path_pattern("/v1/items").is_wildcard());
        assert!(!path_pattern("/").is_wildcard());
    }

    #[test]
    fn path_has_id_like_literal() {
        assert!(path_pattern("/v1/orders/42").has_id_like_literal());
        assert!(
            path_pattern("/v1/users/123e4567-e89b-12d3-a456-426614174000").has_id_like_literal()
        );
        assert!(path_pattern("/v1/blobs/d41d8cd98f00b204e9800998ecf8427e").has_id_like_literal());
        assert!(path_pattern("/v1/reports/report-*.csv").has_id_like_literal());
        assert!(!path_pattern("/v1/orders/{id}").has_id_like_literal());
        assert!(!path_pattern("/v1/orders/*").has_id_like_literal());
        assert!(!path_pattern("/v1/**").has_id_like_literal());
        assert!(!path_pattern("/v1/organizationsettings").has_id_like_literal());
        assert!(!path_pattern("/v1/abcdefghijklmn1").has_id_like_literal());
    }

    #[test]
    fn method_any() {
        assert_eq!(MethodPattern::new(""), MethodPattern::Any);
        assert_eq!(MethodPattern::new("*"), MethodPattern::Any);
        assert_eq!(MethodPattern::new(" * "), MethodPattern::Any);
        assert_eq!(MethodPattern::new("GET,*"), MethodPattern::Any);
        assert_eq!(MethodPattern::new(" , "), MethodPattern::Any);
        assert!(MethodPattern::Any.matches("DELETE"));
        assert!(MethodPattern::Any.is_wildcard());
    }

    #[test]
    fn method_list() {
        let pattern = MethodPattern::new(" get, Head ");
        assert_eq!(
            pattern,
            MethodPattern::List(vec!["GET".to_owned(), "HEAD".to_owned()])
        );
        assert!(pattern.matches("GET"));
        assert!(pattern.matches("get"));
        assert!(pattern.matches(" head "));
        assert!(!pattern.matches("POST"));
        assert!(!pattern.matches(""));
        assert!(!pattern.is_wildcard());
        assert_eq!(
            MethodPattern::new("POST,,PUT"),
            MethodPattern::List(vec!["POST".to_owned(), "PUT".to_owned()])
        );
    }

    /// Reference matcher by plain recursion, exponential but fine for short inputs.
    fn reference_matches(pattern: &[Segment], path: &[&str]) -> bool {
        match pattern.split_first() {
            None => path.is_empty(),
            Some((Segment::AnyDepth, rest)) => {
                (0..=path.len()).any(|skip| reference_matches(rest, &path[skip..]))
            }
            Some((segment, rest)) => match path.split_first() {
                Some((first, path_rest)) => {
                    segment.matches_one(first) && reference_matches(rest, path_rest)
                }
                None => false,
            },
        }
    }

    fn pattern_segment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("**".to_owned()),
            Just("*".to_owned()),
            Just("{id}".to_owned()),
            Just("a*".to_owned()),
            "[ab]",
        ]
    }

    proptest! {
        #[test]
        fn literal_path_matches_itself(
            segments in prop::collection::vec("[A-Za-z0-9._~-]{1,12}", 1..8),
            leading in any::<bool>(),
        ) {
            let path = format!("{}{}", if leading { "/" } else { "" }, segments.join("/"));
            let pattern = PathPattern::new(&path).unwrap();
            prop_assert!(pattern.matches(&path));
            prop_assert!(!pattern.is_wildcard());
        }

        #[test]
        fn any_depth_matches_every_path(path in "\\PC{0,60}") {
            prop_assert!(PathPattern::new("**").unwrap().matches(&path));
            prop_assert!(PathPattern::new("/**/").unwrap().matches(&path));
        }

        #[test]
        fn matcher_agrees_with_reference(
            pattern in prop::collection::vec(pattern_segment(), 1..7),
            path in prop::collection::vec("[ab]{1,2}", 0..7),
        ) {
            let compiled = PathPattern::new(&pattern.join("/")).unwrap();
            let expected = reference_matches(&compiled.segments, &path.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert_eq!(compiled.matches(&path.join("/")), expected);
        }

        #[test]
        fn action_star_matches_everything(action in "\\PC{0,30}") {
            prop_assert!(ActionPattern::new("*").matches(&action));
        }

        #[test]
        fn action_literal_matches_itself_in_any_case(action in "[A-Za-z0-9:._-]{0,30}") {
            let pattern = ActionPattern::new(&action);
            prop_assert!(pattern.matches(&action));
            prop_assert!(pattern.matches(&action.to_uppercase()));
            prop_assert!(pattern.matches(&action.to_lowercase()));
        }
    }
}
