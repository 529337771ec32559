//! A small HTML writer that escapes every dynamic value. Markup that is not
//! escaped can only come from `&'static str` constants written in this crate, so
//! identities, paths and excerpts from untrusted inputs always end up as text.

use std::borrow::Cow;

/// Escapes `&`, `<`, `>`, `"` and `'`, so the result is safe both as element text
/// and inside a quoted attribute value. This is the report's only escaping
/// function.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// An attribute: a name fixed in the code and a value that is escaped.
pub type Attr<'a> = (&'static str, &'a str);

/// A document being written.
#[derive(Default)]
pub struct Html {
    out: String,
}

impl Html {
    pub fn new() -> Html {
        Html::default()
    }

    /// Returns the document written so far.
    pub fn finish(self) -> String {
        self.out
    }

    /// Appends markup written in the code, such as the style sheet. Never pass
    /// text derived from inputs here: use [`Html::text`].
    pub fn raw(&mut self, markup: &'static str) -> &mut Html {
        self.out.push_str(markup);
        self
    }

    /// Appends text, escaped.
    pub fn text(&mut self, text: &str) -> &mut Html {
        self.out.push_str(&escape(text));
        self
    }

    /// Opens `tag` with escaped attribute values. Also writes void elements such
    /// as `<meta>`, which take no end tag.
    pub fn open(&mut self, tag: &'static str, attrs: &[Attr<'_>]) -> &mut Html {
        self.out.push('<');
        self.out.push_str(tag);
        for (name, value) in attrs {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            self.out.push_str(&escape(value));
            self.out.push('"');
        }
        self.out.push('>');
        self
    }

    pub fn close(&mut self, tag: &'static str) -> &mut Html {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// Writes `<tag attrs>text</tag>`.
    pub fn element(&mut self, tag: &'static str, attrs: &[Attr<'_>], text: &str) -> &mut Html {
        self.open(tag, attrs).text(text).close(tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_text_and_attribute_specials() {
        assert_eq!(
            escape(r#"<script>alert('x') & "y"</script>"#),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }

    #[test]
    fn escape_borrows_plain_text() {
        assert!(matches!(escape("svc-orders"), Cow::Borrowed(_)));
    }

    #[test]
    fn attributes_are_escaped() {
        let mut html = Html::new();
        html.element("a", &[("href", "#x\" onclick=\"y")], "<b>");
        assert_eq!(
            html.finish(),
            "<a href=\"#x&quot; onclick=&quot;y\">&lt;b&gt;</a>"
        );
    }
}
