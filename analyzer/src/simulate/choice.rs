//! Where a schedule comes from: every nondeterministic choice of a run (which message is delivered
//! next, which instance a shuffled record goes to, which replica a consumer listens to, which
//! sealed partition is released first) is one call to [`Chooser::choose`]. A random chooser draws
//! them from a seeded generator; an exhaustive one enumerates every sequence of choices by depth
//! first search (replaying a prefix, then taking the next alternative), as a stateless model
//! checker does.

/// A small, fast, seedable generator (SplitMix64). Not cryptographic; deterministic across
/// platforms.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.0)
    }

    /// A number in `0..n` (`0` when `n` is `0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        // n is small (a few thousand at most): the modulo bias is negligible here.
        (self.next_u64() % n as u64) as usize
    }
}

/// The SplitMix64 finaliser: a good 64-bit mixing function.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The source of a run's choices.
#[derive(Debug)]
pub enum Chooser {
    /// Random choices.
    Random(Rng),
    /// Depth-first enumeration of every choice sequence.
    Exhaustive {
        /// The current sequence: (choice taken, number of alternatives).
        stack: Vec<(usize, usize)>,
        /// Position in the sequence during a run.
        pos: usize,
    },
}

impl Chooser {
    /// A random chooser.
    pub fn random(seed: u64) -> Self {
        Chooser::Random(Rng::new(seed))
    }

    /// An exhaustive chooser, positioned on the first sequence.
    pub fn exhaustive() -> Self {
        Chooser::Exhaustive {
            stack: Vec::new(),
            pos: 0,
        }
    }

    /// Chooses one of `n` alternatives.
    pub fn choose(&mut self, n: usize) -> usize {
        match self {
            Chooser::Random(rng) => rng.below(n),
            Chooser::Exhaustive { stack, pos } => {
                if n <= 1 {
                    return 0;
                }
                let c = match stack.get(*pos) {
                    Some(&(c, m)) if m == n => c,
                    Some(_) => {
                        // The replayed run took another shape (cannot happen for a
                        // deterministic engine); restart this branch from here.
                        stack.truncate(*pos);
                        stack.push((0, n));
                        0
                    }
                    None => {
                        stack.push((0, n));
                        0
                    }
                };
                *pos += 1;
                c
            }
        }
    }

    /// Moves an exhaustive chooser to the next sequence; false when every sequence was run.
    /// A random chooser always has a next run.
    pub fn advance(&mut self) -> bool {
        match self {
            Chooser::Random(_) => true,
            Chooser::Exhaustive { stack, pos } => {
                *pos = 0;
                while let Some(&(c, n)) = stack.last() {
                    if c + 1 < n {
                        if let Some(top) = stack.last_mut() {
                            top.0 = c + 1;
                        }
                        return true;
                    }
                    stack.pop();
                }
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhaustive_enumerates_every_sequence() {
        // Two nested choices of 3 and 2: six runs.
        let mut ch = Chooser::exhaustive();
        let mut seen = Vec::new();
        loop {
            let a = ch.choose(3);
            let b = ch.choose(2);
            seen.push((a, b));
            if !ch.advance() {
                break;
            }
        }
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 6);
    }

    #[test]
    fn random_is_in_range_and_seeded() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for n in 1..50 {
            let x = a.below(n);
            assert!(x < n);
            assert_eq!(x, b.below(n));
        }
    }
}
