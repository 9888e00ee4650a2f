//! The threads build's pool (wasm32 + atomics only; absent from the single-thread module).
//! The SDK (ts/threads.ts) calls `threadPoolStart(helpers)` on the driving thread, then
//! instantiates the same module over the same shared memory in each helper Worker, where
//! `threadPoolHelper()` runs until `threadPoolStop()`.

use wasm_autoencoders_core::parallel::{self, pool};
use wasm_bindgen::prelude::*;

/// `driver_can_block`: false on a browser's main thread (no `atomic.wait` there).
#[wasm_bindgen(js_name = threadPoolStart)]
pub fn thread_pool_start(helpers: u32, driver_can_block: bool) {
    pool::start(helpers, driver_can_block);
}

/// A helper's entry point: takes tasks until `threadPoolStop()`.
#[wasm_bindgen(js_name = threadPoolHelper)]
pub fn thread_pool_helper() {
    pool::helper_loop();
}

#[wasm_bindgen(js_name = threadPoolStop)]
pub fn thread_pool_stop() {
    pool::stop();
}

/// Called by the SDK on a helper whose loop trapped; see `parallel::pool::helper_failed`.
#[wasm_bindgen(js_name = threadPoolHelperFailed)]
pub fn thread_pool_helper_failed() {
    pool::helper_failed();
}

/// Tests only (feature `test-hooks`): a job whose tasks trap on every helper; see `parallel::pool::trap_on_helpers`.
#[cfg(feature = "test-hooks")]
#[wasm_bindgen(js_name = threadPoolTrapOnHelpers)]
pub fn thread_pool_trap_on_helpers(tasks: u32, driver_spins: u32) {
    pool::trap_on_helpers(tasks as usize, driver_spins);
}

/// Benchmarks only (feature `test-hooks`): pause (1 thread) or resume the pool; see `parallel::pool::pause`.
#[cfg(feature = "test-hooks")]
#[wasm_bindgen(js_name = threadPoolPause)]
pub fn thread_pool_pause(paused: bool) {
    pool::pause(paused);
}

/// Threads the layers split a batch across (helpers + 1).
#[wasm_bindgen(js_name = threadPoolSize)]
pub fn thread_pool_size() -> u32 {
    parallel::threads() as u32
}
