//! Parallelism for the layers: `parallel_for(tasks, f)` runs `f(0)`, …, `f(tasks - 1)`,
//! possibly on several threads, and returns when all have finished.
//!
//! Layers split a batch into a few blocks per thread ([`tasks_for`], [`block`]) and give
//! each task a disjoint part of every output ([`Disjoint`]); sums over the batch (weight gradients)
//! are per-task partials added up afterwards in a fixed order ([`reduce_into`]). A task's
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
pub fn for_each_sample_block<T: Send, F: Fn(Range<usize>, &mut [T]) + Sync>(batch: usize, per_thread: usize, out: &mut [T], out_per_sample: usize, f: F) {
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
mod imp {
    #[cfg(test)]
    thread_local! {
        static SIMULATED: std::cell::Cell<usize> = const { std::cell::Cell::new(1) };
    }

    pub fn threads() -> usize {
        #[cfg(test)]
        {
            SIMULATED.with(|s| s.get())
        }
        #[cfg(not(test))]
        {
            1
        }
    }

    pub fn this_thread() -> usize {
        0
    }

    pub fn parallel_for(tasks: usize, f: &(dyn Fn(usize, usize) + Sync)) {
        (0..tasks).for_each(|t| f(t, 0));
    }

    /// Tests: run `body` as if the pool had `n` threads (the tasks still run one by one),
    /// so the split-and-reduce paths of the layers are exercised natively.
    #[cfg(test)]
    pub fn with_simulated_threads<R>(n: usize, body: impl FnOnce() -> R) -> R {
        let before = SIMULATED.with(|s| s.replace(n.max(1)));
        let out = body();
        SIMULATED.with(|s| s.set(before));
        out
    }
}

#[cfg(all(test, not(all(target_arch = "wasm32", target_feature = "atomics"))))]
pub use imp::with_simulated_threads;

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
use pool as imp;

#[cfg(all(target_arch = "wasm32", target_feature = "atomics"))]
pub mod pool {
    //! The protocol. The driver publishes a job (`JOB`, `NEXT = 0`), opens it (`OPEN =
    //! GENERATION = g`) and wakes the helpers. A helper that wakes counts itself in
    //! `ACTIVE` and only then checks that job `g` is still open; if so it claims tasks
    //! from `NEXT` until none is left. The driver claims tasks too; when none is left it
    //! closes the job (`OPEN = CLOSED`) and waits until `ACTIVE` is 0. With sequentially
    //! consistent atomics, a helper either is counted before the driver reads `ACTIVE`, or
    //! sees the job closed and leaves it alone. So the driver waits only for helpers that
    //! are running a task, never for one that the OS has not scheduled yet (on a busy
    //! machine the driver then simply does more of the tasks itself).
    use core::arch::wasm32::{memory_atomic_notify, memory_atomic_wait32};
    use std::cell::{Cell, UnsafeCell};
    use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering::SeqCst};

    /// Helper threads configured by `start` (the pool has `HELPERS + 1` threads).
    static HELPERS: AtomicU32 = AtomicU32::new(0);
    /// May the driver sleep in `memory.atomic.wait32`? (Not on a browser's main thread.)
    static DRIVER_CAN_BLOCK: AtomicBool = AtomicBool::new(false);
    /// Bumped once per job (and once to stop); helpers sleep on it. i32 for atomic.wait32.
    static GENERATION: AtomicI32 = AtomicI32::new(0);
    /// The generation of the job helpers may join, or CLOSED.
    static OPEN: AtomicI32 = AtomicI32::new(CLOSED);
    const CLOSED: i32 = -1;
    /// Helpers inside a job (or checking whether they may join one); the driver sleeps on it.
    static ACTIVE: AtomicI32 = AtomicI32::new(0);
    /// Next unclaimed task of the current job.
    static NEXT: AtomicU32 = AtomicU32::new(0);
    /// A job is running (guards against nested or concurrent `parallel_for`).
    static BUSY: AtomicBool = AtomicBool::new(false);
    static STOP: AtomicBool = AtomicBool::new(false);
    /// Benchmarks: run on the driver alone for a while (see `pause`).
    static PAUSED: AtomicBool = AtomicBool::new(false);
    /// Helpers entered so far, to number them 1, 2, ...
    static ENTERED: AtomicU32 = AtomicU32::new(0);
    /// A helper trapped inside a task (a bug: the SDK validates inputs before any work, but a
    /// trap must not hang the driver). From then on the pool is serial; see `helper_failed`.
    static FAILED: AtomicBool = AtomicBool::new(false);

    thread_local! {
        /// This thread's index in the pool: 0 for the driver (and any other thread).
        static INDEX: Cell<usize> = const { Cell::new(0) };
    }

    struct Job {
        tasks: usize,
        f: *const (dyn Fn(usize, usize) + Sync),
    }
    struct JobSlot(UnsafeCell<Option<Job>>);
    // Written by the driver only while no helper can read it: before the job is opened,
    // and after it is closed and no helper is ACTIVE.
    unsafe impl Sync for JobSlot {}
    static JOB: JobSlot = JobSlot(UnsafeCell::new(None));

    /// Iterations to spin before sleeping. Jobs come in quick succession during a
    /// training step and waking a sleeping thread costs tens of microseconds; but a
    /// spinning thread holds a core that other work could use, so keep it short.
    const HELPER_SPINS: u32 = 1 << 16;
    const DRIVER_SPINS: u32 = 1 << 12;

    pub fn threads() -> usize {
        if PAUSED.load(SeqCst) || FAILED.load(SeqCst) {
            1
        } else {
            HELPERS.load(SeqCst) as usize + 1
        }
    }

    /// Called (by the SDK, from JavaScript) on a helper whose `helper_loop` trapped. A trap
    /// can only happen inside a task, where the helper is counted in `ACTIVE`: uncount it so
    /// the driver stops waiting, and mark the pool failed. The driver then fails the job
    /// (its results are incomplete) with a trap of its own instead of waiting forever, and
    /// every later job runs serially on the driver.
    pub fn helper_failed() {
        FAILED.store(true, SeqCst);
        if ACTIVE.fetch_sub(1, SeqCst) == 1 {
            unsafe { memory_atomic_notify(ACTIVE.as_ptr(), 1) };
        }
    }

    /// For benchmarks (crate/dev/threads_speed.mjs): while paused the pool reports one
    /// thread, so the layers take their single-thread path and the helpers idle. Lets one
    /// process compare 1 and N threads batch by batch under the same machine load. Not for
    /// use during a training run that must be reproducible (the thread count changes).
    pub fn pause(paused: bool) {
        PAUSED.store(paused, SeqCst);
    }

    pub fn this_thread() -> usize {
        INDEX.with(|i| i.get())
    }

    /// Called once by the driving thread, before the helpers enter `helper_loop`.
    /// `driver_can_block`: whether this thread may sleep in `memory.atomic.wait32`.
    pub fn start(helpers: u32, driver_can_block: bool) {
        DRIVER_CAN_BLOCK.store(driver_can_block, SeqCst);
        HELPERS.store(helpers, SeqCst);
    }

    /// Tells every helper to return from `helper_loop` (the pool is serial afterwards).
    pub fn stop() {
        if HELPERS.swap(0, SeqCst) == 0 {
            return;
        }
        STOP.store(true, SeqCst);
        GENERATION.fetch_add(1, SeqCst);
        unsafe { memory_atomic_notify(GENERATION.as_ptr(), u32::MAX) };
    }

    fn run_tasks(job: &Job, thread: usize) {
        let f = unsafe { &*job.f };
        loop {
            let t = NEXT.fetch_add(1, SeqCst) as usize;
            if t >= job.tasks {
                break;
            }
            f(t, thread);
        }
    }

    /// A helper thread's life: wait for a job, take tasks until none is left.
    pub fn helper_loop() {
        let index = ENTERED.fetch_add(1, SeqCst) as usize + 1;
        INDEX.with(|i| i.set(index));
        let mut seen = GENERATION.load(SeqCst);
        // A job opened before this helper arrived is still worth joining.
        let mut first = true;
        loop {
            let mut spins = 0;
            while !first && GENERATION.load(SeqCst) == seen {
                if spins < HELPER_SPINS {
                    spins += 1;
                    core::hint::spin_loop();
                } else {
                    unsafe { memory_atomic_wait32(GENERATION.as_ptr(), seen, -1) };
                }
            }
            first = false;
            if STOP.load(SeqCst) {
                return;
            }
            seen = GENERATION.load(SeqCst);
            ACTIVE.fetch_add(1, SeqCst);
            if OPEN.load(SeqCst) == seen {
                if let Some(job) = unsafe { &*JOB.0.get() } {
                    run_tasks(job, index);
                }
            }
            if ACTIVE.fetch_sub(1, SeqCst) == 1 {
                unsafe { memory_atomic_notify(ACTIVE.as_ptr(), 1) };
            }
        }
    }

    pub fn parallel_for(tasks: usize, f: &(dyn Fn(usize, usize) + Sync)) {
        let helpers = HELPERS.load(SeqCst);
        if helpers == 0 || PAUSED.load(SeqCst) || BUSY.swap(true, SeqCst) {
            let me = this_thread();
            (0..tasks).for_each(|t| f(t, me));
            return;
        }
        // SAFETY: the job (and the borrow of `f`) is cleared before returning, once it is
        // closed and no helper is inside it.
        let f: *const (dyn Fn(usize, usize) + Sync + '_) = f;
        let f: *const (dyn Fn(usize, usize) + Sync + 'static) = unsafe { std::mem::transmute(f) };
        unsafe { *JOB.0.get() = Some(Job { tasks, f }) };
        NEXT.store(0, SeqCst);
        let generation = GENERATION.load(SeqCst).wrapping_add(1) & i32::MAX;
        OPEN.store(generation, SeqCst);
        GENERATION.store(generation, SeqCst);
        unsafe { memory_atomic_notify(GENERATION.as_ptr(), helpers) };
        if let Some(job) = unsafe { &*JOB.0.get() } {
            run_tasks(job, 0);
        }
        // Every task is claimed: let no helper join any more, then wait for those inside.
        OPEN.store(CLOSED, SeqCst);
        let can_block = DRIVER_CAN_BLOCK.load(SeqCst);
        let mut spins = 0;
        loop {
            let active = ACTIVE.load(SeqCst);
            if active == 0 {
                break;
            }
            if spins < DRIVER_SPINS || !can_block {
                spins += 1;
                core::hint::spin_loop();
            } else {
                // Gives the core to a helper that the OS descheduled mid-task (a busy
                // machine). The timeout only bounds a missed wake-up.
                unsafe { memory_atomic_wait32(ACTIVE.as_ptr(), active, 1_000_000) };
            }
        }
        unsafe { *JOB.0.get() = None };
        BUSY.store(false, SeqCst);
        if FAILED.load(SeqCst) {
            panic!("a helper thread trapped during this job; its results are incomplete, and the pool now runs on one thread");
        }
    }

    /// Tests of the failure path (test/threads.test.ts): a job of `tasks` tasks in which a
    /// task that runs on a helper traps. The driver's tasks wait (up to `driver_spins`
    /// iterations each) until a helper has taken one, so that one surely does.
    pub fn trap_on_helpers(tasks: usize, driver_spins: u32) {
        static HELPER_TOOK_ONE: AtomicBool = AtomicBool::new(false);
        super::parallel_for(tasks, |_, thread| {
            if thread != 0 {
                HELPER_TOOK_ONE.store(true, SeqCst);
                core::arch::wasm32::unreachable();
            }
            let mut spins = 0;
            while !HELPER_TOOK_ONE.load(SeqCst) && spins < driver_spins {
                spins = std::hint::black_box(spins + 1);
            }
        });
    }
}

// Serial builds only: they simulate thread counts (a threads build's tests have no pool).
#[cfg(all(test, not(all(target_arch = "wasm32", target_feature = "atomics"))))]
mod tests {
    use super::*;

    #[test]
    fn blocks_cover_the_range_in_order() {
        for len in [0, 1, 5, 256, 257] {
            for parts in 1..5 {
                let mut next = 0;
                for p in 0..parts {
                    let r = block(len, parts, p);
                    assert_eq!(r.start, next);
                    next = r.end;
                }
                assert_eq!(next, len);
            }
        }
    }

    #[test]
    fn ranges_cover_the_buffer_once_in_aligned_pieces() {
        for threads in [1, 2, 3] {
            for len in [0, 1, 15, 16, 4095, 4096, 10_000, 100_003] {
                let seen: Vec<std::sync::atomic::AtomicU8> = (0..len).map(|_| Default::default()).collect();
                let pieces = std::sync::Mutex::new(Vec::new());
                with_simulated_threads(threads, || {
                    for_each_range(len, 4096, |r| {
                        pieces.lock().unwrap().push(r.clone());
                        r.for_each(|i| {
                            seen[i].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        });
                    })
                });
                assert!(seen.iter().all(|c| c.load(std::sync::atomic::Ordering::Relaxed) == 1), "len {len}, {threads} threads");
                let pieces = pieces.into_inner().unwrap();
                assert!(pieces.len() <= threads.max(1));
                assert!(pieces.iter().all(|r| r.start % 16 == 0), "{pieces:?}");
                if len < 8192 {
                    assert!(pieces.len() <= 1, "a small buffer is one piece: {pieces:?}");
                }
            }
        }
    }

    #[test]
    fn reduce_adds_partials_in_order() {
        let mut dst = vec![1.0f32; 3000];
        let partials: Vec<f32> = (0..6000).map(|i| i as f32).collect();
        with_simulated_threads(3, || reduce_into(&mut dst, &partials, 2));
        for (i, v) in dst.iter().enumerate() {
            assert_eq!(*v, (1.0 + i as f32) + (3000 + i) as f32);
        }
    }
}

/// The layers' split paths, run natively with simulated thread counts: the same seed and
/// thread count give identical weights; 1, 2 and 3 threads agree within float tolerance.
#[cfg(all(test, not(all(target_arch = "wasm32", target_feature = "atomics"))))]
mod layer_split_tests {
    use super::with_simulated_threads;
    use crate::kernels::loss::Loss;
    use crate::kernels::{Activation, Padding};
    use crate::layers::LayerSpec;
    use crate::model::{OptimizerSpec, Sequential};

    fn train(specs: &[LayerSpec], shape: &[usize], threads: usize, batch: usize) -> Vec<f32> {
        with_simulated_threads(threads, || {
            let mut m = Sequential::new(shape, specs, 7).unwrap();
            m.compile(OptimizerSpec::Adam { learning_rate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }, Loss::MeanSquaredError);
            let n: usize = shape.iter().product();
            let x: Vec<f32> = (0..batch * n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0).collect();
            for _ in 0..3 {
                m.train_step(&x, &x, batch).unwrap();
            }
            m.params().to_vec()
        })
    }

    fn check(specs: &[LayerSpec], shape: &[usize], batch: usize) {
        let one = train(specs, shape, 1, batch);
        for threads in [2, 3] {
            let a = train(specs, shape, threads, batch);
            let b = train(specs, shape, threads, batch);
            assert_eq!(a, b, "{threads} threads: not deterministic");
            let worst = one.iter().zip(&a).map(|(p, q)| (p - q).abs()).fold(0.0f32, f32::max);
            assert!(worst < 1e-4, "{threads} threads differ from 1 by {worst}");
        }
    }

    #[test]
    fn dense_split_matches_one_thread() {
        let d = |units, activation| LayerSpec::Dense { units, activation };
        check(&[d(16, Activation::Relu), d(8, Activation::Tanh), d(20, Activation::Sigmoid)], &[20], 13);
        check(&[d(4, Activation::Relu), d(6, Activation::Sigmoid)], &[6], 2);
    }

    #[test]
    fn conv_split_matches_one_thread() {
        let specs = [
            LayerSpec::Conv2d { filters: 4, kernel: [3, 3], padding: Padding::Same, activation: Activation::Relu },
            LayerSpec::MaxPooling2d { pool: [2, 2], strides: [2, 2], padding: Padding::Same },
            LayerSpec::Conv2d { filters: 3, kernel: [3, 3], padding: Padding::Same, activation: Activation::Relu },
            LayerSpec::UpSampling2d { size: [2, 2] },
            LayerSpec::Conv2d { filters: 1, kernel: [3, 3], padding: Padding::Same, activation: Activation::Sigmoid },
        ];
        check(&specs, &[8, 8, 1], 5);
        // Large enough for both fused pairs (Conv2D + MaxPooling2D, UpSampling2D + Conv2D).
        let mut wide = specs;
        wide[2] = LayerSpec::Conv2d { filters: 4, kernel: [3, 3], padding: Padding::Same, activation: Activation::Relu };
        assert_eq!(Sequential::new(&[16, 16, 1], &wide, 7).unwrap().fused_pairs(), [0, 3]);
        check(&wide, &[16, 16, 1], 5);
    }
}
