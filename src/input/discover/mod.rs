//! Which files of a folder are the slices, in what order, and why.
//!
//! One rule decides ([`select`]), and says what it decided and what it left out
//! ([`Listing`]), so that `build` and `inspect` print the same lines:
//!
//! 1. a SkyScan reconstruction log in the folder ([`super::skyscan`]) names the slices;
//! 2. without a usable log, CTHarvester's rule: the files of the most common numbered name
//!    `<prefix><digits>.<ext>`, ordered by their number, every number from the first to the
//!    last present (a gap shifts every later slice in z: an error unless `--skip-missing`);
//! 3. names that carry no number: every image file, in natural order.
//!
//! Image files that the rule leaves out are always named, never dropped silently. The folder
//! is listed once (`folder.rs`); the numbered names' rules are in `numbered.rs`.

mod folder;
mod numbered;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::skyscan::{self, LogFile, SkyScanLog};
use crate::error::{Error, Result};
use folder::Folder;
use numbered::most_common_numbered;

/// Which files of the folder are the slices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// A SkyScan reconstruction log's sections if the folder holds one (see [`SkyScanLog`]),
    /// else CTHarvester's rule: the most common numbered name; every image file if no name
    /// carries a number. A number missing from the range is an error. The default.
    #[default]
    Auto,
    /// [`Selection::Auto`], leaving out numbers whose file is missing (`--skip-missing`).
    AutoSkipMissing,
    /// Every image file of the folder in natural order, ignoring any log.
    All,
    /// `{prefix}{index:0width}.{ext}` for `first..=last`, as CTHarvester's GUI selects them.
    Pattern(Pattern),
}

/// What a front end collects a [`Selection`] from: the pattern's five parts (all or none),
/// and the two switches. [`SelectionParts::selection`] is the one place they are combined.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelectionParts {
    /// The pattern's name before the number (`CO-1__rec`).
    pub prefix: Option<String>,
    /// The pattern's extension, without the dot.
    pub ext: Option<String>,
    /// The pattern's first number.
    pub first: Option<u64>,
    /// The pattern's last number, included.
    pub last: Option<u64>,
    /// Digits of the pattern's zero-padded number.
    pub index_length: Option<usize>,
    /// Leave out numbers whose file is missing instead of failing.
    pub skip_missing: bool,
    /// Every image file of the folder, ignoring logs and numbers.
    pub all_images: bool,
}

impl SelectionParts {
    /// The selection the parts make, or an error naming the part that does not fit.
    pub fn selection(self) -> Result<Selection> {
        let SelectionParts {
            prefix,
            ext,
            first,
            last,
            index_length,
            skip_missing,
            all_images,
        } = self;
        match (prefix, ext, first, last, index_length) {
            (Some(_), ..) if all_images => Err(Error::invalid(
                "all_images",
                true,
                "takes every image file: it cannot be combined with a prefix pattern",
            )),
            (Some(prefix), Some(ext), Some(first), Some(last), Some(index_length)) => {
                Ok(Selection::Pattern(Pattern {
                    prefix,
                    ext,
                    first,
                    last,
                    index_length,
                    skip_missing,
                }))
            }
            (None, None, None, None, None) if all_images => Ok(Selection::All),
            (None, None, None, None, None) if skip_missing => Ok(Selection::AutoSkipMissing),
            (None, None, None, None, None) => Ok(Selection::Auto),
            (prefix, ..) => Err(Error::invalid(
                "prefix",
                prefix.unwrap_or_default(),
                "prefix, ext, first, last and index_length select slices together: give all \
                 five or none",
            )),
        }
    }
}

/// A numbered file name pattern: `CO-1__rec` + `00000010` + `.bmp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The name before the number.
    pub prefix: String,
    /// Extension without the dot; matched case-insensitively, `tif` also finding `.tiff`.
    pub ext: String,
    /// The first number.
    pub first: u64,
    /// The last number, included.
    pub last: u64,
    /// Digits of the index, zero-padded.
    pub index_length: usize,
    /// Leave out numbers whose file is missing instead of failing.
    pub skip_missing: bool,
}

/// The slices of a build, how they were chosen and what was left out.
#[derive(Clone, Debug)]
pub struct Listing {
    pub paths: Vec<PathBuf>,
    /// What `build` prints before it starts, one fact a line: the rule and why, the files
    /// left out, what the log and the files disagree on. `None` when every image file of
    /// the folder is a slice and there is nothing more to say.
    pub note: Option<String>,
    /// The rule that chose the slices and why, in one line, always (`inspect` shows it).
    pub rule: String,
    /// Image files of the folder that are not slices, by name, in natural order.
    pub left_out: Vec<String>,
    /// The SkyScan log used, if any (it also carries the voxel size).
    pub log: Option<SkyScanLog>,
    /// The lines of the note after the rule.
    more: Vec<String>,
    /// Every image file of the folder is a slice, by an unremarkable rule.
    plain: bool,
}

impl Listing {
    fn new(paths: Vec<PathBuf>, rule: String, plain: bool) -> Listing {
        Listing {
            paths,
            note: None,
            rule,
            left_out: Vec::new(),
            log: None,
            more: Vec::new(),
            plain,
        }
        .noted()
    }

    /// Names the image files of `folder` that are not slices, and why, in one line.
    fn leaving_out(mut self, folder: &Folder, why: &str) -> Listing {
        let taken: HashSet<&PathBuf> = self.paths.iter().collect();
        self.left_out = folder
            .images
            .iter()
            .filter(|(_, path)| !taken.contains(path))
            .map(|(name, _)| name.clone())
            .collect();
        if !self.left_out.is_empty() {
            self.more.insert(0, left_out_line(&self.left_out, why));
        }
        self.noted()
    }

    fn noted(mut self) -> Listing {
        self.renote();
        self
    }

    fn renote(&mut self) {
        self.note = (!self.plain || !self.more.is_empty()).then(|| self.lines().join("\n"));
    }

    /// The rule, then what the note says after it: what `inspect` prints.
    pub fn lines(&self) -> Vec<String> {
        std::iter::once(self.rule.clone())
            .chain(self.more.iter().cloned())
            .collect()
    }

    /// Checks what the log says against the first slice (`width` x `height`): a line in the
    /// note for each disagreement. The files win: the log may belong to another
    /// reconstruction, and the user is told.
    pub fn check_first(&mut self, width: usize, height: usize) {
        if let Some(log) = &self.log {
            self.more.extend(log.disagreements(width, height));
            self.renote();
        }
    }
}

/// "has" for one, "have" for more.
fn has<N: PartialEq + From<u8>>(n: N) -> &'static str {
    if n == N::from(1) {
        "has"
    } else {
        "have"
    }
}

/// "left out: a.bmp, b.tif and 3 more (why)": the first few names, so the line stays a line.
fn left_out_line(names: &[String], why: &str) -> String {
    const SHOWN: usize = 5;
    let mut list = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        list.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    format!("left out: {list} ({why})")
}

/// The slice files of `input` as `selection` says: the file itself if `input` is a file (a
/// multi-page TIFF stack), else files of the folder.
pub fn select(input: &Path, selection: &Selection) -> Result<Listing> {
    if input.is_file() {
        let rule = format!("the pages of {}", file_name(input));
        return Ok(Listing::new(vec![input.to_path_buf()], rule, true));
    }
    let folder = Folder::read(input)?;
    let skip_missing = match selection {
        Selection::All => {
            return folder.every_image("every image file, in natural order (--all-images)")
        }
        Selection::Pattern(pattern) => return pattern.select(&folder),
        Selection::Auto => false,
        Selection::AutoSkipMissing => true,
    };
    let logs = skyscan::reconstruction_logs(&folder.logs);
    let why_no_log = match logs.as_slice() {
        [] => None,
        [(_, LogFile::Reconstruction(log))] => match by_log(&folder, log.clone(), skip_missing) {
            // A log none of whose slices is here describes another folder (copied along,
            // or the slices renamed since): the files decide.
            Err(_) if by_log(&folder, log.clone(), true).is_err() => Some(format!(
                "{}: none of its slices {} is here: the log is not used",
                file_name(&log.path),
                log.describe()
            )),
            listing => return listing,
        },
        [(_, LogFile::Unusable(reason))] => Some(format!("{reason}: the log is not used")),
        several => Some(format!(
            "{} reconstruction logs ({}): none is used, which one describes the slices would be \
             a guess",
            several.len(),
            several
                .iter()
                .map(|(path, _)| file_name(path))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    let mut listing = most_common_numbered(&folder, skip_missing)?;
    if let Some(why) = why_no_log {
        listing.rule = format!("{why}; {}", listing.rule);
        listing.plain = false;
        listing.renote();
    }
    Ok(listing)
}

/// The sections `log` names, in order.
fn by_log(folder: &Folder, log: SkyScanLog, skip_missing: bool) -> Result<Listing> {
    let name = file_name(&log.path);
    let ext = log.file_type.to_lowercase();
    let (paths, missing) = folder.numbered(
        &log.prefix,
        &ext,
        log.index_length,
        log.sections(),
        skip_missing,
    )?;
    let mut rule = format!("slices {} as {name} says", log.describe());
    if log.step > 1 {
        rule.push_str(&format!(" (Section to Section Step={})", log.step));
    }
    if missing > 0 {
        rule.push_str(&format!(
            "; {missing} of its sections {} no file (left out: --skip-missing)",
            has(missing)
        ));
    }
    let why = format!(
        "not sections {}..{} of {name}; --all-images takes every image",
        log.first, log.last
    );
    let mut listing = Listing::new(paths, rule, false);
    listing.log = Some(log);
    Ok(listing.leaving_out(folder, &why))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
