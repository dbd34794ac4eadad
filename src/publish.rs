//! Crash-safe publishing, the one owner of the rule: a file is written under a hidden
//! temporary name (`.000012.tif.partial`) and renamed to its final name only once every byte
//! is in it, so a crash or a kill leaves either a complete file or none under the final name.
//! Space is reserved for real before any pixel is computed (`fallocate`, not a sparse
//! `set_len`): a full disk is then an error on creation instead of a failed write, or a
//! SIGBUS in a map, halfway through. With `durable`, data and name reach the disk before the
//! file counts as written (a flush per file); without, they are in the page cache, which
//! survives the process being killed but not a power cut.
//!
//! A file that several processes (the shards of one build) may write at once, with the same
//! bytes, gets a temporary name of each process's own ([`write_file_shared`]). Whatever a
//! killed run left under temporary names is removed by the next ([`remove_partial`]).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::platform;

/// Removes the file at its path when dropped, unless kept.
pub struct TemporaryFile {
    path: PathBuf,
    keep: bool,
}

impl Drop for TemporaryFile {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The temporary name of `final_path`: `.<name>.partial` beside it.
pub fn temporary_name(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_path.with_file_name(format!(".{name}.partial"))
}

/// The temporary name of `final_path` for this process alone: `.<name>.<pid>.partial`.
fn shared_temporary_name(final_path: &Path) -> PathBuf {
    let name = final_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    final_path.with_file_name(format!(".{name}.{}.partial", std::process::id()))
}

/// Whether `name` is a temporary name this module gives.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".partial")
}

/// Flushes `file` if `durable` and renames it from its temporary name to `final_path`.
pub fn publish(
    mut tmp: TemporaryFile,
    file: &File,
    final_path: &Path,
    durable: bool,
) -> Result<()> {
    let publish = || -> io::Result<()> {
        if durable {
            file.sync_all()?;
        }
        platform::rename(&tmp.path, final_path)?;
        if durable {
            if let Some(dir) = final_path.parent() {
                platform::sync_dir(dir)?;
            }
        }
        Ok(())
    };
    publish().map_err(|e| Error::write(final_path, e))?;
    tmp.keep = true;
    Ok(())
}

/// Bytes given to each `write`. One `write` of a whole 8 MB file copied it into the page cache
/// at 1.1 s a GiB here (the kernel's copy_folio_from_iter_atomic), 1 MiB writes at 0.37 s.
const WRITE_CHUNK: usize = 1 << 20;

/// Writes `parts` one after another as the file `final_path`, crash-safe: under its
/// temporary name, its space reserved first, then renamed.
pub fn write_file(final_path: &Path, parts: &[&[u8]], durable: bool) -> Result<()> {
    write_file_as(final_path, temporary_name(final_path), parts, durable)
}

/// [`write_file`] for a file other processes (shards) may write at the same time, with the
/// same bytes: under a temporary name of this process's own.
pub fn write_file_shared(final_path: &Path, parts: &[&[u8]], durable: bool) -> Result<()> {
    write_file_as(
        final_path,
        shared_temporary_name(final_path),
        parts,
        durable,
    )
}

fn write_file_as(final_path: &Path, tmp: PathBuf, parts: &[&[u8]], durable: bool) -> Result<()> {
    use std::io::Write;
    let len = parts.iter().map(|p| p.len() as u64).sum();
    let (tmp, file) = create_reserved_at(final_path, tmp, len)?;
    for piece in parts.iter().flat_map(|part| part.chunks(WRITE_CHUNK)) {
        (&file)
            .write_all(piece)
            .map_err(|e| Error::write(final_path, e))?;
    }
    publish(tmp, &file, final_path, durable)
}

/// Creates `final_path`'s temporary file with `len` bytes reserved for real: a full disk
/// fails here, before any work.
pub fn create_reserved(final_path: &Path, len: u64) -> Result<(TemporaryFile, File)> {
    create_reserved_at(final_path, temporary_name(final_path), len)
}

fn create_reserved_at(
    final_path: &Path,
    tmp_path: PathBuf,
    len: u64,
) -> Result<(TemporaryFile, File)> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp_path)
        .map_err(|e| Error::write(&tmp_path, e))?;
    let tmp = TemporaryFile {
        path: tmp_path,
        keep: false,
    };
    platform::reserve(&file, len).map_err(|e| Error::write(final_path, e))?;
    Ok((tmp, file))
}

/// A temporary file for `final_path`, not reserved (its size is not known yet): under its
/// temporary name, or with `part`, `.<name>.<part>.partial` for one of the pieces a file
/// written in several streams is assembled from. Removed when dropped, unless published.
pub fn create_temporary(final_path: &Path, part: Option<&str>) -> Result<(TemporaryFile, File)> {
    let path = match part {
        None => temporary_name(final_path),
        Some(part) => {
            let name = final_path.file_name().unwrap_or_default().to_string_lossy();
            final_path.with_file_name(format!(".{name}.{part}.partial"))
        }
    };
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&path)
        .map_err(|e| Error::write(final_path, e))?;
    Ok((TemporaryFile { path, keep: false }, file))
}

/// Removes `path`; one that is not there is no error.
pub fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::write(path, e)),
        _ => Ok(()),
    }
}

/// Removes the temporary files an earlier run left in `dir` (any temporary name, this
/// process's or another's), and below it if `deep`. A folder that is not there holds none.
pub fn remove_partial(dir: &Path, deep: bool) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if is_temporary(&entry.file_name().to_string_lossy()) {
            std::fs::remove_file(&path).map_err(|e| Error::write(&path, e))?;
        } else if deep && entry.file_type().is_ok_and(|t| t.is_dir()) {
            remove_partial(&path, true)?;
        }
    }
    Ok(())
}

/// Holds an exclusive lock on the output folder until dropped: shards deciding whether the
/// pyramid is complete take turns. No lock file is left (see [`platform::lock_dir`]).
pub fn lock(out_root: &Path) -> Result<platform::DirLock> {
    platform::lock_dir(out_root).map_err(|e| Error::write(out_root, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_published_whole_and_its_temporary_name_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000001.tif");
        write_file(&path, &[b"head", b"tail"], false).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"headtail");
        write_file_shared(&path, &[b"again"], true).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"again");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn leftover_temporary_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("0");
        std::fs::create_dir(&sub).unwrap();
        for name in [".a.tif.partial", ".b.123.partial", "keep.tif", ".hidden"] {
            std::fs::write(sub.join(name), b"x").unwrap();
        }
        remove_partial(dir.path(), false).unwrap();
        assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 4, "not deep");
        remove_partial(dir.path(), true).unwrap();
        let mut left: Vec<String> = std::fs::read_dir(&sub)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, [".hidden", "keep.tif"]);
        remove_if_present(&sub.join("keep.tif")).unwrap();
        remove_if_present(&sub.join("keep.tif")).unwrap();
    }
}
