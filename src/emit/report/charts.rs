//! Inline SVG charts. Colours come from the page's style sheet (`fill-critical`
//! and so on), and every bar carries its number as text, so no chart depends on
//! colour alone.

use super::html::Html;
use crate::emit::history::HistoryEntry;
use crate::model::Severity;

/// Severities, most severe first.
pub const SEVERITIES: [Severity; 4] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
];

/// One bar: a label and its counts per severity, most severe first.
pub struct Bar {
    pub label: String,
    pub segments: Vec<(Severity, u64)>,
}

impl Bar {
    fn total(&self) -> u64 {
        self.segments.iter().map(|(_, count)| count).sum()
    }
}

/// Formats a coordinate with one decimal, dropping a trailing `.0`.
fn coordinate(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// Cuts a label to `max` characters, ending it with `…` when cut.
fn shorten(label: &str, max: usize) -> String {
    if label.chars().count() <= max {
        label.to_string()
    } else {
        let mut short: String = label.chars().take(max - 1).collect();
        short.push('…');
        short
    }
}

fn fill_class(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "fill-critical",
        Severity::High => "fill-high",
        Severity::Medium => "fill-medium",
        Severity::Low => "fill-low",
    }
}

fn open_svg(html: &mut Html, width: f64, height: f64, label: &str) {
    html.open(
        "svg",
        &[
            (
                "viewBox",
                &format!("0 0 {} {}", coordinate(width), coordinate(height)),
            ),
            ("width", &coordinate(width)),
            ("height", &coordinate(height)),
            ("role", "img"),
            ("aria-label", label),
        ],
    );
}

fn rect(html: &mut Html, class: &str, x: f64, y: f64, width: f64, height: f64, title: &str) {
    html.open(
        "rect",
        &[
            ("class", class),
            ("x", &coordinate(x)),
            ("y", &coordinate(y)),
            ("width", &coordinate(width)),
            ("height", &coordinate(height)),
        ],
    );
    if !title.is_empty() {
        html.element("title", &[], title);
    }
    html.close("rect");
}

fn text(html: &mut Html, attrs: &[(&'static str, &str)], x: f64, y: f64, content: &str) {
    let x = coordinate(x);
    let y = coordinate(y);
    let mut all: Vec<(&'static str, &str)> = vec![("x", &x), ("y", &y)];
    all.extend_from_slice(attrs);
    html.element("text", &all, content);
}

/// Writes a legend of the severities.
pub fn severity_legend(html: &mut Html) {
    html.open("ul", &[("class", "legend")]);
    for severity in SEVERITIES {
        html.open("li", &[]);
        html.element("span", &[("class", &format!("swatch {severity}"))], "");
        html.text(severity.as_str());
        html.close("li");
    }
    html.close("ul");
}

/// Writes a horizontal bar chart, each bar stacked by severity with its total at
/// the end and each wide enough segment's count inside it.
pub fn bar_chart(html: &mut Html, caption: &str, bars: &[Bar]) {
    const WIDTH: f64 = 580.0;
    const LABEL_WIDTH: f64 = 200.0;
    const NUMBER_SPACE: f64 = 48.0;
    const ROW: f64 = 24.0;
    const BAR: f64 = 17.0;
    const LABEL_CHARS: usize = 30;

    html.open("figure", &[]);
    html.element("figcaption", &[], caption);
    if bars.is_empty() {
        html.element("p", &[("class", "note")], "No findings.");
        html.close("figure");
        return;
    }
    let max = bars.iter().map(Bar::total).max().unwrap_or(1).max(1) as f64;
    let scale = (WIDTH - LABEL_WIDTH - NUMBER_SPACE) / max;
    let height = ROW * bars.len() as f64 + 4.0;
    let summary: Vec<String> = bars
        .iter()
        .map(|bar| format!("{}: {}", bar.label, bar.total()))
        .collect();
    open_svg(
        html,
        WIDTH,
        height,
        &format!("{caption}. {}", summary.join(", ")),
    );
    for (index, bar) in bars.iter().enumerate() {
        let top = 2.0 + ROW * index as f64;
        let middle = top + ROW / 2.0 + 4.0;
        html.open("g", &[]);
        html.element("title", &[], &format!("{}: {}", bar.label, bar.total()));
        text(
            html,
            &[("text-anchor", "end")],
            LABEL_WIDTH - 8.0,
            middle,
            &shorten(&bar.label, LABEL_CHARS),
        );
        let mut x = LABEL_WIDTH;
        for &(severity, count) in &bar.segments {
            if count == 0 {
                continue;
            }
            let width = count as f64 * scale;
            let title = format!("{}: {count} {severity}", bar.label);
            rect(
                html,
                fill_class(severity),
                x,
                top + (ROW - BAR) / 2.0,
                width,
                BAR,
                &title,
            );
            if width >= 18.0 && bar.segments.iter().filter(|(_, n)| *n > 0).count() > 1 {
                let class = if severity == Severity::Critical {
                    "on-critical"
                } else {
                    ""
                };
                text(
                    html,
                    &[("text-anchor", "middle"), ("class", class)],
                    x + width / 2.0,
                    middle,
                    &count.to_string(),
                );
            }
            x += width;
        }
        text(
            html,
            &[("class", "label-strong")],
            x + 6.0,
            middle,
            &bar.total().to_string(),
        );
        html.close("g");
    }
    html.close("svg");
    html.close("figure");
}

/// Rounds `max` up to a step of 1, 2 or 5 times a power of ten, so the axis gets
/// about four gridlines.
fn axis_step(max: u64) -> u64 {
    let raw = (max.max(1) as f64 / 4.0).max(1.0);
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude);
    step as u64
}

/// Writes a column chart of findings by severity, one stacked column per run,
/// critical at the bottom, with each run's total above its column.
pub fn trend_chart(html: &mut Html, caption: &str, entries: &[&HistoryEntry]) {
    const LEFT: f64 = 44.0;
    const TOP: f64 = 20.0;
    const PLOT_HEIGHT: f64 = 170.0;
    const BOTTOM: f64 = 26.0;
    const DATE_WIDTH: f64 = 70.0;

    let slot = if entries.len() <= 8 { 64.0 } else { 36.0 };
    let width = LEFT + slot * entries.len().max(1) as f64 + 16.0;
    let height = TOP + PLOT_HEIGHT + BOTTOM;
    let max = entries.iter().map(|entry| total(entry)).max().unwrap_or(0);
    let step = axis_step(max);
    let top_value = (max.div_ceil(step).max(1)) * step;
    let scale = PLOT_HEIGHT / top_value as f64;
    let summary: Vec<String> = entries
        .iter()
        .map(|entry| format!("{}: {}", date_of(&entry.as_of), total(entry)))
        .collect();

    html.open("figure", &[]);
    html.element("figcaption", &[], caption);
    severity_legend(html);
    open_svg(
        html,
        width,
        height,
        &format!("{caption}. {}", summary.join(", ")),
    );
    let mut value = 0;
    while value <= top_value {
        let y = TOP + PLOT_HEIGHT - value as f64 * scale;
        html.open(
            "line",
            &[
                ("class", if value == 0 { "axis" } else { "grid" }),
                ("x1", &coordinate(LEFT)),
                ("x2", &coordinate(width - 8.0)),
                ("y1", &coordinate(y)),
                ("y2", &coordinate(y)),
            ],
        );
        html.close("line");
        text(
            html,
            &[("text-anchor", "end")],
            LEFT - 6.0,
            y + 4.0,
            &value.to_string(),
        );
        value += step;
    }
    let label_every = (DATE_WIDTH / slot).ceil().max(1.0) as usize;
    let column = (slot * 0.6).min(34.0);
    for (index, entry) in entries.iter().enumerate() {
        let x = LEFT + slot * index as f64 + (slot - column) / 2.0;
        let mut bottom = TOP + PLOT_HEIGHT;
        html.open("g", &[]);
        html.element(
            "title",
            &[],
            &format!(
                "{}: {} findings ({})",
                entry.as_of,
                total(entry),
                SEVERITIES
                    .iter()
                    .map(|severity| format!(
                        "{} {severity}",
                        entry.severity_count(severity.as_str())
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
        for severity in SEVERITIES {
            let count = entry.severity_count(severity.as_str());
            if count == 0 {
                continue;
            }
            let height = count as f64 * scale;
            bottom -= height;
            rect(html, fill_class(severity), x, bottom, column, height, "");
        }
        text(
            html,
            &[("text-anchor", "middle"), ("class", "label-strong")],
            x + column / 2.0,
            bottom - 5.0,
            &total(entry).to_string(),
        );
        let last = index + 1 == entries.len();
        if index % label_every == 0 || last {
            text(
                html,
                &[("text-anchor", "middle")],
                x + column / 2.0,
                TOP + PLOT_HEIGHT + 17.0,
                &date_of(&entry.as_of),
            );
        }
        html.close("g");
    }
    html.close("svg");
    html.close("figure");
}

/// Counts the findings of a history entry over the severities.
fn total(entry: &HistoryEntry) -> u64 {
    SEVERITIES
        .iter()
        .map(|severity| entry.severity_count(severity.as_str()))
        .sum()
}

/// Returns the date part of an RFC 3339 timestamp.
pub fn date_of(timestamp: &str) -> String {
    timestamp.chars().take(10).collect()
}

/// Writes a small column chart of event counts per time bucket, all columns
/// as one SVG path so a chart per identity stays small.
pub fn volume_chart(html: &mut Html, counts: &[u32], caption: &str) {
    const HEIGHT: f64 = 38.0;
    let slot = if counts.len() <= 60 { 5.0 } else { 4.0 };
    let width = slot * counts.len().max(1) as f64;
    let max = counts.iter().copied().max().unwrap_or(0).max(1) as f64;
    open_svg(html, width, HEIGHT + 2.0, caption);
    rect(html, "track", 0.0, 0.0, width, HEIGHT, "");
    let mut path = String::new();
    for (index, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let height = (count as f64 / max * HEIGHT).max(1.5);
        path.push_str(&format!(
            "M{} {}h{}v{}h-{}z",
            coordinate(slot * index as f64),
            coordinate(HEIGHT),
            coordinate(slot - 1.0),
            coordinate(-height),
            coordinate(slot - 1.0),
        ));
    }
    if !path.is_empty() {
        html.open("path", &[("class", "volume"), ("d", &path)]);
        html.close("path");
    }
    html.open(
        "line",
        &[
            ("class", "axis"),
            ("x1", "0"),
            ("x2", &coordinate(width)),
            ("y1", &coordinate(HEIGHT + 0.5)),
            ("y2", &coordinate(HEIGHT + 0.5)),
        ],
    );
    html.close("line");
    html.close("svg");
}

/// Writes a horizontal bar showing `part` of `whole`.
pub fn share_bar(html: &mut Html, part: u64, whole: u64, caption: &str) {
    const WIDTH: f64 = 240.0;
    const HEIGHT: f64 = 14.0;
    let share = if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    };
    open_svg(html, WIDTH, HEIGHT, caption);
    rect(html, "track", 0.0, 0.0, WIDTH, HEIGHT, "");
    if part > 0 {
        rect(
            html,
            "share",
            0.0,
            0.0,
            (WIDTH * share).max(2.0),
            HEIGHT,
            "",
        );
    }
    html.close("svg");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_step_rounds_to_1_2_5() {
        assert_eq!(axis_step(0), 1);
        assert_eq!(axis_step(4), 1);
        assert_eq!(axis_step(12), 5);
        assert_eq!(axis_step(37), 10);
        assert_eq!(axis_step(180), 50);
    }

    #[test]
    fn shorten_marks_cut_labels() {
        assert_eq!(shorten("human-use-of-service-identity", 10), "human-use…");
        assert_eq!(shorten("short", 10), "short");
    }

    #[test]
    fn bar_chart_escapes_labels() {
        let mut html = Html::new();
        bar_chart(
            &mut html,
            "By owner",
            &[Bar {
                label: "<script>".to_string(),
                segments: vec![(Severity::High, 2)],
            }],
        );
        let markup = html.finish();
        assert!(!markup.contains("<script>"));
        assert!(markup.contains("&lt;script&gt;"));
    }
}
