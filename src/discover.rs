//! Which files of a folder are the slices, and in what order.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// File extensions read as slices, compared case-insensitively.
pub const SLICE_EXTENSIONS: &[&str] = &["tif", "tiff"];

/// The slice files directly inside `dir`, in natural order of their names (`s2.tif` before
/// `s10.tif`), as scanner software numbers them and CTHarvester sorts them.
///
/// Subfolders (the `.thumbnail` output among them), other files and hidden files are skipped:
/// a name starting with `.` is never a slice, which also keeps out the `._name.tif` companions
/// that macOS leaves on exFAT drives copied from the scanner PC.
pub fn list_slices(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::read(dir, e))?;
    let mut slices = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::read(dir, e))?;
        let path = entry.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if name.starts_with('.') || !is_slice_name(name) {
            continue;
        }
        // Follows symlinks, so a folder of links to slices works.
        if path.is_file() {
            slices.push(path);
        }
    }
    slices.sort_by(|a, b| natord::compare(&file_name(a), &file_name(b)));
    if slices.is_empty() {
        return Err(Error::NoSlices {
            dir: dir.to_path_buf(),
        });
    }
    Ok(slices)
}

fn is_slice_name(name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => SLICE_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known)),
        _ => false,
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_case_insensitive() {
        assert!(is_slice_name("a.tif"));
        assert!(is_slice_name("a.TIFF"));
        assert!(is_slice_name("scan_rec00000001.Tif"));
        assert!(!is_slice_name("a.log"));
        assert!(!is_slice_name("tif"));
        assert!(!is_slice_name("a.tif.tmp"));
    }

    #[test]
    fn natural_order_hidden_and_folders() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["s10.tif", "s2.TIF", "s1.tiff", "._s0.tif", "notes.log"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::create_dir(dir.path().join("sub.tif")).unwrap();
        let names: Vec<String> = list_slices(dir.path())
            .unwrap()
            .iter()
            .map(|p| file_name(p))
            .collect();
        assert_eq!(names, ["s1.tiff", "s2.TIF", "s10.tif"]);
    }

    #[test]
    fn empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = list_slices(dir.path()).unwrap_err();
        assert!(err.to_string().contains("no slice images"), "{err}");
    }
}
