//! The 8-bit loops' arithmetic: eight input bytes of a row in a `u64`, four output pixels in
//! its four 16-bit lanes.
//!
//! Each lane holds one output pixel's sums, and no step carries into the next lane: a lane's
//! byte pair adds to at most 510, two rows and the rounding 2 to at most 1022; the shifts move
//! the low bits of the lane above into a lane's top bits, which the masks clear, leaving
//! values up to 255 as the plain loop's; `p + q + 1` is at most 511.

const BYTES: u64 = 0x00FF_00FF_00FF_00FF;
const TWOS: u64 = 0x0002_0002_0002_0002;
const ONES: u64 = 0x0001_0001_0001_0001;
const LOW14: u64 = 0x3FFF_3FFF_3FFF_3FFF;
const LOW15: u64 = 0x7FFF_7FFF_7FFF_7FFF;

/// Input bytes of each row a block: 16 output pixels (32 measured fastest, against 16 and
/// 64).
const BLOCK: usize = 32;

/// Four output pixels from the words of `K` input rows and the pixels' lanes so far
/// (`lanes`), `BLOCK` bytes of each row at a time; the rest of the row (under a block)
/// by `plain`. Every row is cut to `2 * out.len()` first (a trailing odd column ignored).
#[inline(always)]
pub(super) fn rows<const K: usize>(
    rows: [&[u8]; K],
    out: &mut [u8],
    lanes: impl Fn([u64; K], u64) -> u64,
    plain: impl FnOnce([&[u8]; K], &mut [u8]),
) {
    let n = out.len();
    let rows = rows.map(|r| &r[..2 * n]);
    let mut blocks = out.chunks_exact_mut(BLOCK / 2);
    let mut at = 0;
    for o in &mut blocks {
        let block = rows.map(|r| &r[at..at + BLOCK]);
        for k in 0..BLOCK / 8 {
            let words = block.map(|r| word(r, k));
            let pixels = &mut o[4 * k..4 * k + 4];
            let four = pack(lanes(words, unpack(pixels)));
            pixels.copy_from_slice(&four);
        }
        at += BLOCK;
    }
    plain(rows.map(|r| &r[at..]), blocks.into_remainder());
}

/// Bytes `8k..8k+8` of a row.
#[inline(always)]
fn word(row: &[u8], k: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&row[8 * k..8 * k + 8]);
    u64::from_le_bytes(w)
}

/// `(a+b+c+d+2)>>2` of four 2x2 blocks: two rows' words.
#[inline(always)]
pub(super) fn quads(r0: u64, r1: u64) -> u64 {
    let pairs = |v: u64| (v & BYTES) + ((v >> 8) & BYTES);
    ((pairs(r0) + pairs(r1) + TWOS) >> 2) & LOW14
}

/// `(p+q+1)>>1` lane by lane.
#[inline(always)]
pub(super) fn average(p: u64, q: u64) -> u64 {
    ((p + q + ONES) >> 1) & LOW15
}

/// Lanes `[l0, l1, l2, l3]` (each at most 255) to four bytes: l1 next to l0, l3 next to
/// l2, then both halves.
#[inline(always)]
fn pack(lanes: u64) -> [u8; 4] {
    let x = lanes | (lanes >> 8);
    let four = (x & 0xFFFF) | ((x >> 16) & 0xFFFF_0000);
    (four as u32).to_le_bytes()
}

/// Four bytes to lanes, [`pack`] undone.
#[inline(always)]
fn unpack(pixels: &[u8]) -> u64 {
    let mut four = [0u8; 4];
    four.copy_from_slice(pixels);
    let v = u64::from(u32::from_le_bytes(four));
    (v & 0xFF) | ((v & 0xFF00) << 8) | ((v & 0xFF_0000) << 16) | ((v & 0xFF00_0000) << 24)
}
