//! Writing outputs. Every file is first written in full to a temporary file in
//! the output folder, then all of them are renamed into place, so an interrupted
//! run leaves the previous outputs whole. A lock on the folder keeps two runs
//! from writing at once.

pub mod csv;
pub mod findings;
pub mod manifest;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::error::{Error, Result};

/// The lock file's name inside the output folder.
pub const LOCK_FILE: &str = ".corroborate.lock";

/// An output folder held for one run.
pub struct OutputDir {
    path: PathBuf,
    _lock: File,
    staged: Vec<(NamedTempFile, PathBuf)>,
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
            Ok(()) => Ok(OutputDir {
                path: path.to_path_buf(),
                _lock: lock,
                staged: Vec::new(),
            }),
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
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&self.path)
            .map_err(io_error)?;
        {
            let mut writer = BufWriter::new(temp.as_file());
            write(&mut writer).map_err(io_error)?;
            writer.flush().map_err(io_error)?;
        }
        temp.as_file().sync_all().map_err(io_error)?;
        self.staged.push((temp, target));
        Ok(())
    }

    /// Renames every staged file into place, in the order staged.
    pub fn commit(self) -> Result<()> {
        for (temp, target) in self.staged {
            temp.persist(&target).map_err(|error| Error::Write {
                path: target.clone(),
                source: error.error,
            })?;
        }
        if let Ok(folder) = File::open(&self.path) {
            // Makes the renames durable; not every platform can sync a folder.
            let _ = folder.sync_all();
        }
        Ok(())
    }
}
