//! Synthetic 8×8 "digit" glyphs: an image-like classification task the
//! project generates itself (no downloads), deterministic from a seed.
//!
//! Each image is one of ten 5×7 digit bitmaps placed at a random offset in
//! the 8×8 frame (±1 pixel of jitter around the centre), drawn with a random
//! stroke intensity, plus Gaussian pixel noise, clipped to [0, 1].

use super::data::{Dataset, Examples, Split, SplitMix64};

/// Side of the square image.
pub const SIDE: usize = 8;
/// Number of classes (the digits 0–9).
pub const CLASSES: usize = 10;

/// The digits as 5-wide, 7-tall bitmaps (bit 4 = leftmost column).
const FONT: [[u8; 7]; CLASSES] = [
    [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E], // 0
    [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E], // 1
    [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F], // 2
    [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E], // 3
    [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02], // 4
    [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E], // 5
    [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E], // 6
    [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08], // 7
    [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E], // 8
    [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C], // 9
];

/// One glyph of class `digit`, row-major 8×8.
fn render(digit: usize, noise: f64, rng: &mut SplitMix64) -> Vec<f32> {
    // The 5×7 glyph fits the 8×8 frame with 3 columns and 1 row to spare.
    let dx = rng.below(4);
    let dy = rng.below(2);
    let ink = 0.6 + 0.4 * rng.next_f64();
    let mut img = vec![0.0f32; SIDE * SIDE];
    for (r, bits) in FONT[digit].iter().enumerate() {
        for c in 0..5 {
            if bits & (0x10 >> c) != 0 {
                img[(r + dy) * SIDE + c + dx] = ink as f32;
            }
        }
    }
    for px in &mut img {
        *px = (*px as f64 + noise * rng.normal()).clamp(0.0, 1.0) as f32;
    }
    img
}

/// `train` + `test` glyphs with balanced, shuffled classes. Example `i` of
/// the full list is generated from `(seed, i)` alone; the first `train` of
/// the list are the training set.
pub fn glyphs(train: usize, test: usize, noise: f64, seed: u64) -> Dataset {
    let total = train + test;
    let mut labels: Vec<usize> = (0..total).map(|i| i % CLASSES).collect();
    SplitMix64::new(seed ^ 0x6c79_7068).shuffle(&mut labels);
    let mut rng = SplitMix64::new(seed ^ 0x91ff_5eed);
    let mut all = Examples {
        x: Vec::with_capacity(total * SIDE * SIDE),
        y: labels,
    };
    for &digit in &all.y {
        all.x.extend(render(digit, noise, &mut rng));
    }
    let d = SIDE * SIDE;
    Dataset {
        dim: d,
        classes: CLASSES,
        train: Examples {
            x: all.x[..train * d].to_vec(),
            y: all.y[..train].to_vec(),
        },
        test: Examples {
            x: all.x[train * d..].to_vec(),
            y: all.y[train..].to_vec(),
        },
        split: Split {
            index: format!(
                "position in the generated glyph list (glyphs({train}, {test}, noise {noise}, seed {seed}))"
            ),
            train: (0..train).collect(),
            test: (train..total).collect(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_classes_and_determinism() {
        let d = glyphs(100, 50, 0.1, 3);
        assert_eq!((d.dim, d.classes), (64, 10));
        assert_eq!(d.train.x.len(), 100 * 64);
        assert_eq!(d.test.len(), 50);
        assert!(d.train.y.iter().all(|&y| y < 10));
        assert_eq!((0..10).filter(|c| d.train.y.contains(c)).count(), 10);
        assert!(d.train.x.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(d, glyphs(100, 50, 0.1, 3));
        assert_ne!(d.train.x, glyphs(100, 50, 0.1, 4).train.x);
    }

    #[test]
    fn noiseless_glyphs_of_a_class_share_their_ink_pattern() {
        let d = glyphs(40, 1, 0.0, 0);
        for (i, &y) in d.train.y.iter().enumerate() {
            let on = d.train.x[i * 64..(i + 1) * 64]
                .iter()
                .filter(|&&v| v > 0.0)
                .count();
            let expected: u32 = FONT[y].iter().map(|b| b.count_ones()).sum();
            assert_eq!(on, expected as usize);
        }
    }
}
