//! The pool backend (wasm32 + `atomics`, the threads build). The protocol. The driver publishes a job (`JOB`, `NEXT = 0`), opens it (`OPEN =
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

/// Benchmarks only (crate/dev/threads_speed.mjs; feature `test-hooks`): while paused the pool reports one
/// thread, so the layers take their single-thread path and the helpers idle. Lets one
/// process compare 1 and N threads batch by batch under the same machine load. Not for
/// use during a training run that must be reproducible (the thread count changes).
#[cfg(feature = "test-hooks")]
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
        panic!(
            "a helper thread trapped during this job; its results are incomplete, and the pool now runs on one thread"
        );
    }
}

/// Tests of the failure path (test/threads.test.ts; feature `test-hooks`): a job of `tasks` tasks in which a
/// task that runs on a helper traps. The driver's tasks wait (up to `driver_spins`
/// iterations each) until a helper has taken one, so that one surely does.
#[cfg(feature = "test-hooks")]
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
