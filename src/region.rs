//! A box of a level: half-open ranges of columns, rows and slices ([`Region`]), given as
//! `A..B` (or `A..`, to the end) and checked against the level it is of. Vocabulary for
//! reading and cropping.

use std::ops::Range;

use crate::error::{Error, Result};

/// Parses `A..B` (half-open: A to B-1) or `A..` (A to the end): the CLI's `--x`, `--y`, `--z`
/// and `--slices`.
pub fn parse_range(text: &str) -> std::result::Result<(usize, Option<usize>), String> {
    let bad = || format!("{text:?}: expected A..B (A to B-1) or A.. (A to the end)");
    let (a, b) = text.split_once("..").ok_or_else(bad)?;
    let a = a.trim().parse().map_err(|_| bad())?;
    let b = match b.trim() {
        "" => None,
        b => Some(b.parse().map_err(|_| bad())?),
    };
    Ok((a, b))
}

/// A box of a level, in its pixels and slices: columns `x`, rows `y`, slices `z`, each
/// half-open and not empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Region {
    /// Columns.
    pub x: Range<usize>,
    /// Rows.
    pub y: Range<usize>,
    /// Slices.
    pub z: Range<usize>,
}

/// A box as asked for: each range `(start, end)` (`end` None: to the end), or None for the
/// whole extent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RegionSpec {
    /// Columns.
    pub x: Option<(usize, Option<usize>)>,
    /// Rows.
    pub y: Option<(usize, Option<usize>)>,
    /// Slices.
    pub z: Option<(usize, Option<usize>)>,
}

impl RegionSpec {
    /// The box in a level of `width` x `height` x `slices`, or an error naming the axis
    /// (`x`, `y` or `z`) whose range is reversed, empty or outside the level.
    pub fn resolve(&self, width: usize, height: usize, slices: usize) -> Result<Region> {
        Ok(Region {
            x: axis("x", self.x, width, "columns")?,
            y: axis("y", self.y, height, "rows")?,
            z: axis("z", self.z, slices, "slices")?,
        })
    }
}

/// One axis of a box: `range` within `0..extent`.
fn axis(
    name: &'static str,
    range: Option<(usize, Option<usize>)>,
    extent: usize,
    unit: &str,
) -> Result<Range<usize>> {
    let (a, given) = range.unwrap_or((0, None));
    let b = given.unwrap_or(extent);
    // The value as it was given: `40..` is not `40..37`.
    let value = given.map_or(format!("{a}.."), |b| format!("{a}..{b}"));
    let invalid = |reason: String| Error::invalid(name, value.clone(), reason);
    if given.is_none() && a >= extent {
        return Err(invalid(format!("outside the level's {unit} 0..{extent}")));
    }
    if a > b {
        return Err(invalid("reversed: the start is past the end".into()));
    }
    if a == b {
        return Err(invalid("empty".into()));
    }
    if b > extent {
        return Err(invalid(format!("outside the level's {unit} 0..{extent}")));
    }
    Ok(a..b)
}

impl Region {
    /// Pixels of one slice of the box.
    pub fn slice_pixels(&self) -> usize {
        self.x.len() * self.y.len()
    }

    /// Pixels of the whole box.
    pub fn pixels(&self) -> usize {
        self.slice_pixels() * self.z.len()
    }

    /// `x 0..64, y 10..20, z 0..3`, for messages.
    pub fn describe(&self) -> String {
        let r = |r: &Range<usize>| format!("{}..{}", r.start, r.end);
        format!("x {}, y {}, z {}", r(&self.x), r(&self.y), r(&self.z))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse() {
        assert_eq!(parse_range("8..16"), Ok((8, Some(16))));
        assert_eq!(parse_range(" 8 .. "), Ok((8, None)));
        assert!(parse_range("8-16").is_err());
        assert!(parse_range("..8").is_err());
    }

    #[test]
    fn a_box_is_checked_against_its_level_by_axis() {
        let spec = |x, y, z| RegionSpec { x, y, z };
        let whole = spec(None, None, None).resolve(40, 30, 5).unwrap();
        assert_eq!(
            whole,
            Region {
                x: 0..40,
                y: 0..30,
                z: 0..5
            }
        );
        let edge = spec(Some((39, None)), Some((0, Some(1))), Some((4, Some(5))));
        assert_eq!(edge.resolve(40, 30, 5).unwrap().pixels(), 1);
        let axis_of = |s: RegionSpec| match s.resolve(40, 30, 5) {
            Err(Error::Invalid { option, reason, .. }) => (option, reason),
            other => panic!("{other:?}"),
        };
        assert_eq!(axis_of(spec(Some((5, Some(3))), None, None)).0, "x");
        assert_eq!(axis_of(spec(None, Some((3, Some(3))), None)).1, "empty");
        let (axis, reason) = axis_of(spec(None, None, Some((0, Some(6)))));
        assert_eq!(
            (axis, reason.as_str()),
            ("z", "outside the level's slices 0..5")
        );
    }
}
