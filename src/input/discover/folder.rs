//! The folder's entries that selection looks at, listed once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::Listing;
use crate::error::{Error, Hint, Result};
use crate::input::names::SLICE_EXTENSIONS;

/// The entries of a folder that selection looks at, listed once.
pub(super) struct Folder {
    pub(super) dir: PathBuf,
    /// Image files (by extension, case-insensitively), in natural order of their names.
    pub(super) images: Vec<(String, PathBuf)>,
    /// `*.log` files, by name.
    pub(super) logs: Vec<PathBuf>,
    /// Every file by its lowercased name: scanner PCs run Windows, where `.BMP` and `.bmp`
    /// are the same file.
    by_name: HashMap<String, PathBuf>,
}

impl Folder {
    /// Subfolders (the `.thumbnail` output among them), other files and hidden files are
    /// skipped: a name starting with `.` is never a slice, which also keeps out the
    /// `._name.tif` companions that macOS leaves on exFAT drives copied from the scanner PC.
    pub(super) fn read(dir: &Path) -> Result<Folder> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::read(dir, e))?;
        let mut folder = Folder {
            dir: dir.to_path_buf(),
            images: Vec::new(),
            logs: Vec::new(),
            by_name: HashMap::new(),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(dir, e))?;
            let path = entry.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with('.') {
                continue;
            }
            // The type read with the listing (no stat) unless it is a link: a link to a
            // file counts as one, so a folder of links to slices works.
            let is_file = match entry.file_type() {
                Ok(t) if !t.is_symlink() => t.is_file(),
                _ => path.is_file(),
            };
            if !is_file {
                continue;
            }
            let name = name.to_string();
            folder.by_name.insert(name.to_lowercase(), path.clone());
            if is_slice_name(&name) {
                folder.images.push((name, path));
            } else if name.to_ascii_lowercase().ends_with(".log") {
                folder.logs.push(path);
            }
        }
        folder.images.sort_by(|a, b| natord::compare(&a.0, &b.0));
        folder.logs.sort();
        Ok(folder)
    }

    pub(super) fn every_image(&self, rule: &str) -> Result<Listing> {
        if self.images.is_empty() {
            return Err(Error::NoSlices {
                dir: self.dir.clone(),
            });
        }
        let paths = self.images.iter().map(|(_, p)| p.clone()).collect();
        Ok(Listing::new(paths, rule.to_string(), true))
    }

    /// The files `{prefix}{number:0index_length}.{ext}` for `numbers`, in that order, and
    /// how many numbers had no file. A missing one is an error naming it unless
    /// `skip_missing`.
    pub(super) fn numbered(
        &self,
        prefix: &str,
        ext: &str,
        index_length: usize,
        numbers: impl Iterator<Item = u64> + Clone,
        skip_missing: bool,
    ) -> Result<(Vec<PathBuf>, u64)> {
        let ext = ext.trim_start_matches('.').to_lowercase();
        let exts: &[&str] = match ext.as_str() {
            "tif" | "tiff" => &["tif", "tiff"],
            "jpg" | "jpeg" => &["jpg", "jpeg"],
            other => &[other],
        };
        let mut files = Vec::new();
        let mut missing = Vec::new();
        let name = |n: u64| format!("{prefix}{n:0index_length$}");
        for number in numbers.clone() {
            let stem = name(number).to_lowercase();
            let found = exts
                .iter()
                .find_map(|e| self.by_name.get(&format!("{stem}.{e}")));
            match found {
                Some(path) => files.push(path.clone()),
                None => missing.push(number),
            }
        }
        let (first, last) = (numbers.clone().next(), numbers.last());
        if let (Some(&gap), Some(first), Some(last), false) =
            (missing.first(), first, last, skip_missing)
        {
            return Err(Error::bad_input(
                &self.dir.join(format!("{}.{ext}", name(gap))),
                format!(
                    "missing: {} of the {} slices {first}..{last} do not exist",
                    missing.len(),
                    missing.len() + files.len(),
                ),
            )
            .with_hint(Hint::SkipMissing));
        }
        if files.is_empty() {
            return Err(Error::NoSlices {
                dir: self.dir.clone(),
            });
        }
        Ok((files, missing.len() as u64))
    }
}

/// Every image file directly inside `dir`, in natural order of their names (`s2.tif` before
/// `s10.tif`), as scanner software numbers them and CTHarvester sorts them. Subfolders, other
/// files and hidden files (`.name`, macOS's `._name.tif` companions among them) are skipped.
#[cfg(test)]
pub(super) fn list_slices(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(Folder::read(dir)?.every_image("")?.paths)
}

pub(super) fn is_slice_name(name: &str) -> bool {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => SLICE_EXTENSIONS
            .iter()
            .any(|known| ext.eq_ignore_ascii_case(known)),
        _ => false,
    }
}
