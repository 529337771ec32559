//! Finding input files and opening them: a path may be a file, a folder (every
//! supported file below it) or a glob; a file may be gzip or zstd compressed.
//! Every byte read is hashed for the manifest.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::InputKind;
use crate::error::{Error, Result};

/// The record format of an input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    #[serde(rename = "jsonl")]
    JsonLines,
    Json,
    Parquet,
    Xml,
    Yaml,
    /// Plain text, one record per line, read through a mapping file's pattern.
    Text,
}

impl Format {
    /// The name used in the manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::JsonLines => "jsonl",
            Format::Json => "json",
            Format::Parquet => "parquet",
            Format::Xml => "xml",
            Format::Yaml => "yaml",
            Format::Text => "text",
        }
    }

    fn from_extension(extension: &str) -> Option<Format> {
        match extension.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "ndjson" => Some(Format::JsonLines),
            "json" => Some(Format::Json),
            "parquet" => Some(Format::Parquet),
            "xml" => Some(Format::Xml),
            "yaml" | "yml" => Some(Format::Yaml),
            "log" => Some(Format::Text),
            _ => None,
        }
    }
}

/// The compression wrapped around an input file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// One input file and, once read, what the manifest reports of it.
#[derive(Clone, Debug, Serialize)]
pub struct InputFile {
    pub path: String,
    pub kind: InputKind,
    /// How the records were read: `native`, or the importer's format name such as
    /// `cloudtrail`.
    #[serde(rename = "format")]
    pub import_format: &'static str,
    /// The record syntax of the file itself.
    #[serde(rename = "syntax")]
    pub format: Format,
    /// The mapping file that turned the records into native columns, if one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mapping: Option<String>,
    pub compression: Compression,
    pub sha256: String,
    pub bytes: u64,
    pub rows_read: u64,
    pub rows_rejected: u64,
    /// What the importer could not model, or folded together, in this file.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl InputFile {
    pub(super) fn new(
        kind: InputKind,
        path: &Path,
        format: Format,
        compression: Compression,
    ) -> InputFile {
        InputFile {
            path: path.display().to_string(),
            kind,
            import_format: "native",
            format,
            mapping: None,
            compression,
            sha256: String::new(),
            bytes: 0,
            rows_read: 0,
            rows_rejected: 0,
            warnings: Vec::new(),
        }
    }

    /// The importer's format name, or the record syntax (`csv`, `jsonl`, …) for
    /// a native file.
    pub fn format_label(&self) -> &str {
        if self.import_format == "native" {
            self.format.as_str()
        } else {
            self.import_format
        }
    }

    /// Opens the file through its decompressor and hands the decoded stream to
    /// `read`. The raw bytes are hashed as they pass, and whatever `read` leaves
    /// unread is hashed afterwards, so `sha256` and `bytes` always cover the whole
    /// file.
    pub fn read_with<T>(&mut self, read: impl FnOnce(&mut dyn Read) -> Result<T>) -> Result<T> {
        let path = PathBuf::from(&self.path);
        let file = File::open(&path).map_err(|source| Error::Read {
            path: path.clone(),
            source,
        })?;
        let mut hashing = HashingReader {
            inner: BufReader::with_capacity(1 << 20, file),
            hasher: Sha256::new(),
            bytes: 0,
        };

        // A file of 0 bytes reads as empty whatever its name, as a plain one does,
        // though a decompressor would report it as truncated.
        let empty = hashing
            .inner
            .get_ref()
            .metadata()
            .is_ok_and(|meta| meta.len() == 0);
        let compression = if empty {
            Compression::None
        } else {
            self.compression
        };
        let result = match compression {
            Compression::None => read(&mut hashing),
            Compression::Gzip => read(&mut flate2::read::MultiGzDecoder::new(&mut hashing)),
            Compression::Zstd => match zstd::stream::read::Decoder::new(&mut hashing) {
                Ok(mut decoder) => read(&mut decoder),
                Err(source) => Err(Error::Read {
                    path: path.clone(),
                    source,
                }),
            },
        };

        io::copy(&mut hashing, &mut io::sink()).map_err(|source| Error::Read { path, source })?;
        self.sha256 = hex::encode(hashing.hasher.finalize());
        self.bytes = hashing.bytes;
        result
    }
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        crate::progress::advance(n as u64);
        Ok(n)
    }
}

/// Lists the files behind each path, folder or glob, sorted and without
/// duplicates. A path that names nothing is an error, so a typo in a cron line
/// fails loudly instead of reviewing nothing.
pub fn expand_inputs(kind: InputKind, patterns: &[String]) -> Result<Vec<InputFile>> {
    let mut paths: Vec<PathBuf> = Vec::new();
    for pattern in patterns {
        let path = Path::new(pattern);
        let before = paths.len();
        if path.is_dir() {
            collect_folder(path, &mut paths)?;
        } else if path.is_file() {
            paths.push(path.to_path_buf());
        } else if pattern.contains(['*', '?', '[']) {
            let entries = glob::glob(pattern)
                .map_err(|error| Error::Config(format!("invalid glob `{pattern}`: {error}")))?;
            for entry in entries.flatten() {
                if entry.is_dir() {
                    collect_folder(&entry, &mut paths)?;
                } else if detect(&entry).is_some() {
                    paths.push(entry);
                }
            }
        } else {
            return Err(Error::InputNotFound {
                path: pattern.clone(),
            });
        }
        if paths.len() == before {
            return Err(Error::NoInputFiles {
                pattern: pattern.clone(),
            });
        }
    }
    paths.sort();
    paths.dedup();

    let mut files = Vec::with_capacity(paths.len());
    for path in paths {
        let (format, compression) = match detect(&path) {
            Some(found) => found,
            None => (sniff(&path)?, Compression::None),
        };
        files.push(InputFile::new(kind, &path, format, compression));
    }
    Ok(files)
}

fn collect_folder(folder: &Path, paths: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(folder).map_err(|source| Error::Read {
        path: folder.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| Error::Read {
            path: folder.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        if path.is_dir() {
            collect_folder(&path, paths)?;
        } else if detect(&path).is_some() {
            paths.push(path);
        } else {
            tracing::debug!(path = %path.display(), "skipped: not a supported input file name");
        }
    }
    Ok(())
}

/// Tells format and compression from the file name, e.g. `logs.jsonl.gz`.
pub(super) fn detect(path: &Path) -> Option<(Format, Compression)> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let (stem, compression) = if let Some(stem) = name.strip_suffix(".gz") {
        (stem, Compression::Gzip)
    } else if let Some(stem) = name.strip_suffix(".zst") {
        (stem, Compression::Zstd)
    } else {
        (name.as_str(), Compression::None)
    };
    let extension = Path::new(stem).extension()?.to_str()?;
    Some((Format::from_extension(extension)?, compression))
}

/// Tells the format of a file named explicitly but without a known extension from
/// its first bytes.
fn sniff(path: &Path) -> Result<Format> {
    let mut head = [0u8; 512];
    let mut file = File::open(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let n = file.read(&mut head).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let head = &head[..n];
    if head.starts_with(b"PAR1") {
        return Ok(Format::Parquet);
    }
    match head.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'[') => Ok(Format::Json),
        Some(b'{') => Ok(Format::JsonLines),
        Some(b'<') => Ok(Format::Xml),
        _ if looks_like_yaml(head) => Ok(Format::Yaml),
        _ => Ok(Format::Csv),
    }
}

/// Whether the first bytes look like a YAML document rather than CSV: a `---`
/// document start, or an `apiVersion:` or `kind:` key at the start of a line.
fn looks_like_yaml(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(head);
    text.trim_start().starts_with("---")
        || text
            .lines()
            .any(|line| line.starts_with("apiVersion:") || line.starts_with("kind:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_compressed_names() {
        assert_eq!(
            detect(Path::new("a/logs.jsonl.gz")),
            Some((Format::JsonLines, Compression::Gzip))
        );
        assert_eq!(
            detect(Path::new("x.CSV.zst")),
            Some((Format::Csv, Compression::Zstd))
        );
        assert_eq!(
            detect(Path::new("x.ndjson")),
            Some((Format::JsonLines, Compression::None))
        );
        assert_eq!(
            detect(Path::new("x.parquet")),
            Some((Format::Parquet, Compression::None))
        );
        assert_eq!(detect(Path::new("notes.txt")), None);
        assert_eq!(detect(Path::new("archive.gz")), None);
    }

    #[test]
    fn missing_path_is_an_error() {
        let error = expand_inputs(
            InputKind::Logs,
            &["/nonexistent/corroborate/x.csv".to_string()],
        )
        .unwrap_err();
        assert!(error.to_string().contains("not found"), "{error}");
    }

    #[test]
    fn empty_glob_is_an_error() {
        let folder = tempfile::tempdir().unwrap();
        let pattern = format!("{}/*.csv", folder.path().display());
        let error = expand_inputs(InputKind::Logs, &[pattern]).unwrap_err();
        assert!(
            error.to_string().contains("no supported input files"),
            "{error}"
        );
    }
}
