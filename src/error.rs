//! Every failure names the file it concerns and says why, in one line.

use std::io;
use std::path::{Path, PathBuf};

/// A result whose error is ctpyramid's.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong, each naming the file or the option it concerns: one line for a
/// person, and an exit code for the CLI ([`Error::exit_code`]).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An input file that cannot be used as a slice: not a TIFF, truncated, unsupported...
    #[error("{}: {reason}", path.display())]
    BadInput {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
        /// The option that would get past it, which each front end names as its users
        /// write it (not part of the message).
        hint: Option<Hint>,
    },

    /// A slice that does not match the first one (often two scans in one folder).
    #[error("{}: {reason} (first slice {} is {first})", path.display(), first_path.display())]
    Mismatch {
        /// The slice (a file, or `file, page N`).
        path: PathBuf,
        /// What it is.
        reason: String,
        /// The first slice.
        first_path: PathBuf,
        /// What the first slice is.
        first: String,
    },

    /// A folder without slice images (subfolders are not searched).
    #[error("{}: no slice images (.tif, .tiff, .bmp, .png, .jpg, .jpeg) found; subfolders are not searched", dir.display())]
    NoSlices {
        /// The folder.
        dir: PathBuf,
    },

    #[error("{}: cannot read: {source}", path.display())]
    /// A file that cannot be read (missing, permissions, an I/O error).
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },

    /// An option's value that no build can use, or that the stack or another option rules
    /// out (a misaligned shard range). `option` is the option's name as the library has it
    /// (`slices`, `min_size`): each front end shows it as its own users write it.
    #[error("{option} {value}: {reason}")]
    Invalid {
        /// The option, as the library names it (`min_size`).
        option: &'static str,
        /// Its value as given.
        value: String,
        /// Why it cannot be used.
        reason: String,
    },

    /// A broken invariant inside ctpyramid: a bug, never the input's fault.
    #[error("internal error (a bug in ctpyramid, please report it): {0}")]
    Internal(String),

    /// Stopped on request (Ctrl-C, SIGTERM, a caller's cancel flag) between two output files.
    #[error("cancelled: every output is complete or absent; run again to resume")]
    Cancelled,

    /// Anything that goes wrong on the output side: permissions, a full disk, a failed rename.
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The system's error.
        source: io::Error,
    },
}

/// A way past an [`Error::BadInput`] by an option, for the front ends to name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hint {
    /// Numbers of the selected range have no file: `skip_missing` leaves them out,
    /// `all_images` takes every image file instead.
    SkipMissing,
    /// Two files carry one number: a `prefix` pattern selects the slices by name.
    Prefix,
}

impl Error {
    /// An [`Error::BadInput`] of the file `path`.
    pub fn bad_input(path: &Path, reason: impl Into<String>) -> Self {
        Error::BadInput {
            path: path.to_path_buf(),
            reason: reason.into(),
            hint: None,
        }
    }

    /// The same error with a [`Hint`] (for an [`Error::BadInput`]).
    pub fn with_hint(self, with: Hint) -> Self {
        match self {
            Error::BadInput { path, reason, .. } => Error::BadInput {
                path,
                reason,
                hint: Some(with),
            },
            other => other,
        }
    }

    /// An [`Error::Read`] of `path`.
    pub fn read(path: &Path, source: io::Error) -> Self {
        Error::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    /// An [`Error::Write`] of `path`.
    pub fn write(path: &Path, source: io::Error) -> Self {
        Error::Write {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The same error about page `page` of a multi-page file.
    pub fn in_page(self, page: usize) -> Self {
        match self {
            Error::BadInput { path, reason, hint } => Error::BadInput {
                path,
                reason: format!("page {page}: {reason}"),
                hint,
            },
            other => other,
        }
    }

    /// An [`Error::Invalid`] of `option`.
    pub fn invalid(option: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        Error::Invalid {
            option,
            value: value.to_string(),
            reason: reason.into(),
        }
    }

    /// The process exit code the CLI uses for this error (README, "Exit codes").
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::BadInput { .. }
            | Error::Mismatch { .. }
            | Error::NoSlices { .. }
            | Error::Read { .. } => 1,
            Error::Write { .. } => 3,
            Error::Invalid { .. } => 2,
            // EX_SOFTWARE of sysexits.h.
            Error::Internal(_) => 70,
            // SIGINT's conventional code; the CLI says 143 when SIGTERM was the cause.
            Error::Cancelled => 130,
        }
    }
}
