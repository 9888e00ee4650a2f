//! What a dev benchmark needs from its host: a clock and a way to print. Natively the
//! standard library; as a bare wasm32 module, imports from `env` that the runner supplies
//! (crate/dev/run_wasm_bench.mjs, bench/gemm/run.mjs: `now_ms` = performance.now(), and
//! `print`).

#[cfg(not(target_arch = "wasm32"))]
pub fn now_seconds() -> f64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

#[cfg(target_arch = "wasm32")]
pub fn now_seconds() -> f64 {
    #[link(wasm_import_module = "env")]
    extern "C" {
        fn now_ms() -> f64;
    }
    unsafe { now_ms() / 1000.0 }
}

#[cfg(target_arch = "wasm32")]
pub fn emit(line: &str) {
    #[link(wasm_import_module = "env")]
    extern "C" {
        fn print(ptr: *const u8, len: usize);
    }
    unsafe { print(line.as_ptr(), line.len()) }
}

#[cfg(not(target_arch = "wasm32"))]
pub fn emit(line: &str) {
    println!("{line}");
}
