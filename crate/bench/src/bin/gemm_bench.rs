//! Native run of the kernel benchmark: `gemm_bench [FLAGS]` (see `kernels::run_with`).
fn main() {
    let flags = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(3);
    wasm_autoencoders_bench::kernels::run_with(flags);
}
