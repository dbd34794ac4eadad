//! The edge of an input voxel in micrometres, and where it came from.
//!
//! In order: `--voxel-size`, a SkyScan log's `Pixel Size (um)`, then the first slice's own
//! header: an ImageJ description's `unit=` with the pixel width (XResolution, pixels per unit)
//! or its `spacing=`, else XResolution with ResolutionUnit centimetre or inch. A resolution
//! without a unit (ResolutionUnit none or absent, tifffile's default 1/1) is no size: the
//! voxel size is then unknown.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::skyscan::SkyScanLog;

/// What a slice's header says of its physical scale, as stored; [`FileScale::voxel_um`]
/// interprets it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileScale {
    /// The ImageDescription, when it is ImageJ's (`ImageJ=...` lines).
    pub imagej: Option<String>,
    /// XResolution and YResolution: pixels per resolution unit.
    pub x_resolution: Option<f64>,
    pub y_resolution: Option<f64>,
    /// ResolutionUnit: 1 none, 2 inch, 3 centimetre.
    pub unit: Option<u16>,
}

/// How a file's header gave its voxel size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileScaleKind {
    /// An ImageJ description's `unit=` with the pixel width or `spacing=`.
    ImageJ,
    /// XResolution with ResolutionUnit centimetre or inch.
    Resolution,
}

impl FileScale {
    /// The voxel edge in micrometres, how it was found, and the header values it came from
    /// (for the user).
    pub fn voxel_um(&self) -> Option<(f64, FileScaleKind, String)> {
        self.by_imagej().or_else(|| self.by_resolution())
    }

    /// XResolution, if YResolution (when present) says the same: square pixels.
    fn square_resolution(&self) -> Option<f64> {
        let x = self.x_resolution.filter(|x| x.is_finite() && *x > 0.0)?;
        match self.y_resolution {
            Some(y) if (y - x).abs() > x * 1e-6 => None,
            _ => Some(x),
        }
    }

    fn by_imagej(&self) -> Option<(f64, FileScaleKind, String)> {
        let text = self.imagej.as_deref()?;
        let value = |key: &str| {
            text.lines()
                .filter_map(|l| l.split_once('='))
                .find(|(k, _)| k.trim() == key)
                .map(|(_, v)| v.trim())
        };
        let unit = value("unit")?;
        let per_unit = micrometres_per(unit)?;
        let found = match (self.square_resolution(), value("spacing")) {
            (Some(x), _) => Some((per_unit / x, format!("unit={unit}, XResolution {x}"))),
            (None, Some(spacing)) => spacing
                .parse::<f64>()
                .ok()
                .map(|s| (s * per_unit, format!("unit={unit}, spacing={spacing}"))),
            (None, None) => None,
        };
        found
            .filter(|(um, _)| um.is_finite() && *um > 0.0)
            .map(|(um, detail)| (um, FileScaleKind::ImageJ, format!("ImageJ {detail}")))
    }

    fn by_resolution(&self) -> Option<(f64, FileScaleKind, String)> {
        let x = self.square_resolution()?;
        let (per_unit, name) = match self.unit? {
            2 => (25_400.0, "inch"),
            3 => (10_000.0, "centimetre"),
            _ => return None,
        };
        let um = per_unit / x;
        (um.is_finite() && um > 0.0).then(|| {
            (
                um,
                FileScaleKind::Resolution,
                format!("XResolution {x} per {name}"),
            )
        })
    }
}

/// Micrometres in one ImageJ `unit=`; `None` for units that are no length (`pixel`).
fn micrometres_per(unit: &str) -> Option<f64> {
    Some(match unit {
        // ImageJ writes µm as "micron" or escaped as "\u00B5m"; other writers as µm or um.
        "micron" | "microns" | "um" | "\u{b5}m" | "\u{3bc}m" | "\\u00B5m" | "\\u00b5m" => 1.0,
        "nm" | "nanometer" | "nanometre" => 1e-3,
        "mm" | "millimeter" | "millimetre" => 1e3,
        "cm" | "centimeter" | "centimetre" => 1e4,
        "m" | "meter" | "metre" => 1e6,
        "inch" | "inches" | "in" => 25_400.0,
        _ => return None,
    })
}

/// Where a voxel size came from.
#[derive(Clone, Debug, PartialEq)]
pub enum VoxelSource {
    /// `--voxel-size` ([`crate::BuildOptions::voxel_um`]).
    Option,
    /// A SkyScan log's `Pixel Size (um)`.
    Log {
        /// The log.
        file: PathBuf,
    },
    /// The header of the first slice.
    File {
        /// The first slice.
        file: PathBuf,
        /// Which of its header's fields gave it.
        kind: FileScaleKind,
        /// The header values, e.g. `XResolution 800 per centimetre`.
        detail: String,
    },
}

impl VoxelSource {
    /// For the user: `--voxel-size`, `CO-1__rec.log (Pixel Size (um))`...
    pub fn describe(&self) -> String {
        match self {
            VoxelSource::Option => "--voxel-size".into(),
            VoxelSource::Log { file } => format!("{} (Pixel Size (um))", name(file)),
            VoxelSource::File { file, detail, .. } => format!("{} ({detail})", name(file)),
        }
    }

    /// For pyramid.json and `inspect --json`: `{"from": "option" | "log" | "imagej" |
    /// "resolution", "file": name, "detail": ...}`.
    pub fn to_json(&self) -> Value {
        match self {
            VoxelSource::Option => json!({ "from": "option" }),
            VoxelSource::Log { file } => json!({ "from": "log", "file": name(file) }),
            VoxelSource::File { file, kind, detail } => json!({
                "from": match kind {
                    FileScaleKind::ImageJ => "imagej",
                    FileScaleKind::Resolution => "resolution",
                },
                "file": name(file),
                "detail": detail,
            }),
        }
    }
}

fn name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The voxel edge in micrometres and its source, by the precedence of this module's doc:
/// `option`, then `log`, then `first`'s header (`first_scale`).
pub fn resolve(
    option: Option<f64>,
    log: Option<&SkyScanLog>,
    first: &Path,
    first_scale: Option<&FileScale>,
) -> Option<(f64, VoxelSource)> {
    if let Some(um) = option {
        return Some((um, VoxelSource::Option));
    }
    if let Some((um, log)) = log.and_then(|l| Some((l.pixel_size_um?, l))) {
        let file = log.path.clone();
        return Some((um, VoxelSource::Log { file }));
    }
    let (um, kind, detail) = first_scale?.voxel_um()?;
    let file = first.to_path_buf();
    Some((um, VoxelSource::File { file, kind, detail }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn um(scale: FileScale) -> Option<f64> {
        scale.voxel_um().map(|v| v.0)
    }

    #[test]
    fn resolution_needs_a_unit() {
        let cm = FileScale {
            x_resolution: Some(800.0),
            y_resolution: Some(800.0),
            unit: Some(3),
            ..FileScale::default()
        };
        assert_eq!(um(cm.clone()), Some(12.5));
        let inch = FileScale {
            x_resolution: Some(2032.0),
            unit: Some(2),
            ..FileScale::default()
        };
        assert_eq!(um(inch), Some(12.5));
        // tifffile's default: 1/1, no unit.
        let none = FileScale {
            unit: Some(1),
            ..cm.clone()
        };
        assert_eq!(um(none), None);
        assert_eq!(
            um(FileScale {
                unit: None,
                ..cm.clone()
            }),
            None
        );
        // Pixels that are not square have no one edge.
        assert_eq!(
            um(FileScale {
                y_resolution: Some(400.0),
                ..cm
            }),
            None
        );
    }

    #[test]
    fn imagej_unit_with_resolution_or_spacing() {
        let description = |text: &str| FileScale {
            imagej: Some(text.into()),
            ..FileScale::default()
        };
        let spacing = description("ImageJ=1.54f\nimages=5\nslices=5\nunit=micron\nspacing=12.5\n");
        assert_eq!(um(spacing.clone()), Some(12.5));
        let with_resolution = FileScale {
            x_resolution: Some(0.08),
            unit: Some(1),
            ..spacing
        };
        let (edge, kind, detail) = with_resolution.voxel_um().unwrap();
        assert_eq!((edge, kind), (12.5, FileScaleKind::ImageJ));
        assert_eq!(detail, "ImageJ unit=micron, XResolution 0.08");
        assert_eq!(
            um(description("ImageJ=1.11a\nunit=mm\nspacing=0.0125\n")),
            Some(12.5)
        );
        assert_eq!(
            um(description("ImageJ=1.11a\nunit=\\u00B5m\nspacing=3\n")),
            Some(3.0)
        );
        assert_eq!(
            um(description("ImageJ=1.11a\nunit=\u{b5}m\nspacing=3\n")),
            Some(3.0)
        );
        // No length unit, or no size: unknown.
        assert_eq!(
            um(description("ImageJ=1.11a\nunit=pixel\nspacing=3\n")),
            None
        );
        assert_eq!(um(description("ImageJ=1.11a\nspacing=3\n")), None);
        assert_eq!(um(description("ImageJ=1.11a\nunit=micron\n")), None);
    }

    #[test]
    fn precedence_option_log_file() {
        let scale = FileScale {
            x_resolution: Some(800.0),
            unit: Some(3),
            ..FileScale::default()
        };
        let first = Path::new("/d/s0.tif");
        let (edge, source) = resolve(Some(3.0), None, first, Some(&scale)).unwrap();
        assert_eq!((edge, source), (3.0, VoxelSource::Option));
        let (edge, source) = resolve(None, None, first, Some(&scale)).unwrap();
        assert_eq!(edge, 12.5);
        assert_eq!(source.describe(), "s0.tif (XResolution 800 per centimetre)");
        assert_eq!(
            source.to_json(),
            json!({"from": "resolution", "file": "s0.tif", "detail": "XResolution 800 per centimetre"})
        );
        assert_eq!(resolve(None, None, first, None), None);
    }
}
