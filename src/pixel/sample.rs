//! The sample types ctpyramid reads and writes: [`Depth`] names one at run time, [`Sample`] is
//! the Rust type behind it, and [`with_sample!`](crate::with_sample) goes from the one to the
//! other. How samples are averaged is the kernels' business ([`super::kernel::Reduce`]); here
//! is only what a sample is and how its bytes read.

/// Sample type of a slice; the pyramid keeps the input's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Depth {
    /// 8-bit unsigned.
    U8,
    /// 16-bit unsigned.
    U16,
    /// 16-bit signed (TIFF SampleFormat 2).
    I16,
    /// 32-bit IEEE float (TIFF SampleFormat 3).
    F32,
}

/// What a TIFF's SampleFormat tag says of its samples, as far as ctpyramid tells them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Unsigned,
    Signed,
    Float,
}

impl Depth {
    /// The sample type of `bits` bits of `kind`; `Err` names the type ctpyramid does not read.
    pub fn of(kind: Kind, bits: u16) -> Result<Depth, String> {
        match (kind, bits) {
            (Kind::Unsigned, 8) => Ok(Depth::U8),
            (Kind::Unsigned, 16) => Ok(Depth::U16),
            (Kind::Signed, 16) => Ok(Depth::I16),
            (Kind::Float, 32) => Ok(Depth::F32),
            (Kind::Unsigned, b) => Err(format!("{b}-bit unsigned integer")),
            (Kind::Signed, b) => Err(format!("{b}-bit signed integer")),
            (Kind::Float, b) => Err(format!("{b}-bit float")),
        }
    }

    /// Bytes of one sample.
    pub fn bytes(self) -> usize {
        match self {
            Depth::U8 => 1,
            Depth::U16 | Depth::I16 => 2,
            Depth::F32 => 4,
        }
    }

    /// Bits of one sample.
    pub fn bits(self) -> u16 {
        8 * self.bytes() as u16
    }

    /// Signed, float or unsigned.
    pub fn kind(self) -> Kind {
        match self {
            Depth::U8 | Depth::U16 => Kind::Unsigned,
            Depth::I16 => Kind::Signed,
            Depth::F32 => Kind::Float,
        }
    }

    /// The numpy name of the sample type (`uint8`, `uint16`, `int16`, `float32`), as
    /// `pyramid.json` records it.
    pub fn dtype(self) -> &'static str {
        match self {
            Depth::U8 => "uint8",
            Depth::U16 => "uint16",
            Depth::I16 => "int16",
            Depth::F32 => "float32",
        }
    }

    /// The types ctpyramid reads, for messages.
    pub const READ: &'static str = "uint8, uint16, int16 and float32";
}

impl std::fmt::Display for Depth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Depth::U8 | Depth::U16 => write!(f, "{}-bit", self.bits()),
            Depth::I16 => f.write_str("signed 16-bit"),
            Depth::F32 => f.write_str("32-bit float"),
        }
    }
}

/// A pixel type ctpyramid reads: `u8`, `u16`, `i16` or `f32`, in the file's own byte order.
pub trait Sample: bytemuck::Pod + Default + Send + Sync + 'static {
    /// The [`Depth`] this type stands for.
    const DEPTH: Depth;
    /// Decodes one sample of the given byte order from `bytes` (exactly `DEPTH.bytes()` long).
    fn from_bytes(bytes: &[u8], big_endian: bool) -> Self;
    /// The gray value of a color pixel: the `image` crate's luma weights, truncated, as
    /// CTHarvester converts (`(2126 r + 7152 g + 722 b) / 10000`).
    fn luma(r: Self, g: Self, b: Self) -> Self;
    /// A palette entry's gray value (palettes are 8-bit).
    fn from_palette(v: u8) -> Self;
    /// The value as an `f64` (exact for every type here), for display ranges.
    fn to_f64(self) -> f64;
}

/// Bytes of one sample as an array, for `from_*_bytes`.
#[inline(always)]
fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(&bytes[..N]);
    a
}

macro_rules! integer_sample {
    ($t:ty, $depth:expr, $wide:ty) => {
        impl Sample for $t {
            const DEPTH: Depth = $depth;
            #[inline(always)]
            fn from_bytes(bytes: &[u8], big_endian: bool) -> Self {
                match big_endian {
                    true => <$t>::from_be_bytes(array(bytes)),
                    false => <$t>::from_le_bytes(array(bytes)),
                }
            }
            #[inline(always)]
            fn luma(r: Self, g: Self, b: Self) -> Self {
                let w = |v: Self| <$wide>::from(v);
                // The weighted mean of three values of `Self` is one too.
                ((2126 * w(r) + 7152 * w(g) + 722 * w(b)) / 10000) as $t
            }
            #[inline(always)]
            fn from_palette(v: u8) -> Self {
                Self::from(v)
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
        }
    };
}

integer_sample!(u8, Depth::U8, u32);
integer_sample!(u16, Depth::U16, u32);
integer_sample!(i16, Depth::I16, i32);

impl Sample for f32 {
    const DEPTH: Depth = Depth::F32;
    #[inline(always)]
    fn from_bytes(bytes: &[u8], big_endian: bool) -> Self {
        match big_endian {
            true => f32::from_be_bytes(array(bytes)),
            false => f32::from_le_bytes(array(bytes)),
        }
    }
    #[inline(always)]
    fn luma(r: Self, g: Self, b: Self) -> Self {
        (2126.0 * r + 7152.0 * g + 722.0 * b) / 10000.0
    }
    #[inline(always)]
    fn from_palette(v: u8) -> Self {
        f32::from(v)
    }
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
}

/// Runs `$body` with `$t` the [`Sample`] type of the [`Depth`] `$depth`: the one place a
/// run-time sample type becomes a compile-time one.
#[macro_export]
#[doc(hidden)]
macro_rules! with_sample {
    ($depth:expr, $t:ident => $body:expr) => {
        match $depth {
            $crate::Depth::U8 => {
                type $t = u8;
                $body
            }
            $crate::Depth::U16 => {
                type $t = u16;
                $body
            }
            $crate::Depth::I16 => {
                type $t = i16;
                $body
            }
            $crate::Depth::F32 => {
                type $t = f32;
                $body
            }
        }
    };
}
