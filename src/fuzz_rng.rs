//! The fuzz targets' random generator, shared by the crate's own targets
//! and `tests/fuzz.rs` (which includes this file with `#[path]`), so it is
//! compiled only for tests and is no part of the public API.

/// xorshift64*: small, fast and seeded, so a failure reproduces from its
/// seed. The seed must not be 0 (the generator would stay at 0).
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// One of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::Rng;

    /// The sequence is pinned: a seed saved with a crash reproduces it
    /// only while the generator stays the same.
    #[test]
    fn a_seed_gives_the_same_numbers_as_ever() {
        let mut rng = Rng(1);
        let first: Vec<u64> = (0..3).map(|_| rng.next()).collect();
        assert_eq!(
            first,
            [
                0x47E4_CE4B_896C_DD1D,
                0xABCF_A6A8_E079_651D,
                0xB9D1_0D8F_EB73_1F57
            ]
        );
        assert_eq!(Rng(7).below(0), 0);
        assert_eq!(*Rng(7).pick(&[3]), 3);
    }
}
