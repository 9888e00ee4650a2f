//! Parallelism for the layers: `parallel_for(tasks, f)` runs `f(0)`, …, `f(tasks - 1)`,
//! possibly on several threads, and returns when all have finished.
//!
//! Layers split a batch into a few blocks per thread ([`tasks_for`], [`block`]) and give
//! each task a disjoint part of every output ([`Disjoint`]); sums over the batch (weight gradients)
//! are per-task partials added up afterwards in a fixed order ([`for_each_sample_block_reduced`],
//! [`reduce_into`]). A task's
//! work depends only on its index, never on which thread runs it, so results are
//! deterministic for a given thread count.
//!
//! Two implementations:
//! - serial (natively, and on wasm32 without the `atomics` target feature: the default
//!   single-thread build): `threads()` is 1 and `parallel_for` is a plain loop, so the
//!   layers take their original single-call path;
//! - a pool (wasm32 with `atomics`, the opt-in threads build): the thread that calls
//!   [`pool::start`] drives; `n` helper threads (Web Workers / worker_threads sharing the
//!   module's memory) sit in [`pool::helper_loop`], sleeping on `memory.atomic.wait32`
//!   between jobs. The driver takes part in every job; while helpers finish their last
//!   tasks it spins, then sleeps in `atomic.wait` too where that is allowed (Node and
//!   workers; browsers forbid it on their main thread, where it keeps spinning).

//!
//! Files: this one is the API the layers use; `serial.rs` and `pool.rs` are the two
//! backends behind it (exactly one is compiled in).

use std::marker::PhantomData;
use std::ops::Range;

/// Threads in the pool (1 when serial). Thread indices are `0..threads()`.
pub fn threads() -> usize {
    imp::threads()
}

/// Blocks to split `items` (samples of a batch) into: `per_thread` per pool thread, so
/// that a thread slowed down by other load on the machine leaves its later blocks to the
/// others; 1 with one thread, never more than `items`. Depends only on the thread count,
/// so results stay deterministic for a given count.
pub fn tasks_for(items: usize, per_thread: usize) -> usize {
    match threads() {
        1 => 1,
        n => (n * per_thread).min(items).max(1),
    }
}

/// Runs `f(task, thread)` for every task in `0..tasks` and returns when all are done;
/// `thread` (in `0..threads()`) is the thread running it, for per-thread scratch: a
/// task's result must depend on `task` only. Nested calls (from inside a task) run
/// serially on the calling thread.
pub fn parallel_for<F: Fn(usize, usize) + Sync>(tasks: usize, f: F) {
    if tasks == 0 {
        return;
    }
    if tasks == 1 {
        f(0, imp::this_thread());
        return;
    }
    imp::parallel_for(tasks, &f);
}

/// The `part`-th of `parts` contiguous blocks of `0..len`: sizes differ by at most one.
pub fn block(len: usize, parts: usize, part: usize) -> Range<usize> {
    debug_assert!(part < parts);
    let (base, extra) = (len / parts, len % parts);
    let start = part * base + part.min(extra);
    start..start + base + usize::from(part < extra)
}

/// For layers whose samples are independent: splits a batch of `batch` samples into
/// [`tasks_for`]`(batch, per_thread)` contiguous blocks and runs `f(samples, out_part)` for
/// each, `out_part` being the block's own part of `out` (`out_per_sample` values per sample).
/// Blocks write disjoint outputs, so nothing is reduced and any split gives the same result.
pub fn for_each_sample_block<T: Send, F: Fn(Range<usize>, &mut [T]) + Sync>(
    batch: usize,
    per_thread: usize,
    out: &mut [T],
    out_per_sample: usize,
    f: F,
) {
    assert!(out.len() >= batch * out_per_sample, "for_each_sample_block: output too short");
    let tasks = tasks_for(batch, per_thread);
    let out = Disjoint::new(out);
    parallel_for(tasks, |t, _| {
        let samples = block(batch, tasks, t);
        // SAFETY: sample blocks are disjoint, and so are their parts of `out`.
        let part = unsafe { out.part(samples.start * out_per_sample..samples.end * out_per_sample) };
        f(samples, part);
    });
}

/// For layers whose weight gradients sum over the batch: splits `batch` samples into
/// [`tasks_for`]`(batch, per_thread)` contiguous blocks and runs `f(samples, thread,
/// grads_part)` for each, then adds the parts up. Task 0's part is `grads` itself, task t's
/// the t-th `grads.len()`-long slice of `partials` (grown as needed, reused across calls);
/// `f` overwrites its part. The parts are added into `grads` in task order, so the result
/// depends on the thread count only, never on scheduling. `thread` is for per-thread scratch.
pub fn for_each_sample_block_reduced<F>(
    batch: usize,
    per_thread: usize,
    grads: &mut [f32],
    partials: &mut Vec<f32>,
    f: F,
) where
    F: Fn(Range<usize>, usize, &mut [f32]) + Sync,
{
    let tasks = tasks_for(batch, per_thread);
    let len = grads.len();
    let needed = (tasks - 1) * len;
    if partials.len() < needed {
        partials.resize(needed, 0.0);
    }
    let partials = &mut partials[..needed];
    {
        let (task0, others) = (Disjoint::new(&mut *grads), Disjoint::new(&mut *partials));
        parallel_for(tasks, |t, thread| {
            // SAFETY: task t alone owns its part (grads for task 0, partial t - 1 for the others).
            let part = unsafe {
                if t == 0 {
                    task0.part(0..len)
                } else {
                    others.part((t - 1) * len..t * len)
                }
            };
            f(block(batch, tasks, t), thread, part);
        });
    }
    reduce_into(grads, partials, tasks - 1);
}

/// A mutable slice that tasks write disjoint parts of.
pub struct Disjoint<'a, T> {
    ptr: *mut T,
    len: usize,
    _slice: PhantomData<&'a mut [T]>,
}

// Tasks only touch disjoint ranges (the contract of `part`), so sharing is sound.
unsafe impl<T: Send> Sync for Disjoint<'_, T> {}
unsafe impl<T: Send> Send for Disjoint<'_, T> {}

impl<'a, T> Disjoint<'a, T> {
    pub fn new(slice: &'a mut [T]) -> Self {
        Disjoint { ptr: slice.as_mut_ptr(), len: slice.len(), _slice: PhantomData }
    }

    /// Elements `range` of the slice.
    ///
    /// # Safety
    /// No two live results may overlap (each task takes its own range).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn part(&self, range: Range<usize>) -> &'a mut [T] {
        assert!(range.start <= range.end && range.end <= self.len, "Disjoint::part out of bounds");
        std::slice::from_raw_parts_mut(self.ptr.add(range.start), range.end - range.start)
    }
}

/// Elementwise pieces start at multiples of this many elements (whole SIMD vectors and
/// cache lines), so a split never changes how a SIMD kernel groups its lanes.
const PIECE_ALIGN: usize = 16;

/// Runs `f(range)` on contiguous pieces covering `0..len`, across the pool, for elementwise
/// work (an optimizer update, a reduction of partials) whose result cannot depend on where
/// the range is cut. There are at most `len / min_len` pieces (so a small buffer stays on one
/// thread: waking helpers costs microseconds); being aligned, a piece may be up to 15
/// elements short of `min_len`.
pub fn for_each_range<F: Fn(Range<usize>) + Sync>(len: usize, min_len: usize, f: F) {
    let units = len.div_ceil(PIECE_ALIGN);
    let parts = threads().min(len / min_len.max(1)).clamp(1, units.max(1));
    parallel_for(parts, |p, _| {
        let r = block(units, parts, p);
        f(r.start * PIECE_ALIGN..(r.end * PIECE_ALIGN).min(len));
    });
}

/// Smallest piece worth a thread of its own for memory-bound elementwise work.
pub const MIN_ELEMENTWISE_PIECE: usize = 4096;

/// `dst += Σ partials[p]` for p in order, split across the pool by element ranges.
/// Element i is always summed as `((dst[i] + p0[i]) + p1[i]) + …`: the same for any split.
pub fn reduce_into(dst: &mut [f32], partials: &[f32], count: usize) {
    let len = dst.len();
    assert!(partials.len() >= len * count, "reduce_into: partials too short");
    if count == 0 || len == 0 {
        return;
    }
    let out = Disjoint::new(dst);
    for_each_range(len, MIN_ELEMENTWISE_PIECE, |r| {
        // SAFETY: the pieces of `for_each_range` are disjoint.
        let d = unsafe { out.part(r.clone()) };
        for p in 0..count {
            let src = &partials[p * len + r.start..p * len + r.end];
            for (a, b) in d.iter_mut().zip(src) {
                *a += *b;
            }
        }
    });
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
mod serial;
#[cfg(not(all(target_arch = "wasm32", target_feature = "atomics")))]
use serial as imp;

#[cfg(all(test, not(all(target_arch = "wasm32", target_feature = "atomics"))))]
pub use serial::with_simulated_threads;

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub mod pool;
#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
use pool as imp;

// Serial builds only: they simulate thread counts (a threads build's tests have no pool).
#[cfg(all(test, not(all(target_arch = "wasm32", target_feature = "atomics"))))]
mod tests;
