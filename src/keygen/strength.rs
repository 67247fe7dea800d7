//! How strong a secret made elsewhere (an imported one) is: its likely shape
//! ([`guess_spec`]) and an upper bound of its entropy ([`estimated_bits`]), so `import`
//! can apply the weak-secret rule of `create`. Reads strings only; generates nothing.

use super::{Encoding, Length, Spec};

/// The shape of a secret made elsewhere (an imported one): the smallest built-in alphabet
/// holding all its characters, and its length; `None` when no built-in alphabet does.
pub fn guess_spec(secret: &str) -> Option<Spec> {
    let chars = secret.chars().count();
    [
        Encoding::Hex,
        Encoding::Alphanumeric,
        Encoding::Base62,
        Encoding::Base64Url,
    ]
    .into_iter()
    .find(|e| {
        e.alphabet()
            .is_some_and(|a| secret.chars().all(|c| a.chars().contains(&c)))
    })
    .map(|encoding| Spec {
        encoding,
        length: Length::Chars(chars),
    })
}

/// Fewest distinct characters a secret made elsewhere needs before its alphabet counts:
/// below this, each character counts log2(distinct) bits.
pub const MIN_DISTINCT_CHARS: usize = 8;

/// An upper bound of the entropy of a secret made elsewhere, in bits: its length times
/// log2 of the smallest built-in alphabet holding its characters (printable ASCII: 95
/// symbols; anything else: 8 bits a character). A secret that repeats a shorter period
/// (`"password"` five times, `"a"` forty times) counts as its period only, and one with
/// fewer than [`MIN_DISTINCT_CHARS`] distinct characters counts log2(distinct) bits a
/// character. Used to apply the weak-secret rule of `create` to imported secrets.
pub fn estimated_bits(secret: &str) -> f64 {
    let chars: Vec<char> = secret.chars().collect();
    let period = smallest_period(&chars);
    if period * 2 <= chars.len() {
        return estimated_bits(&chars[..period].iter().collect::<String>());
    }
    let distinct = chars.iter().collect::<std::collections::HashSet<_>>().len();
    if distinct < MIN_DISTINCT_CHARS {
        return chars.len() as f64 * (distinct.max(1) as f64).log2();
    }
    if let Some(spec) = guess_spec(secret) {
        return spec.entropy_bits();
    }
    let per_char = if secret.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
        95f64.log2()
    } else {
        8.0
    };
    secret.chars().count() as f64 * per_char
}

/// The smallest `p` such that every character equals the one `p` places later (the
/// length itself for a string that repeats nothing): the KMP failure function.
fn smallest_period(s: &[char]) -> usize {
    if s.is_empty() {
        return 0;
    }
    let mut fail = vec![0usize; s.len()];
    let mut k = 0;
    for i in 1..s.len() {
        while k > 0 && s[i] != s[k] {
            k = fail[k - 1];
        }
        if s[i] == s[k] {
            k += 1;
        }
        fail[i] = k;
    }
    s.len() - fail[s.len() - 1]
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::keygen::MIN_SECRET_BITS;

    #[test]
    fn repeated_or_few_symbol_secrets_are_weak() {
        let min = MIN_SECRET_BITS;
        for weak in [
            "a".repeat(40),
            "password".repeat(5),
            "ab".repeat(32),
            "0123".repeat(16),
            "aaaabbbbccccddddeeeeaaaabbbbccccddddeeee".to_owned(),
        ] {
            assert!(
                estimated_bits(&weak) < min,
                "{weak}: {}",
                estimated_bits(&weak)
            );
        }
        // Real random secrets keep their estimate: 40 hex (tastypie), 43 base64url.
        for strong in [
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
            "Xq3vT9_bLk2Rz0-PmW8sYhA4nJcE6uGdKfO1iVtQx7s",
        ] {
            assert!(estimated_bits(strong) >= min, "{strong}");
        }
    }
}
