//! The sample types ctpyramid reads and writes: [`Depth`] names one at run time, [`Sample`] is
//! the Rust type behind it. How samples are averaged is the kernels' business
//! ([`super::kernel::Reduce`]); here is only what a sample is and how its bytes read.

/// Pixel depth of a slice; the pyramid keeps the input's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Depth {
    /// 8-bit unsigned.
    U8,
    /// 16-bit unsigned.
    U16,
}

impl Depth {
    /// Bytes of one sample.
    pub fn bytes(self) -> usize {
        match self {
            Depth::U8 => 1,
            Depth::U16 => 2,
        }
    }

    /// Bits of one sample.
    pub fn bits(self) -> u16 {
        8 * self.bytes() as u16
    }

    /// The numpy name of the sample type (`uint8`, `uint16`), as `pyramid.json` records it.
    pub fn dtype(self) -> &'static str {
        match self {
            Depth::U8 => "uint8",
            Depth::U16 => "uint16",
        }
    }
}

impl std::fmt::Display for Depth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-bit", self.bits())
    }
}

/// A pixel type ctpyramid reads: `u8` or `u16`, in the file's own byte order.
pub trait Sample: bytemuck::Pod + Default + Send + Sync + 'static {
    /// Bits of one sample: what [`Depth::bits`] says of the slice it comes from.
    const BITS: u16;
    /// The value as a `u32`, for color conversion.
    fn widen(self) -> u32;
    /// Callers only pass values that fit, as averages of `Self` values do.
    fn narrow(v: u32) -> Self;
    /// Decodes one sample of the given byte order from `bytes` (exactly `BITS / 8` long).
    fn from_bytes(bytes: &[u8], big_endian: bool) -> Self;
}

impl Sample for u8 {
    const BITS: u16 = 8;
    #[inline(always)]
    fn widen(self) -> u32 {
        u32::from(self)
    }
    #[inline(always)]
    fn narrow(v: u32) -> Self {
        v as u8
    }
    #[inline(always)]
    fn from_bytes(bytes: &[u8], _big_endian: bool) -> Self {
        bytes[0]
    }
}

impl Sample for u16 {
    const BITS: u16 = 16;
    #[inline(always)]
    fn widen(self) -> u32 {
        u32::from(self)
    }
    #[inline(always)]
    fn narrow(v: u32) -> Self {
        v as u16
    }
    #[inline(always)]
    fn from_bytes(bytes: &[u8], big_endian: bool) -> Self {
        let b = [bytes[0], bytes[1]];
        if big_endian {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }
}
