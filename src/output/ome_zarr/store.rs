//! The store zarrs writes through: every file crash-safe, as ctpyramid writes all its outputs
//! (under a temporary name, its space reserved first, then renamed; flushed with `--sync`).
//!
//! zarrs reports a failed `set` as a `StorageError`, a string; the store keeps the first
//! [`Error`] it hit (a full disk: [`Error::Write`] naming the file, exit 3), for the caller to
//! return instead ([`CrashSafeStore::take_error`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use zarrs::storage::{
    Bytes, OffsetBytesIterator, StorageError, StoreKey, StorePrefix, WritableStorageTraits,
};

use crate::error::{Error, Result};
use crate::publish::{write_file, write_file_shared};

use super::metadata::is_metadata;

/// Files under `root`, each written whole and renamed into place.
pub(super) struct CrashSafeStore {
    root: PathBuf,
    /// Flush every file and its folder before and after the rename (`--sync`).
    durable: bool,
    /// The first error a `set` hit.
    error: Mutex<Option<Error>>,
}

impl CrashSafeStore {
    pub(super) fn new(root: &Path, durable: bool) -> CrashSafeStore {
        CrashSafeStore {
            root: root.to_path_buf(),
            durable,
            error: Mutex::new(None),
        }
    }

    /// Writes the file `key` (relative to the root), making its folder (a chunk row's) if
    /// there is none yet. Metadata files are written under a temporary name of this process's
    /// own: other shards of the same build may write the same file, with the same bytes, at
    /// the same time.
    pub(super) fn put(&self, key: &str, bytes: &[u8]) -> Result<()> {
        let path = self.root.join(key);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
        }
        match path.file_name().map(|n| n.to_string_lossy()) {
            Some(name) if is_metadata(&name) => write_file_shared(&path, &[bytes], self.durable),
            _ => write_file(&path, &[bytes], self.durable),
        }
    }

    /// The first error a write through zarrs hit, if any (then forgotten).
    pub(super) fn take_error(&self) -> Option<Error> {
        self.error.lock().ok()?.take()
    }

    fn keep(&self, error: Error) -> StorageError {
        let message = error.to_string();
        if let Ok(mut first) = self.error.lock() {
            first.get_or_insert(error);
        }
        StorageError::Other(message)
    }
}

impl WritableStorageTraits for CrashSafeStore {
    fn set(&self, key: &StoreKey, value: Bytes) -> std::result::Result<(), StorageError> {
        self.put(key.as_str(), &value).map_err(|e| self.keep(e))
    }

    /// Never asked for: chunks are written whole.
    fn set_partial_many(
        &self,
        _key: &StoreKey,
        _values: OffsetBytesIterator,
    ) -> std::result::Result<(), StorageError> {
        Err(StorageError::Unsupported("partial writes".into()))
    }

    fn erase(&self, key: &StoreKey) -> std::result::Result<(), StorageError> {
        let path = self.root.join(key.as_str());
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(self.keep(Error::write(&path, e)))
            }
            _ => Ok(()),
        }
    }

    /// Never asked for: the writer removes a stale array itself.
    fn erase_prefix(&self, _prefix: &StorePrefix) -> std::result::Result<(), StorageError> {
        Err(StorageError::Unsupported("erasing a prefix".into()))
    }

    fn supports_set_partial(&self) -> bool {
        false
    }
}

/// A zarrs failure while writing `path`.
pub(super) fn zarr_error(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::write(path, std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_and_metadata_are_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = CrashSafeStore::new(dir.path(), false);
        store.put("0/.zarray", b"{}").unwrap();
        let key = StoreKey::new("0/3/1/2").unwrap();
        store.set(&key, Bytes::from_static(b"chunk")).unwrap();
        assert_eq!(std::fs::read(dir.path().join("0/3/1/2")).unwrap(), b"chunk");
        assert_eq!(std::fs::read(dir.path().join("0/.zarray")).unwrap(), b"{}");
        let names: Vec<_> = walk(dir.path());
        assert_eq!(names, ["0/.zarray", "0/3/1/2"], "no temporary file left");
        store.erase(&key).unwrap();
        store.erase(&key).unwrap();
        assert!(!dir.path().join("0/3/1/2").exists());
        assert!(store.take_error().is_none());
    }

    #[test]
    fn the_first_error_is_kept_for_the_caller() {
        let dir = tempfile::tempdir().unwrap();
        // A file where the chunk row's folder should be.
        std::fs::write(dir.path().join("0"), b"").unwrap();
        let store = CrashSafeStore::new(dir.path(), false);
        for key in ["0/1/0/0", "0/2/0/0"] {
            let key = StoreKey::new(key).unwrap();
            assert!(store.set(&key, Bytes::from_static(b"x")).is_err());
        }
        let error = store.take_error().unwrap();
        assert_eq!(error.exit_code(), 3);
        let text = error.to_string();
        assert!(text.contains("0/1/0"), "names the first folder: {text}");
        assert!(store.take_error().is_none(), "taken");
    }

    fn walk(root: &Path) -> Vec<String> {
        let mut names = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                match entry.file_type().unwrap().is_dir() {
                    true => dirs.push(entry.path()),
                    false => {
                        let path = entry.path();
                        let relative = path.strip_prefix(root).unwrap();
                        names.push(relative.to_string_lossy().replace('\\', "/"));
                    }
                }
            }
        }
        names.sort();
        names
    }
}
