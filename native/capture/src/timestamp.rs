//! Integer / integer true division rounded exactly as CPython's `int / int`.
//!
//! Capture timestamps are `ticks / units` with Python ints: CPython rounds the exact rational quotient once
//! (round half to even). Converting both to `f64` first would round twice once `ticks` exceeds 2**53
//! (nanosecond pcaps, pcapng with fine `if_tsresol`), so the large case is done with integers here.

const MANT: u32 = 53;

fn bit_len(x: u128) -> u32 {
    128 - x.leading_zeros()
}

/// `2**k` as an f64, for k in the normal exponent range.
fn pow2(k: i32) -> f64 {
    f64::from_bits(((1023 + k) as u64) << 52)
}

/// `n / d` correctly rounded to the nearest f64 (ties to even); `d` must be non-zero and at most 2**127.
/// Returns 0.0 for `d == 0` rather than panicking (callers never pass it).
pub fn div_round(n: u128, d: u128) -> f64 {
    if n == 0 || d == 0 {
        return 0.0;
    }
    if n <= (1u128 << MANT) && d <= (1u128 << MANT) {
        return n as f64 / d as f64; // both exact: one IEEE division is the correctly rounded quotient
    }
    if d > (1u128 << 127) {
        return 0.0; // not reachable from the parsers (units <= 2**127)
    }
    // Long division: q = floor(n * 2**e / d) with at least 55 significant bits, `rem` the remainder.
    let mut q = n / d;
    let mut rem = n % d;
    let mut e: i32 = 0; // fractional bits taken
    // r < d <= 2**127, so r << step fits while step <= 128 - bit_len(d).
    let room = 128 - bit_len(d);
    while bit_len(q) < MANT + 2 {
        let want = if q == 0 { bit_len(d) - bit_len(rem) + MANT + 2 } else { MANT + 2 - bit_len(q) };
        let step = want.min(room).max(1);
        let shifted = rem << step;
        q = (q << step) | (shifted / d);
        rem = shifted % d;
        e += step as i32;
    }
    let len = bit_len(q);
    let shift = len - MANT; // >= 2
    let mut keep = q >> shift;
    let low = q & ((1u128 << shift) - 1);
    let half = 1u128 << (shift - 1);
    if low > half || (low == half && (rem != 0 || keep & 1 == 1)) {
        keep += 1; // may reach 2**53: still exact as an f64
    }
    (keep as f64) * pow2(shift as i32 - e)
}

#[cfg(test)]
mod tests {
    use super::div_round;

    #[test]
    fn small_values_are_plain_division() {
        assert_eq!(div_round(1_700_000_000_000_001, 1_000_000), 1_700_000_000_000_001f64 / 1e6);
        assert_eq!(div_round(0, 7), 0.0);
        assert_eq!(div_round(5, 1), 5.0);
    }

    #[test]
    fn large_values_round_once() {
        // a nanosecond pcap timestamp: the correctly rounded decimal, as CPython's int / int
        let t = div_round(1_700_000_000_123_456_789, 1_000_000_000);
        assert_eq!(t, 1700000000.123456789);
        // 2**64-1 / 10**30 and / 2**127
        assert_eq!(div_round(u64::MAX as u128, 1u128 << 127), (u64::MAX as f64) / 2f64.powi(127));
    }
}
