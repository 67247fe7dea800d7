//! A deterministic xorshift generator for tests: the same input on every run, no
//! dependency.

pub(crate) struct Rng(pub u64);

impl Rng {
    /// A number below `n` (`n` > 0).
    pub fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}
