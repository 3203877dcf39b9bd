//! Picking samples: the rows of a batch, in the order of a shuffled index.

use crate::kernels;

/// Copies rows `indices` of `src` (rows of `width` values) into `out`, in that order: the
/// samples of a batch picked by a shuffled order, PyTorch's `x[perm[i:i + b]]`. A large
/// batch is copied in parts on the threads of the rayon pool the caller runs in (rows of
/// a shuffled data set come from all over memory: each waits on its own reads).
///
/// ```
/// use nn_core::data::gather_rows;
/// let x = [0.0, 1.0, 10.0, 11.0, 20.0, 21.0];
/// let mut batch = [0.0; 4];
/// gather_rows(&x, 2, &[2, 0], &mut batch);
/// assert_eq!(batch, [20.0, 21.0, 0.0, 1.0]);
/// ```
///
/// # Panics
/// If an index is past the last whole row of `src` (naming it), or `out` holds fewer
/// than `indices.len() * width` values.
pub fn gather_rows(src: &[f32], width: usize, indices: &[usize], out: &mut [f32]) {
    let rows = src.len().checked_div(width).unwrap_or(0);
    if let Some(&bad) = indices.iter().find(|&&i| i >= rows) {
        panic!("gather_rows: row {bad} asked for, but the source holds {rows} rows of {width}");
    }
    let len = indices.len().saturating_mul(width);
    assert!(
        out.len() >= len,
        "gather_rows: {} rows of {width} need {len} values, the output holds {}",
        indices.len(),
        out.len()
    );
    if width == 0 {
        return;
    }
    // Each value costs about two of a sequential copy (its row is a jump away).
    let work = width.saturating_mul(2);
    kernels::par_rows(&mut out[..len], width, work, &|first, part| {
        for (row, &i) in part.chunks_exact_mut(width).zip(&indices[first..]) {
            kernels::copy(&src[i * width..(i + 1) * width], row);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::gather_rows;

    #[test]
    #[cfg(feature = "std")]
    fn rows_in_the_given_order_on_any_thread_count() {
        let width = 784;
        let src: std::vec::Vec<f32> = (0..500 * width).map(|v| v as f32).collect();
        let indices: std::vec::Vec<usize> = (0..300).map(|i| (i * 37 + 11) % 500).collect();
        for threads in [1, 2, 3] {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut out = std::vec![f32::NAN; indices.len() * width + 5];
            pool.install(|| gather_rows(&src, width, &indices, &mut out));
            for (r, &i) in indices.iter().enumerate() {
                assert_eq!(
                    out[r * width..(r + 1) * width],
                    src[i * width..(i + 1) * width],
                    "{threads} threads, row {r}"
                );
            }
            assert!(out[indices.len() * width..].iter().all(|v| v.is_nan()));
        }
    }

    #[test]
    #[should_panic(expected = "row 3 asked for, but the source holds 3 rows of 2")]
    fn an_index_past_the_end_is_named() {
        gather_rows(&[0.0; 7], 2, &[0, 3], &mut [0.0; 4]);
    }

    #[test]
    #[should_panic(expected = "need 4 values, the output holds 3")]
    fn a_short_output_is_an_error() {
        gather_rows(&[0.0; 6], 2, &[0, 1], &mut [0.0; 3]);
    }
}
