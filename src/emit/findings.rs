//! `findings.jsonl`, `findings.csv` and `rejects.csv`.

use std::io::Write;

use super::csv::SafeCsv;
use crate::findings::{Finding, FindingKey};
use crate::ingest::Reject;

/// Writes one JSON object per finding, in the given order.
pub fn write_jsonl(findings: &[Finding], out: &mut dyn Write) -> std::io::Result<()> {
    for finding in findings {
        serde_json::to_writer(&mut *out, finding)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The columns of `findings.csv`.
pub fn csv_header() -> Vec<&'static str> {
    let mut header = vec![
        "finding_id",
        "rule",
        "title",
        "severity",
        "status",
        "subject",
    ];
    header.extend(FindingKey::COLUMNS);
    header.extend([
        "owner",
        "first_seen",
        "last_seen",
        "event_count",
        "test_count",
        "frameworks",
        "remediation",
        "evidence",
    ]);
    header
}

/// Writes one row per finding; the evidence column holds the evidence as JSON.
pub fn write_csv(findings: &[Finding], out: &mut dyn Write) -> std::io::Result<()> {
    let mut writer = SafeCsv::new(out);
    writer.row(csv_header())?;
    for finding in findings {
        let mut row: Vec<String> = vec![
            finding.finding_id.clone(),
            finding.rule.clone(),
            finding.title.clone(),
            finding.severity.as_str().to_string(),
            finding.status.as_str().to_string(),
            serde_json::to_value(finding.subject)?
                .as_str()
                .unwrap_or_default()
                .to_string(),
        ];
        row.extend(finding.key.values().into_iter().map(str::to_string));
        row.extend([
            finding.owner.clone(),
            finding.first_seen.clone(),
            finding.last_seen.clone(),
            finding.event_count.to_string(),
            finding.test_count.to_string(),
            finding.frameworks.join(";"),
            finding.remediation.clone(),
            serde_json::to_string(&finding.evidence)?,
        ]);
        writer.row(row)?;
    }
    writer.flush()
}

/// Writes `rejects.csv`: one row per input row that could not be read.
pub fn write_rejects(rejects: &[Reject], out: &mut dyn Write) -> std::io::Result<()> {
    let mut writer = SafeCsv::new(out);
    writer.row(["file", "line", "record", "column", "reason", "value"])?;
    for reject in rejects {
        writer.row([
            reject.file.to_string(),
            reject.line.map(|line| line.to_string()).unwrap_or_default(),
            reject.record.to_string(),
            reject.column.clone(),
            reject.reason.clone(),
            reject.value.clone(),
        ])?;
    }
    writer.flush()
}
