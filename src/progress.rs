//! Progress for long reads, shown only on a terminal: a spinner with the bytes
//! of input read so far and the read rate. Under cron (stderr not a terminal)
//! and with `--quiet` nothing is shown, and the per-stage log lines are the only
//! progress output.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

static BAR: OnceLock<ProgressBar> = OnceLock::new();

/// Starts the spinner. Call once, and only when stderr is a terminal and output
/// is not quieted; until then the other functions do nothing.
pub fn enable() {
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {elapsed:>4} read {binary_bytes} of input ({binary_bytes_per_sec})",
    ) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    let _ = BAR.set(bar);
}

/// Counts `bytes` of input read.
pub fn advance(bytes: u64) {
    if let Some(bar) = BAR.get() {
        bar.inc(bytes);
    }
}

/// Removes the spinner from the terminal.
pub fn finish() {
    if let Some(bar) = BAR.get() {
        bar.finish_and_clear();
    }
}

/// A `tracing` writer for stderr that hides the spinner while a log line is
/// written, so lines and spinner do not overwrite each other.
#[derive(Clone, Copy, Debug, Default)]
pub struct StderrWriter;

impl Write for StderrWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match BAR.get() {
            Some(bar) if !bar.is_finished() => {
                bar.suspend(|| std::io::stderr().write_all(buf))?;
                Ok(buf.len())
            }
            _ => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StderrWriter {
    type Writer = StderrWriter;

    fn make_writer(&'a self) -> Self::Writer {
        StderrWriter
    }
}
