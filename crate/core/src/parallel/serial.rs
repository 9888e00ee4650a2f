//! The serial backend: natively, and on wasm32 without `atomics` (the single-thread build).

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
