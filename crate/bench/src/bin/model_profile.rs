//! Native run of the training-step profile: `model_profile [MASK]` (see `profile::run_profile`).
fn main() {
    let which = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(15);
    wasm_autoencoders_bench::profile::run_profile(which);
}
