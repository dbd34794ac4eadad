//! Which files of a folder are the slices, and in what order.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// File extensions read as slices, compared case-insensitively.
pub const SLICE_EXTENSIONS: &[&str] = &["tif", "tiff", "bmp", "png", "jpg", "jpeg"];

/// Which files of the folder are the slices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// A SkyScan reconstruction log's range if the folder holds one (see [`SkyScanLog`]),
    /// else every image file. The default.
    #[default]
    Auto,
    /// Every image file of the folder, ignoring any log.
    All,
    /// `{prefix}{index:0width}.{ext}` for `first..=last`, as CTHarvester's GUI selects them.
    Pattern(Pattern),
}

/// A numbered file name pattern: `CO-1__rec` + `00000010` + `.bmp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    pub prefix: String,
    /// Extension without the dot; matched case-insensitively, `tif` also finding `.tiff`.
    pub ext: String,
    pub first: u64,
    pub last: u64,
    /// Digits of the index, zero-padded.
    pub index_length: usize,
    /// Leave out numbers whose file is missing instead of failing.
    pub skip_missing: bool,
}

/// The slices of a build and how they were chosen.
#[derive(Clone, Debug)]
pub struct Listing {
    pub paths: Vec<PathBuf>,
    /// How the slices were chosen, when not simply every image file: for the user to see.
    pub note: Option<String>,
    /// The SkyScan log used, if any (it also carries the voxel size).
    pub log: Option<SkyScanLog>,
}

/// The slice files of `input` as `selection` says: the file itself if `input` is a file (a
/// multi-page TIFF stack), else files of the folder.
pub fn select(input: &Path, selection: &Selection) -> Result<Listing> {
    let plain = |paths| Listing {
        paths,
        note: None,
        log: None,
    };
    if input.is_file() {
        return Ok(plain(vec![input.to_path_buf()]));
    }
    match selection {
        Selection::All => Ok(plain(list_slices(input)?)),
        Selection::Pattern(pattern) => Ok(Listing {
            note: Some(format!(
                "slices {}{}..{} .{}",
                pattern.prefix, pattern.first, pattern.last, pattern.ext
            )),
            paths: pattern.files(input)?,
            log: None,
        }),
        Selection::Auto => match SkyScanLog::find(input)? {
            None => Ok(plain(list_slices(input)?)),
            Some(log) => {
                let pattern = log.pattern();
                Ok(Listing {
                    paths: pattern.files(input)?,
                    note: Some(format!(
                        "slices {}{:0w$}..{:0w$} as {} says (--all-images to take every image)",
                        pattern.prefix,
                        pattern.first,
                        pattern.last,
                        log.path.display(),
                        w = pattern.index_length
                    )),
                    log: Some(log),
                })
            }
        },
    }
}

/// The slice files of `input` with the default [`Selection::Auto`].
pub fn slices_of(input: &Path) -> Result<Vec<PathBuf>> {
    Ok(select(input, &Selection::Auto)?.paths)
}

impl Pattern {
    /// The files of the pattern in `dir`, in index order. A missing number is an error naming
    /// it (a gap in a CT stack shifts every later slice), unless `skip_missing`.
    pub fn files(&self, dir: &Path) -> Result<Vec<PathBuf>> {
        if self.first > self.last {
            return Err(Error::bad_input(
                dir,
                format!(
                    "first slice {} is after last slice {}",
                    self.first, self.last
                ),
            ));
        }
        // One listing of the folder, looked up case-insensitively: scanner PCs run Windows,
        // where `.BMP` and `.bmp` are the same file.
        let mut by_name = std::collections::HashMap::new();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::read(dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(dir, e))?;
            let name = entry.file_name().to_string_lossy().to_lowercase();
            by_name.insert(name, entry.path());
        }
        let ext = self.ext.trim_start_matches('.').to_lowercase();
        let exts: &[&str] = match ext.as_str() {
            "tif" | "tiff" => &["tif", "tiff"],
            "jpg" | "jpeg" => &["jpg", "jpeg"],
            other => &[other],
        };
        let mut files = Vec::new();
        let mut missing = Vec::new();
        for index in self.first..=self.last {
            let stem = format!("{}{index:0w$}", self.prefix, w = self.index_length).to_lowercase();
            let found = exts
                .iter()
                .find_map(|e| by_name.get(&format!("{stem}.{e}")))
                .filter(|p| p.is_file());
            match found {
                Some(path) => files.push(path.clone()),
                None => missing.push(index),
            }
        }
        if !missing.is_empty() && !self.skip_missing {
            let name = format!(
                "{}{:0w$}.{}",
                self.prefix,
                missing[0],
                self.ext,
                w = self.index_length
            );
            return Err(Error::bad_input(
                &dir.join(name),
                format!(
                    "missing: {} of the {} slices {}..{} do not exist (--skip-missing leaves them out)",
                    missing.len(),
                    self.last - self.first + 1,
                    self.first,
                    self.last
                ),
            ));
        }
        if files.is_empty() {
            return Err(Error::NoSlices {
                dir: dir.to_path_buf(),
            });
        }
        Ok(files)
    }
}

/// The facts of a Bruker SkyScan (NRecon) reconstruction log, `<prefix>.log` beside the
/// slices, that say which files are the slices and how large a voxel is.
#[derive(Clone, Debug, PartialEq)]
pub struct SkyScanLog {
    pub path: PathBuf,
    pub prefix: String,
    pub index_length: usize,
    pub first: u64,
    pub last: u64,
    /// `BMP`, `TIF`, `PNG`, `JPG` as written.
    pub file_type: String,
    /// Voxel edge in micrometres, if given.
    pub pixel_size_um: Option<f64>,
}

impl SkyScanLog {
    /// The one `*_rec.log` of `dir` that describes a reconstruction, if there is exactly one.
    /// Several (two scans in one folder) select nothing: which would be a guess.
    pub fn find(dir: &Path) -> Result<Option<SkyScanLog>> {
        let entries = std::fs::read_dir(dir).map_err(|e| Error::read(dir, e))?;
        let mut logs = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_lowercase();
            if name.ends_with("_rec.log") && !name.starts_with('.') {
                if let Ok(text) = std::fs::read(entry.path()) {
                    if let Some(log) =
                        SkyScanLog::parse(&entry.path(), &String::from_utf8_lossy(&text))
                    {
                        logs.push(log);
                    }
                }
            }
        }
        Ok(if logs.len() == 1 { logs.pop() } else { None })
    }

    /// Reads the keys from the text of a log; `None` if one the slice list needs is missing.
    pub fn parse(path: &Path, text: &str) -> Option<SkyScanLog> {
        let value = |key: &str| {
            text.lines().find_map(|line| {
                let (k, v) = line.split_once('=')?;
                k.trim()
                    .eq_ignore_ascii_case(key)
                    .then(|| v.trim().to_string())
            })
        };
        Some(SkyScanLog {
            path: path.to_path_buf(),
            prefix: value("Filename Prefix")?,
            index_length: value("Filename Index Length")?.parse().ok()?,
            first: value("First Section")?.parse().ok()?,
            last: value("Last Section")?.parse().ok()?,
            file_type: value("Result File Type")?,
            pixel_size_um: value("Pixel Size (um)").and_then(|v| v.parse().ok()),
        })
    }

    pub fn pattern(&self) -> Pattern {
        Pattern {
            prefix: self.prefix.clone(),
            ext: self.file_type.to_lowercase(),
            first: self.first,
            last: self.last,
            index_length: self.index_length,
            skip_missing: false,
        }
    }
}

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

    const LOG: &str = "[System]\r\nScanner=Skyscan1173\r\n[Reconstruction]\r\n\
        Pixel Size (um)=12.50\r\nResult File Type=BMP\r\nFilename Prefix=CO-1__rec\r\n\
        Filename Index Length=8\r\nFirst Section=10\r\nLast Section=12\r\n";

    #[test]
    fn skyscan_log_is_parsed() {
        let log = SkyScanLog::parse(Path::new("x_rec.log"), LOG).unwrap();
        assert_eq!(log.prefix, "CO-1__rec");
        assert_eq!((log.first, log.last, log.index_length), (10, 12, 8));
        assert_eq!(log.file_type, "BMP");
        assert_eq!(log.pixel_size_um, Some(12.5));
        assert!(SkyScanLog::parse(Path::new("x"), "Filename Prefix=a\n").is_none());
    }

    #[test]
    fn log_selects_its_range_and_missing_slices_are_named() {
        let dir = tempfile::tempdir().unwrap();
        for i in 9..=13 {
            std::fs::write(dir.path().join(format!("CO-1__rec{i:08}.BMP")), b"x").unwrap();
        }
        std::fs::write(dir.path().join("CO-1__rec.log"), LOG).unwrap();
        let listing = select(dir.path(), &Selection::Auto).unwrap();
        let names: Vec<String> = listing.paths.iter().map(|p| file_name(p)).collect();
        assert_eq!(
            names,
            [
                "CO-1__rec00000010.BMP",
                "CO-1__rec00000011.BMP",
                "CO-1__rec00000012.BMP"
            ]
        );
        assert!(listing.note.unwrap().contains("CO-1__rec.log"));
        assert_eq!(select(dir.path(), &Selection::All).unwrap().paths.len(), 5);

        std::fs::remove_file(dir.path().join("CO-1__rec00000011.BMP")).unwrap();
        let err = select(dir.path(), &Selection::Auto)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("CO-1__rec00000011") && err.contains("missing: 1 of the 3"),
            "{err}"
        );
        let mut pattern = SkyScanLog::parse(Path::new("x"), LOG).unwrap().pattern();
        pattern.skip_missing = true;
        assert_eq!(pattern.files(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn empty_folder_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = list_slices(dir.path()).unwrap_err();
        assert!(err.to_string().contains("no slice images"), "{err}");
    }
}
