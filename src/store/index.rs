//! A multi-resolution min/max index over a growing series.
//!
//! Level 0 summarises blocks of [`FANOUT`] raw values, level 1 blocks of
//! `FANOUT` level-0 summaries, and so on. The min/max of any index range is
//! found by walking up the levels and touching at most `2·FANOUT` entries per
//! level: O(FANOUT · log n), whatever the range. Appending is O(log n).
//! With `FANOUT = 32` the index costs about 24/31 ≈ 0.8 bytes per value.

/// Entries per block at every level.
pub const FANOUT: usize = 32;

/// Bit flags of the non-finite values a range holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct NonFinite(pub u8);

impl NonFinite {
    /// A NaN is inside.
    pub const NAN: u8 = 1;
    /// A +∞ is inside.
    pub const POS_INF: u8 = 2;
    /// A −∞ is inside.
    pub const NEG_INF: u8 = 4;

    /// Flags of a single value.
    pub fn of(v: f64) -> NonFinite {
        NonFinite(if v.is_nan() {
            Self::NAN
        } else if v == f64::INFINITY {
            Self::POS_INF
        } else if v == f64::NEG_INFINITY {
            Self::NEG_INF
        } else {
            0
        })
    }

    /// Whether any non-finite value is inside.
    pub fn any(self) -> bool {
        self.0 != 0
    }

    /// Whether a NaN is inside.
    pub fn nan(self) -> bool {
        self.0 & Self::NAN != 0
    }

    /// Whether +∞ is inside.
    pub fn pos_inf(self) -> bool {
        self.0 & Self::POS_INF != 0
    }

    /// Whether −∞ is inside.
    pub fn neg_inf(self) -> bool {
        self.0 & Self::NEG_INF != 0
    }
}

/// Min and max over the finite values of a range, plus its non-finite flags.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Extent {
    /// Smallest finite value (+∞ when there is none).
    pub min: f64,
    /// Largest finite value (−∞ when there is none).
    pub max: f64,
    /// Which non-finite values occur.
    pub non_finite: NonFinite,
}

impl Extent {
    /// The extent of nothing.
    pub const EMPTY: Extent = Extent {
        min: f64::INFINITY,
        max: f64::NEG_INFINITY,
        non_finite: NonFinite(0),
    };

    /// The extent of one value.
    #[inline]
    pub fn of(v: f64) -> Extent {
        if v.is_finite() {
            Extent {
                min: v,
                max: v,
                non_finite: NonFinite(0),
            }
        } else {
            Extent {
                non_finite: NonFinite::of(v),
                ..Extent::EMPTY
            }
        }
    }

    /// Whether the range held at least one finite value.
    pub fn has_finite(&self) -> bool {
        self.min <= self.max
    }

    /// Widens `self` to cover `other` too.
    #[inline]
    pub fn merge(&mut self, other: Extent) {
        // `f64::min` would let a NaN win; no NaN ever reaches min/max here.
        if other.min < self.min {
            self.min = other.min;
        }
        if other.max > self.max {
            self.max = other.max;
        }
        self.non_finite.0 |= other.non_finite.0;
    }
}

/// One level of the index: the summaries of its complete blocks, and the
/// block being filled.
#[derive(Debug, Clone)]
struct Level {
    done: Vec<Extent>,
    open: Extent,
    open_len: usize,
}

impl Default for Level {
    fn default() -> Self {
        Level {
            done: Vec::new(),
            open: Extent::EMPTY,
            open_len: 0,
        }
    }
}

/// The index itself; it does not own the values it summarises.
///
/// Only complete blocks are ever consulted by [`MinMaxIndex::extent`] (the
/// ragged tail of a range is read from the raw values), so a push only
/// widens the open block of level 0, and a level is touched again only when
/// the block below it completes: amortised O(1) per value.
#[derive(Debug, Clone, Default)]
pub struct MinMaxIndex {
    levels: Vec<Level>,
    len: usize,
}

impl MinMaxIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of values indexed.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by the index.
    pub fn heap_bytes(&self) -> usize {
        self.levels
            .iter()
            .map(|l| l.done.capacity() * std::mem::size_of::<Extent>())
            .sum::<usize>()
            + self.levels.capacity() * std::mem::size_of::<Level>()
    }

    /// Indexes the next value of the series.
    #[inline]
    pub fn push(&mut self, v: f64) {
        self.len += 1;
        let e = Extent::of(v);
        // 31 times in 32 the value only widens the open block of level 0.
        match self.levels.first_mut() {
            Some(l) if l.open_len + 1 < FANOUT => {
                l.open.merge(e);
                l.open_len += 1;
            }
            _ => self.push_at(e, 0),
        }
    }

    /// Adds `e` to the open block of `level`, completing blocks upwards.
    #[cold]
    fn push_at(&mut self, mut e: Extent, mut level: usize) {
        loop {
            if level == self.levels.len() {
                self.levels.push(Level::default());
            }
            let l = &mut self.levels[level];
            l.open.merge(e);
            l.open_len += 1;
            if l.open_len < FANOUT {
                return;
            }
            // The block is complete: it becomes one entry of this level and
            // one value of the level above.
            e = l.open;
            l.done.push(e);
            l.open = Extent::EMPTY;
            l.open_len = 0;
            level += 1;
        }
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.levels.clear();
        self.len = 0;
    }

    /// Extent of `values[lo..hi]`; `values` must be the indexed series.
    pub fn extent(&self, values: &[f64], lo: usize, hi: usize) -> Extent {
        debug_assert_eq!(values.len(), self.len);
        let hi = hi.min(self.len);
        let mut acc = Extent::EMPTY;
        if lo >= hi {
            return acc;
        }
        let (mut a, mut b) = (lo, hi);
        // Level "-1" is the raw series; afterwards `level` indexes `levels`.
        let mut level: Option<usize> = None;
        loop {
            let get = |i: usize| match level {
                None => Extent::of(values[i]),
                Some(l) => self.levels[l].done[i],
            };
            // Complete blocks exist one level up.
            let has_parent = match level {
                None => self.levels.first().is_some_and(|l| !l.done.is_empty()),
                Some(l) => self.levels.get(l + 1).is_some_and(|l| !l.done.is_empty()),
            };
            if !has_parent {
                (a..b).for_each(|i| acc.merge(get(i)));
                return acc;
            }
            while a < b && a % FANOUT != 0 {
                acc.merge(get(a));
                a += 1;
            }
            while b > a && b % FANOUT != 0 {
                b -= 1;
                acc.merge(get(b));
            }
            if a >= b {
                return acc;
            }
            a /= FANOUT;
            b /= FANOUT;
            level = Some(level.map_or(0, |l| l + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute(values: &[f64], lo: usize, hi: usize) -> Extent {
        let mut e = Extent::EMPTY;
        values[lo..hi].iter().for_each(|v| e.merge(Extent::of(*v)));
        e
    }

    #[test]
    fn matches_brute_force_at_every_length_and_range() {
        let mut values = Vec::new();
        let mut index = MinMaxIndex::new();
        for i in 0..2100usize {
            let v = match i % 97 {
                13 => f64::NAN,
                40 => f64::INFINITY,
                41 => f64::NEG_INFINITY,
                _ => ((i * 7919) % 1013) as f64 - 500.0,
            };
            values.push(v);
            index.push(v);
            if i % 211 == 0 || i == 2099 {
                for lo in (0..values.len()).step_by(37) {
                    for hi in (lo..=values.len()).step_by(53) {
                        assert_eq!(
                            index.extent(&values, lo, hi),
                            brute(&values, lo, hi),
                            "{lo}..{hi} of {}",
                            values.len()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn all_nan_range_has_no_finite_extent_but_says_nan() {
        let values = vec![f64::NAN; 100];
        let mut index = MinMaxIndex::new();
        values.iter().for_each(|v| index.push(*v));
        let e = index.extent(&values, 0, 100);
        assert!(!e.has_finite());
        assert!(e.non_finite.nan() && !e.non_finite.pos_inf());
    }
}
