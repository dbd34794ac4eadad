//! The store's group: its OME-NGFF multiscale (0.4 in `.zattrs`, 0.5 under `ome` in
//! `zarr.json`) and the OMERO display settings.

use serde::Serialize;

use super::{file, File, Invalid, Number};
use crate::options::{Ngff, OmeZarrOptions};
use crate::pixel::{Depth, Kind};
use crate::plan::Plan;

/// The downsampling, in the `multiscales` metadata.
const METHOD: &str = "2x2x2 mean as CTHarvester's thumbnails: (a+b+c+d+2)>>2 in x and y, then \
                      (p+q+1)>>1 in z; an odd last row, column or slice is halved alone in z, \
                      dropped in x and y";

/// One OME-NGFF multiscale image: the levels as datasets `0`, `1`, ...
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(in crate::output::ome_zarr) struct Multiscale {
    name: String,
    axes: [Axis; 3],
    datasets: Vec<Dataset>,
    r#type: &'static str,
    metadata: Method,
    /// 0.4 only (0.5 has it once, under `ome`).
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<&'static str>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Axis {
    name: &'static str,
    r#type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<&'static str>,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Dataset {
    path: String,
    #[serde(rename = "coordinateTransformations")]
    transforms: [Transform; 2],
}

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Transform {
    Scale { scale: [f64; 3] },
    Translation { translation: [f64; 3] },
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Method {
    description: &'static str,
    method: &'static str,
    version: &'static str,
}

/// OMERO display settings (transitional in OME-NGFF, read by napari and Fiji): one gray
/// channel.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(in crate::output::ome_zarr) struct Omero {
    channels: [Channel; 1],
    rdefs: Rdefs,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Channel {
    label: String,
    color: &'static str,
    active: bool,
    coefficient: u32,
    family: &'static str,
    inverted: bool,
    window: Window,
}

/// The range of the pixels (`start..=end`) within the dtype's (`min..=max`): whole numbers
/// for integer types; for floats, whose range is no display range, `min..=max` is the
/// pixels' too.
#[derive(Serialize, Clone, Copy, Debug, PartialEq)]
struct Window {
    min: Number,
    max: Number,
    start: Number,
    end: Number,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Rdefs {
    model: &'static str,
}

impl Omero {
    /// A gray channel named `label` whose window is `start..=end` (values of `depth`) within
    /// `depth`'s range (a float's range is the window).
    pub(in crate::output::ome_zarr) fn gray(
        label: &str,
        depth: Depth,
        start: f64,
        end: f64,
    ) -> Result<Omero, Invalid> {
        let (min, max) = match depth {
            Depth::U8 => (0.0, f64::from(u8::MAX)),
            Depth::U16 => (0.0, f64::from(u16::MAX)),
            Depth::I16 => (f64::from(i16::MIN), f64::from(i16::MAX)),
            Depth::F32 => (start, end),
        };
        let whole = depth.kind() == Kind::Float || (start.fract() == 0.0 && end.fract() == 0.0);
        let inside = start.is_finite() && end.is_finite() && min <= start && end <= max;
        if !(inside && start <= end && whole) {
            return Err(format!(
                "a display window {start}..={end} outside {min}..={max}"
            ));
        }
        let [min, max, start, end] = [min, max, start, end].map(|v| Number::of(depth, v));
        Ok(Omero {
            channels: [Channel {
                label: label.to_string(),
                color: "FFFFFF",
                active: true,
                coefficient: 1,
                family: "linear",
                inverted: false,
                window: Window {
                    min,
                    max,
                    start,
                    end,
                },
            }],
            rdefs: Rdefs { model: "greyscale" },
        })
    }
}

/// OME-NGFF 0.4 group attributes (`.zattrs`).
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(in crate::output::ome_zarr) struct GroupAttributesV04 {
    multiscales: [Multiscale; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    omero: Option<Omero>,
}

/// A Zarr v2 `.zgroup`.
#[derive(Serialize, Clone, Debug, PartialEq)]
struct ZGroup {
    zarr_format: u8,
}

/// A Zarr v3 group's `zarr.json` with OME-NGFF 0.5 attributes.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub(in crate::output::ome_zarr) struct ZarrJsonGroup {
    zarr_format: u8,
    node_type: &'static str,
    attributes: OmeAttributes,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct OmeAttributes {
    ome: Ome,
}

#[derive(Serialize, Clone, Debug, PartialEq)]
struct Ome {
    version: &'static str,
    multiscales: [Multiscale; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    omero: Option<Omero>,
}

/// The group's metadata: the mark of a complete store.
#[derive(Clone, Debug, PartialEq)]
pub(in crate::output::ome_zarr) enum GroupNode {
    /// OME-NGFF 0.4: `.zgroup`, then `.zattrs`.
    V2(GroupAttributesV04),
    /// OME-NGFF 0.5: `zarr.json`.
    V3(ZarrJsonGroup),
}

impl Multiscale {
    /// Level `L`'s dataset `L`: a scale of `voxel x 2^L` and a translation of
    /// `voxel x (2^L - 1) / 2`, so that the levels overlay exactly (a level-L voxel's centre is
    /// the centre of the 2^L input voxels it averages), from the plan's origin (a crop's). The
    /// voxel is 1 (no unit) when unknown.
    fn new(plan: &Plan, name: &str, ngff: Ngff) -> Multiscale {
        let voxel = plan.voxel_um.unwrap_or(1.0);
        let axis = |name| Axis {
            name,
            r#type: "space",
            unit: plan.voxel_um.map(|_| "micrometer"),
        };
        let datasets = (0..=plan.levels.len())
            .map(|level| {
                let factor = f64::from(1u32 << level.min(31));
                let (scale, shift) = (voxel * factor, voxel * (factor - 1.0) / 2.0);
                Dataset {
                    path: level.to_string(),
                    transforms: [
                        Transform::Scale { scale: [scale; 3] },
                        Transform::Translation {
                            translation: plan.origin.map(|o| o + shift),
                        },
                    ],
                }
            })
            .collect();
        Multiscale {
            name: name.to_string(),
            axes: [axis("z"), axis("y"), axis("x")],
            datasets,
            r#type: "mean",
            metadata: Method {
                description: METHOD,
                method: "ctpyramid",
                version: env!("CARGO_PKG_VERSION"),
            },
            version: (ngff == Ngff::V04).then_some("0.4"),
        }
    }

    /// Scales positive and finite, translations finite: what viewers divide by and add.
    fn validate(&self) -> Result<(), Invalid> {
        for dataset in &self.datasets {
            for transform in &dataset.transforms {
                let ok = match transform {
                    Transform::Scale { scale } => scale.iter().all(|s| s.is_finite() && *s > 0.0),
                    Transform::Translation { translation } => {
                        translation.iter().all(|t| t.is_finite())
                    }
                };
                if !ok {
                    return Err(format!("dataset {}: {transform:?}", dataset.path));
                }
            }
        }
        Ok(())
    }
}

impl GroupNode {
    /// The group of the store of `plan` named `name`, with the `omero` settings if given.
    pub(in crate::output::ome_zarr) fn new(
        plan: &Plan,
        name: &str,
        options: &OmeZarrOptions,
        omero: Option<Omero>,
    ) -> Result<GroupNode, Invalid> {
        let multiscale = Multiscale::new(plan, name, options.ngff);
        multiscale.validate()?;
        Ok(match options.ngff {
            Ngff::V04 => GroupNode::V2(GroupAttributesV04 {
                multiscales: [multiscale],
                omero,
            }),
            Ngff::V05 => GroupNode::V3(ZarrJsonGroup {
                zarr_format: 3,
                node_type: "group",
                attributes: OmeAttributes {
                    ome: Ome {
                        version: "0.5",
                        multiscales: [multiscale],
                        omero,
                    },
                },
            }),
        })
    }

    /// Its files in the order they are written: the last is the mark of a complete store.
    pub(in crate::output::ome_zarr) fn files(&self) -> Result<Vec<File>, Invalid> {
        match self {
            GroupNode::V2(attributes) => Ok(vec![
                file(".zgroup".into(), &ZGroup { zarr_format: 2 })?,
                file(".zattrs".into(), attributes)?,
            ]),
            GroupNode::V3(json) => Ok(vec![file("zarr.json".into(), json)?]),
        }
    }

    /// The key of its last file.
    pub(in crate::output::ome_zarr) fn mark(ngff: Ngff) -> &'static str {
        match ngff {
            Ngff::V04 => ".zattrs",
            Ngff::V05 => "zarr.json",
        }
    }
}
