//! Writing outputs. Every file is first written in full to a temporary file in
//! the output folder, then all of them are renamed into place, so an interrupted
//! run leaves the previous outputs whole. A lock on the folder keeps two runs
//! from writing at once.

pub mod csv;
pub mod findings;
pub mod history;
pub mod manifest;
pub mod report;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The lock file's name inside the output folder.
pub const LOCK_FILE: &str = ".corroborate.lock";

/// Test hook: when set to a number of seconds, [`OutputDir::commit`] sleeps that
/// long before its first rename, so a test can kill the run mid-commit.
pub const PAUSE_BEFORE_COMMIT_ENV: &str = "CORROBORATE_TEST_PAUSE_BEFORE_COMMIT";

/// A change to the folder that [`OutputDir::commit`] carries out.
enum Staged {
    /// A fully written temporary file that replaces the target.
    Replace(NamedTempFile, PathBuf),
    /// A previous output that this run does not produce.
    Remove(PathBuf),
}

/// An output folder held for one run.
pub struct OutputDir {
    path: PathBuf,
    _lock: File,
    staged: Vec<Staged>,
}

impl OutputDir {
    /// Creates the folder when needed and takes its lock, failing at once when
    /// another run holds it.
    pub fn lock(path: &Path) -> Result<OutputDir> {
        std::fs::create_dir_all(path).map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })?;
        let lock_path = path.join(LOCK_FILE);
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| Error::Write {
                path: lock_path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => {
                remove_stale_temporaries(path);
                Ok(OutputDir {
                    path: path.to_path_buf(),
                    _lock: lock,
                    staged: Vec::new(),
                })
            }
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Locked {
                path: path.to_path_buf(),
            }),
            Err(std::fs::TryLockError::Error(source)) => Err(Error::Write {
                path: lock_path,
                source,
            }),
        }
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `name` to a temporary file with `write`; it replaces the real file
    /// only at [`OutputDir::commit`].
    pub fn stage(
        &mut self,
        name: &str,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<()> {
        let target = self.path.join(name);
        let io_error = |source| Error::Write {
            path: target.clone(),
            source,
        };
        // Temporary files are private (0600) by default; outputs are shared with
        // the team that reads them, so they get the usual 0644 less the umask.
        let prefix = format!(".{name}.");
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o644));
        let temp = builder.tempfile_in(&self.path).map_err(io_error)?;
        {
            let mut writer = BufWriter::new(temp.as_file());
            write(&mut writer).map_err(io_error)?;
            writer.flush().map_err(io_error)?;
        }
        temp.as_file().sync_all().map_err(io_error)?;
        self.staged.push(Staged::Replace(temp, target));
        Ok(())
    }

    /// Removes `name` from the folder at commit, in staged order, when it exists.
    pub fn stage_removal(&mut self, name: &str) {
        self.staged.push(Staged::Remove(self.path.join(name)));
    }

    /// Renames every staged file into place and removes the staged removals, in
    /// the order staged, so the file staged last is replaced last.
    pub fn commit(self) -> Result<()> {
        if let Some(seconds) = std::env::var(PAUSE_BEFORE_COMMIT_ENV)
            .ok()
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        {
            tracing::warn!("{PAUSE_BEFORE_COMMIT_ENV} is set: pausing {seconds} s before commit");
            std::thread::sleep(std::time::Duration::from_secs_f64(seconds));
        }
        for staged in self.staged {
            match staged {
                Staged::Replace(temp, target) => {
                    temp.persist(&target).map_err(|error| Error::Write {
                        path: target.clone(),
                        source: error.error,
                    })?;
                }
                Staged::Remove(target) => match std::fs::remove_file(&target) {
                    Ok(()) => {}
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(source) => {
                        return Err(Error::Write {
                            path: target,
                            source,
                        });
                    }
                },
            }
        }
        if let Ok(folder) = File::open(&self.path) {
            // Makes the renames durable; not every platform can sync a folder.
            let _ = folder.sync_all();
        }
        Ok(())
    }
}

/// Removes the temporary files a killed run left behind (`.NAME.XXXXXX.tmp`, as
/// [`OutputDir::stage`] names them). Only the lock holder calls this, so no
/// other run is writing them. Failures are logged and ignored: a leftover file
/// costs disk space, not correctness.
fn remove_stale_temporaries(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name.starts_with('.')
            && name.ends_with(".tmp")
            && name != LOCK_FILE
            && entry.file_type().is_ok_and(|kind| kind.is_file())
        {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => tracing::info!("removed {name}, left by an interrupted run"),
                Err(error) => {
                    tracing::warn!("failed to remove {name}, left by an interrupted run: {error}")
                }
            }
        }
    }
}
