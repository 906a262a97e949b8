//! Dense derived lookups behind the engine's per-round loops: a bitmap of node indices (tree
//! membership, the novelty live set) and points stored contiguously (absorbed observations, claim
//! anchors in claim-log order). They replace hash lookups and pointer chasing in scans that run
//! every round or every sprout and grow with the world; they change no result. Both are derived
//! state, rebuilt with what they derive from, so their equality is that of the state they mirror
//! (their `PartialEq` ignores them).

/// A set of node indices as a bitmap; iterating it yields them in ascending order.
#[derive(Debug, Clone, Default)]
pub(crate) struct NodeBits(Vec<u64>);

impl NodeBits {
    /// A set able to hold indices below `n` without growing.
    pub(crate) fn with_capacity(n: usize) -> Self {
        NodeBits(vec![0; n.div_ceil(64)])
    }

    pub(crate) fn insert(&mut self, n: usize) {
        let w = n / 64;
        if w >= self.0.len() {
            self.0.resize(w + 1, 0);
        }
        self.0[w] |= 1 << (n % 64);
    }

    pub(crate) fn contains(&self, n: usize) -> bool {
        self.0.get(n / 64).is_some_and(|w| (w >> (n % 64)) & 1 == 1)
    }

    /// The members in ascending order.
    pub(crate) fn to_sorted_vec(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, &w) in self.0.iter().enumerate() {
            let mut w = w;
            while w != 0 {
                out.push(i * 64 + w.trailing_zeros() as usize);
                w &= w - 1;
            }
        }
        out
    }
}

impl PartialEq for NodeBits {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Points of one dimension, stored back to back. A point of another length (which validation
/// rules out) is kept as a gap, so callers fall back to the original record for it.
#[derive(Debug, Clone, Default)]
pub(crate) struct FlatPoints {
    dim: usize,
    data: Vec<f64>,
    /// Entries pushed with another length, ascending.
    odd: Vec<usize>,
    len: usize,
}

impl FlatPoints {
    pub(crate) fn new(dim: usize) -> Self {
        FlatPoints {
            dim,
            ..FlatPoints::default()
        }
    }

    pub(crate) fn push(&mut self, p: &[f64]) {
        if p.len() == self.dim {
            self.data.extend_from_slice(p);
        } else {
            self.data.resize(self.data.len() + self.dim, f64::NAN);
            self.odd.push(self.len);
        }
        self.len += 1;
    }

    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.odd.clear();
        self.len = 0;
    }

    /// Entry `i`, or `None` for a gap (or past the end).
    pub(crate) fn get(&self, i: usize) -> Option<&[f64]> {
        if i >= self.len || self.odd.binary_search(&i).is_ok() {
            return None;
        }
        Some(&self.data[i * self.dim..(i + 1) * self.dim])
    }

    /// Whether every entry is stored (no gaps).
    pub(crate) fn is_regular(&self) -> bool {
        self.odd.is_empty()
    }

    /// The stored entries (gaps included as NaN rows) as one slice of `dim`-long rows.
    pub(crate) fn rows(&self) -> std::slice::ChunksExact<'_, f64> {
        self.data.chunks_exact(self.dim.max(1))
    }
}

impl PartialEq for FlatPoints {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_iterate_sorted_and_dedup() {
        let mut b = NodeBits::with_capacity(10);
        for n in [130, 3, 64, 3, 0, 63] {
            b.insert(n);
        }
        assert_eq!(b.to_sorted_vec(), vec![0, 3, 63, 64, 130]);
        assert!(b.contains(130) && !b.contains(129) && !b.contains(10_000));
    }

    #[test]
    fn flat_points_keep_gaps() {
        let mut p = FlatPoints::new(2);
        p.push(&[1.0, 2.0]);
        p.push(&[1.0]);
        p.push(&[3.0, 4.0]);
        assert_eq!(p.get(0), Some(&[1.0, 2.0][..]));
        assert_eq!(p.get(1), None);
        assert_eq!(p.get(2), Some(&[3.0, 4.0][..]));
        assert_eq!(p.get(3), None);
        assert!(!p.is_regular());
    }
}
