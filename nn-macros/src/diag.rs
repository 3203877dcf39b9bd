//! Collects several compile errors so that one build reports them all.

use proc_macro2::Span;
use std::fmt::Display;

/// An error collector (serde's `Ctxt` idea): independent problems are all reported.
#[derive(Default)]
pub struct Diagnostics {
    errors: Option<syn::Error>,
}

impl Diagnostics {
    /// Records an error at `span`.
    pub fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an already built error.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.errors {
            Some(all) => all.combine(error),
            None => self.errors = Some(error),
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.errors.is_none()
    }

    /// `Ok(value)` when nothing was recorded, else every error.
    pub fn finish<T>(self, value: T) -> Result<T, syn::Error> {
        match self.errors {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate nearest to `name` (case-insensitive, distance at most 2 or a case-only
/// difference), for a "did you mean" hint.
pub fn nearest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (edit_distance(&lower, &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn suggestions() {
        assert_eq!(super::edit_distance("dense", "dnese"), 2);
        assert_eq!(super::nearest("Dens", ["Dense", "Dropout"]), Some("Dense"));
        assert_eq!(super::nearest("relu", ["ReLU", "Tanh"]), Some("ReLU"));
        assert_eq!(super::nearest("Convolution", ["Dense", "Dropout"]), None);
    }
}
