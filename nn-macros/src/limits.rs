//! How large a model may be: every count of values is checked against the largest object
//! rustc lets a target have (its `obj_size_bound`): `isize::MAX` bytes on 16- and 32-bit
//! targets, and 2^61 − 1 on 64-bit ones (LLVM counts object sizes in bits). The generated
//! code holds the parameters and the scratch in arrays (`[f32; PARAMS]` in `from_static`,
//! `[f32; SCRATCH]` in `forward`), so a larger model would not compile there anyway.
//!
//! The macro runs on the host, but the model may be built for a target with a narrower
//! `usize` (wasm32, a 32-bit microcontroller, a 16-bit MSP430), and the macro cannot know
//! which. So a size beyond the host's limit is an error here, and a size beyond a narrower
//! target's limit is recorded as a [`NarrowTarget`]: the expansion then emits that error
//! under `#[cfg(target_pointer_width = "..")]` and leaves the model's code out on that
//! target, whose `usize` could not hold its sizes anyway (see `expand::for_targets`).
//!
//! Counts are multiplied in `u128`, checked, so even an overflowing size is named exactly
//! whenever it fits 128 bits.

use crate::diag::Diagnostics;
use quote::ToTokens;

/// Bytes of one value (`f32`).
const VALUE_BYTES: u128 = 4;

/// The pointer widths, narrower than the host's, that models are also checked against.
const NARROW_BITS: [u32; 2] = [32, 16];

/// The largest object, in bytes, rustc allows on a target with `bits`-bit pointers.
fn max_bytes(bits: u32) -> u128 {
    (1u128 << (bits - 1).min(61)) - 1
}

/// A size of the model that does not fit a target with `bits`-bit pointers.
pub struct NarrowTarget {
    pub bits: u32,
    pub error: syn::Error,
}

/// The product of `dims` in `u128`, or `None` if even that overflows.
pub fn product(dims: &[usize]) -> Option<u128> {
    dims.iter()
        .try_fold(1u128, |n, &d| n.checked_mul(d as u128))
}

/// `"34359738368 values (137438953472 bytes)"`, with `noun` for "values".
fn describe(count: Option<u128>, noun: &str) -> String {
    match count {
        Some(n) => match n.checked_mul(VALUE_BYTES) {
            Some(bytes) => format!("{n} {noun} ({bytes} bytes)"),
            None => format!("{n} {noun}"),
        },
        None => format!("more than 2^128 {noun}"),
    }
}

/// Checks sizes as the model is lowered: errors beyond the host's limit go to the
/// diagnostics; the first size beyond each narrower target's limit is kept for the
/// expansion.
#[derive(Default)]
pub struct Limits {
    narrow: Vec<NarrowTarget>,
}

impl Limits {
    /// Checks `count` `f32` values described by `what` (e.g. "the output of `Flatten` has")
    /// and `noun` ("values", "parameters"), blaming `blame`. Returns whether they fit the
    /// host; when they do not, the error is recorded.
    pub fn check(
        &mut self,
        diag: &mut Diagnostics,
        blame: &impl ToTokens,
        what: &str,
        noun: &str,
        count: Option<u128>,
    ) -> bool {
        let bytes = count.and_then(|n| n.checked_mul(VALUE_BYTES));
        let error = |bits: u32| {
            syn::Error::new_spanned(
                blame,
                format!(
                    "{what} {}, more than a {bits}-bit target can address",
                    describe(count, noun)
                ),
            )
        };
        let host = usize::BITS;
        if bytes.is_none_or(|b| b > max_bytes(host)) {
            diag.push(error(host));
            return false;
        }
        let bytes = bytes.unwrap_or(0);
        for bits in NARROW_BITS.into_iter().filter(|&b| b < host) {
            if bytes > max_bytes(bits) && !self.narrow.iter().any(|t| t.bits == bits) {
                self.narrow.push(NarrowTarget {
                    bits,
                    error: error(bits),
                });
            }
        }
        true
    }

    /// Checks that the model's floating-point operations per sample, `flops` once the
    /// layer blamed is added, still fit `FLOPS`, a `u64`.
    pub fn check_flops(
        diag: &mut Diagnostics,
        blame: &impl ToTokens,
        name: &str,
        flops: Option<u128>,
    ) -> bool {
        let fits = flops.is_some_and(|f| u64::try_from(f).is_ok());
        if !fits {
            let count = flops.map_or_else(|| "more than 2^128".to_owned(), |f| f.to_string());
            diag.push(syn::Error::new_spanned(
                blame,
                format!("with `{name}`, one inference takes {count} floating-point operations, more than `FLOPS` (a `u64`) can count"),
            ));
        }
        fits
    }

    /// The sizes that do not fit narrower targets, widest target first.
    pub fn finish(mut self) -> Vec<NarrowTarget> {
        self.narrow.sort_by_key(|t| core::cmp::Reverse(t.bits));
        self.narrow
    }
}

#[cfg(test)]
mod tests {
    use super::{describe, max_bytes, product, Limits};
    use crate::diag::Diagnostics;

    #[test]
    fn limits_are_rustcs_largest_objects() {
        assert_eq!(max_bytes(16), i16::MAX as u128);
        assert_eq!(max_bytes(32), i32::MAX as u128);
        assert_eq!(max_bytes(64), (1 << 61) - 1);
    }

    #[test]
    fn products_are_exact_beyond_u64_and_none_beyond_u128() {
        assert_eq!(product(&[1 << 32, 1 << 32, 2]), Some(1 << 65));
        assert_eq!(product(&[usize::MAX, usize::MAX, usize::MAX]), None);
        assert_eq!(describe(Some(3), "values"), "3 values (12 bytes)");
        assert_eq!(describe(None, "values"), "more than 2^128 values");
    }

    // The host is 64-bit (as every host this project supports).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn a_size_is_checked_against_the_host_and_recorded_per_narrower_target() {
        let blame = syn::Ident::new("x", proc_macro2::Span::call_site());
        let mut limits = Limits::default();
        let mut diag = Diagnostics::default();
        // 2^29 values: 2 GiB, one byte over a 32-bit target's limit.
        assert!(limits.check(&mut diag, &blame, "`x` has", "values", Some(1 << 29)));
        // 2^59 values: 2^61 bytes, one over a 64-bit target's limit.
        assert!(!limits.check(&mut diag, &blame, "`y` has", "values", Some(1 << 59)));
        // The largest that fits a 64-bit target.
        assert!(limits.check(&mut diag, &blame, "`z` has", "values", Some((1 << 59) - 1)));
        let errors: Vec<String> = diag
            .finish(())
            .unwrap_err()
            .into_iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            errors,
            ["`y` has 576460752303423488 values (2305843009213693952 bytes), more than a 64-bit target can address"]
        );
        let narrow: Vec<(u32, String)> = limits
            .finish()
            .into_iter()
            .map(|t| (t.bits, t.error.to_string()))
            .collect();
        assert_eq!(
            narrow,
            [
                (
                    32,
                    "`x` has 536870912 values (2147483648 bytes), more than a 32-bit target can address".to_owned()
                ),
                (
                    16,
                    "`x` has 536870912 values (2147483648 bytes), more than a 16-bit target can address".to_owned()
                ),
            ]
        );
    }
}
