//! CSV output that is safe to open in a spreadsheet.

use std::borrow::Cow;
use std::io::Write;

/// Neutralises a cell a spreadsheet would run as a formula (starting with `=`,
/// `+`, `-`, `@`, tab or carriage return) by prefixing a single quote.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A CSV writer that neutralises every cell.
pub struct SafeCsv<W: Write> {
    inner: ::csv::Writer<W>,
}

impl<W: Write> SafeCsv<W> {
    pub fn new(writer: W) -> SafeCsv<W> {
        SafeCsv {
            inner: ::csv::WriterBuilder::new()
                .terminator(::csv::Terminator::CRLF)
                .from_writer(writer),
        }
    }

    /// Writes one row.
    pub fn row<I, S>(&mut self, cells: I) -> std::io::Result<()>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let cells: Vec<String> = cells
            .into_iter()
            .map(|cell| neutralize(cell.as_ref()).into_owned())
            .collect();
        self.inner
            .write_record(&cells)
            .map_err(std::io::Error::other)
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralize_formula_starts() {
        for cell in ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"] {
            assert_eq!(neutralize(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn neutralize_leaves_plain_text() {
        for cell in ["svc-orders", "", "a=b", "GET /v1"] {
            assert_eq!(neutralize(cell), cell);
        }
    }

    #[test]
    fn csv_writer_neutralizes_and_quotes() {
        let mut out = Vec::new();
        {
            let mut writer = SafeCsv::new(&mut out);
            writer.row(["=HYPERLINK(\"x\")", "a,b"]).unwrap();
            writer.flush().unwrap();
        }
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"'=HYPERLINK(\"\"x\"\")\",\"a,b\"\r\n"
        );
    }
}
