//! Loops over independent items (rows, agents, tasks) that are rayon-parallel natively and
//! sequential in wasm.
//!
//! Each row is computed independently and written to its own slot, so results are bitwise
//! identical whatever the thread count: parallelism never changes an arithmetic order.

/// Calls `f(row_idx, row)` for each chunk of `row_len` values in `out`.
pub fn for_each_row<T, F>(out: &mut [T], row_len: usize, f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync + Send,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(row_len).enumerate().for_each(|(i, row)| f(i, row));
    }
    #[cfg(target_arch = "wasm32")]
    {
        out.chunks_mut(row_len).enumerate().for_each(|(i, row)| f(i, row));
    }
}

/// `f(0), …, f(n_tasks − 1)` in order, rayon-parallel natively and sequential in wasm. The tasks
/// are fixed by the caller (not by the thread count), so the results are the same on any number
/// of threads.
pub fn map_collect<T, F>(n_tasks: usize, f: F) -> Vec<T>
where
    T: Send,
    F: Fn(usize) -> T + Sync + Send,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        (0..n_tasks).into_par_iter().map(f).collect()
    }
    #[cfg(target_arch = "wasm32")]
    {
        (0..n_tasks).map(f).collect()
    }
}

/// Calls `f(item_idx, item)` for every item, in parallel natively.
pub fn for_each_mut<T, F>(items: &mut [T], f: F)
where
    T: Send,
    F: Fn(usize, &mut T) + Sync + Send,
{
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        items.par_iter_mut().enumerate().for_each(|(i, item)| f(i, item));
    }
    #[cfg(target_arch = "wasm32")]
    {
        items.iter_mut().enumerate().for_each(|(i, item)| f(i, item));
    }
}
