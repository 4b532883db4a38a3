//! Drawing on RGB images without a plotting crate: a colour map, grids of upscaled tiles,
//! straight lines, filled boxes and a tiny 3×5 bitmap font for numbers and labels.

use image::{Rgb, RgbImage};

/// Black.
pub const BLACK: Rgb<u8> = Rgb([0, 0, 0]);
/// White.
pub const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
/// The blue between filter tiles (grey would blend with the weights).
pub const SEPARATOR: Rgb<u8> = Rgb([70, 110, 180]);
/// The grey of axes and between feature-map tiles.
pub const GREY: Rgb<u8> = Rgb([128, 128, 128]);

/// Matplotlib's viridis at nine stops, dark purple (0) to yellow (1).
const VIRIDIS: [[f32; 3]; 9] = [
    [68.0, 1.0, 84.0],
    [72.0, 40.0, 120.0],
    [62.0, 73.0, 137.0],
    [49.0, 104.0, 142.0],
    [38.0, 130.0, 142.0],
    [31.0, 158.0, 137.0],
    [53.0, 183.0, 121.0],
    [109.0, 205.0, 89.0],
    [253.0, 231.0, 37.0],
];

/// The viridis colour of `t` in [0, 1] (clamped), linearly interpolated between stops.
pub fn viridis(t: f32) -> Rgb<u8> {
    let x = t.clamp(0.0, 1.0) * (VIRIDIS.len() - 1) as f32;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f32;
    let c = |k: usize| (VIRIDIS[i][k] + (VIRIDIS[i + 1][k] - VIRIDIS[i][k]) * f).round() as u8;
    Rgb([c(0), c(1), c(2)])
}

/// The grey level of `t` in [0, 1] (clamped).
pub fn grey(t: f32) -> Rgb<u8> {
    let v = (t.clamp(0.0, 1.0) * 255.0).round() as u8;
    Rgb([v, v, v])
}

/// The (min, max) of `v` (0, 0 when empty).
pub fn range(v: &[f32]) -> (f32, f32) {
    let lo = v.iter().copied().fold(f32::INFINITY, f32::min);
    let hi = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 0.0)
    }
}

/// Maps `v` from [lo, hi] to [0, 1]; a constant range maps to 0.5.
pub fn unit(v: f32, (lo, hi): (f32, f32)) -> f32 {
    if hi > lo {
        (v - lo) / (hi - lo)
    } else {
        0.5
    }
}

/// Tiles of `cell` = [height, width] source pixels, each drawn `scale` times larger, in
/// `cols` columns with `gap` pixels between them and around the grid.
#[derive(Debug, Clone, Copy)]
pub struct Grid {
    /// Number of tiles.
    pub count: usize,
    /// Tiles per row.
    pub cols: usize,
    /// Source pixels of a tile, [height, width].
    pub cell: [usize; 2],
    /// Screen pixels per source pixel.
    pub scale: usize,
    /// Pixels between tiles and around the grid.
    pub gap: usize,
}

impl Grid {
    /// `count` tiles of `cell` in `cols` columns, scaled so a tile is about `target` pixels.
    pub fn new(count: usize, cols: usize, cell: [usize; 2], target: usize) -> Self {
        let scale = (target / cell[0].max(cell[1]).max(1)).max(1);
        Self { count, cols: cols.clamp(1, count.max(1)), cell, scale, gap: 2 }
    }

    /// Rows of tiles.
    pub fn rows(&self) -> usize {
        self.count.div_ceil(self.cols).max(1)
    }

    /// The grid's (width, height) in pixels.
    pub fn size(&self) -> (u32, u32) {
        let w = self.cols * (self.cell[1] * self.scale + self.gap) + self.gap;
        let h = self.rows() * (self.cell[0] * self.scale + self.gap) + self.gap;
        (w as u32, h as u32)
    }

    /// The top-left pixel of tile `i` (row-major), with the grid at `(x0, y0)`.
    pub fn origin(&self, i: usize, (x0, y0): (u32, u32)) -> (u32, u32) {
        let (r, c) = (i / self.cols, i % self.cols);
        let x = self.gap + c * (self.cell[1] * self.scale + self.gap);
        let y = self.gap + r * (self.cell[0] * self.scale + self.gap);
        (x0 + x as u32, y0 + y as u32)
    }

    /// Paints tile `i` with `color(y, x)` for each source pixel.
    pub fn paint(&self, img: &mut RgbImage, i: usize, at: (u32, u32), color: impl Fn(usize, usize) -> Rgb<u8>) {
        let (ox, oy) = self.origin(i, at);
        let s = self.scale as u32;
        for y in 0..self.cell[0] {
            for x in 0..self.cell[1] {
                fill(img, (ox + x as u32 * s, oy + y as u32 * s), (s, s), color(y, x));
            }
        }
    }
}

/// A blank image filled with `bg`.
pub fn blank(width: u32, height: u32, bg: Rgb<u8>) -> RgbImage {
    RgbImage::from_pixel(width.max(1), height.max(1), bg)
}

/// Fills the box of `size` at `at`, clipped to the image.
pub fn fill(img: &mut RgbImage, at: (u32, u32), size: (u32, u32), c: Rgb<u8>) {
    for y in at.1..(at.1 + size.1).min(img.height()) {
        for x in at.0..(at.0 + size.0).min(img.width()) {
            img.put_pixel(x, y, c);
        }
    }
}

/// A one-pixel line from `a` to `b` (Bresenham), clipped to the image.
pub fn line(img: &mut RgbImage, a: (i64, i64), b: (i64, i64), c: Rgb<u8>) {
    let (dx, dy) = ((b.0 - a.0).abs(), -(b.1 - a.1).abs());
    let (sx, sy) = ((b.0 - a.0).signum(), (b.1 - a.1).signum());
    let (mut x, mut y, mut err) = (a.0, a.1, dx + dy);
    loop {
        if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
            img.put_pixel(x as u32, y as u32, c);
        }
        if (x, y) == b {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

const GLYPHS: [(char, u16); 46] = [
    ('0', 0b111101101101111),
    ('1', 0b010110010010111),
    ('2', 0b110001010100111),
    ('3', 0b110001010001110),
    ('4', 0b101101111001001),
    ('5', 0b111100110001110),
    ('6', 0b011100111101111),
    ('7', 0b111001010010010),
    ('8', 0b111101111101111),
    ('9', 0b111101111001110),
    ('.', 0b000000000000010),
    ('-', 0b000000111000000),
    ('+', 0b000010111010000),
    (':', 0b000010000010000),
    ('%', 0b101001010100101),
    ('/', 0b001001010100100),
    ('(', 0b010100100100010),
    (')', 0b010001001001010),
    ('=', 0b000111000111000),
    ('_', 0b000000000000111),
    ('a', 0b000011101101011),
    ('b', 0b100110101101110),
    ('c', 0b000011100100011),
    ('d', 0b001011101101011),
    ('e', 0b000010111100011),
    ('f', 0b011100110100100),
    ('g', 0b000011101011110),
    ('h', 0b100110101101101),
    ('i', 0b010000010010010),
    ('j', 0b001000001101010),
    ('k', 0b100101110110101),
    ('l', 0b100100100100011),
    ('m', 0b000111111101101),
    ('n', 0b000110101101101),
    ('o', 0b000010101101010),
    ('p', 0b000110101110100),
    ('q', 0b000011101011001),
    ('r', 0b000011100100100),
    ('s', 0b000011010001110),
    ('t', 0b010111010010011),
    ('u', 0b000101101101011),
    ('v', 0b000101101101010),
    ('w', 0b000101101111111),
    ('x', 0b000101010010101),
    ('y', 0b000101011001110),
    ('z', 0b000111001010111),
];

/// Pixels of one glyph column step at `scale` (3 wide plus a 1-pixel space).
const ADVANCE: u32 = 4;

/// The width in pixels of `s` drawn at `scale`.
pub fn text_width(s: &str, scale: u32) -> u32 {
    (s.chars().count() as u32 * ADVANCE).saturating_sub(1) * scale
}

/// Draws `s` (lower-case letters, digits and `.-+:%/()=_`; others are blank) with its
/// top-left corner at `at`, each font pixel `scale` pixels square.
pub fn text(img: &mut RgbImage, at: (u32, u32), s: &str, scale: u32, c: Rgb<u8>) {
    for (i, ch) in s.chars().enumerate() {
        let Some(&(_, bits)) = GLYPHS.iter().find(|(g, _)| *g == ch.to_ascii_lowercase()) else { continue };
        let x0 = at.0 + i as u32 * ADVANCE * scale;
        for bit in 0..15u32 {
            if bits >> (14 - bit) & 1 == 1 {
                fill(img, (x0 + (bit % 3) * scale, at.1 + (bit / 3) * scale), (scale, scale), c);
            }
        }
    }
}

/// A short label for a number: `0.123`, `12.3`, `1.2e-5`.
pub fn number(v: f32) -> String {
    let a = v.abs();
    match a {
        _ if a == 0.0 => "0".into(),
        _ if !(1e-3..1e4).contains(&a) => format!("{v:.1e}"),
        _ if a >= 100.0 => format!("{v:.0}"),
        _ if a >= 10.0 => format!("{v:.1}"),
        _ => format!("{v:.3}"),
    }
}

/// A whole number's label: `12`.
pub fn number_int(v: f32) -> String {
    format!("{}", v.round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_ends_and_unit_scaling() {
        assert_eq!(viridis(0.0), Rgb([68, 1, 84]));
        assert_eq!(viridis(1.0), Rgb([253, 231, 37]));
        assert_eq!(unit(3.0, (1.0, 5.0)), 0.5);
        assert_eq!(unit(2.0, (2.0, 2.0)), 0.5);
        assert_eq!(range(&[3.0, -1.0, 2.0]), (-1.0, 3.0));
        assert_eq!(number(0.5), "0.500");
        assert_eq!(number(0.00001), "1.0e-5");
    }

    #[test]
    fn grid_layout_and_text() {
        let g = Grid::new(5, 3, [4, 2], 8);
        assert_eq!((g.scale, g.rows()), (2, 2));
        assert_eq!(g.size(), (3 * (4 + 2) + 2, 2 * (8 + 2) + 2));
        assert_eq!(g.origin(4, (0, 0)), (2 + 6, 2 + 10));
        let mut img = blank(20, 8, BLACK);
        text(&mut img, (0, 0), "1", 1, WHITE);
        // "1" is .#. / ##. / .#. / .#. / ###.
        assert_eq!(*img.get_pixel(1, 0), WHITE);
        assert_eq!(*img.get_pixel(0, 0), BLACK);
        assert_eq!(*img.get_pixel(0, 1), WHITE);
        assert_eq!(text_width("10", 2), 14);
    }
}
