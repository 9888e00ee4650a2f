//! Nearest-neighbour upsampling over NHWC tensors (Keras `UpSampling2D`): every input
//! pixel becomes a `size_h × size_w` block of copies.
//!
//! Forward: with a channel count that is a multiple of 4, the first output row
//! of each block row is written with vector stores (no per-pixel `memory.copy`, which V8
//! runs as a call, slow for a few dozen bytes), then copied to the block's other rows.
//! Otherwise slice copies. Backward sums whole channel vectors, contiguous loops that LLVM
//! vectorizes for simd128 and native targets alike (a hand-written SIMD version that summed
//! each block in registers measured slower: it reads two rows of dy at once).

use super::simd::V4;

/// What is upsampled: `batch` images of in_h × in_w × channels, each pixel becoming a
/// size_h × size_w block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Upsampling {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub channels: usize,
    pub size_h: usize,
    pub size_w: usize,
}

fn check(u: &Upsampling, small: usize, big: usize) {
    let Upsampling { batch, in_h, in_w, channels, size_h, size_w } = *u;
    let in_len = batch * in_h * in_w * channels;
    assert_eq!(small, in_len, "upsample2d: input length is not batch×in_h×in_w×channels");
    assert_eq!(big, in_len * size_h * size_w, "upsample2d: output length is not the input's × size_h × size_w");
}

/// y[b, h, w, c] = x[b, h / size_h, w / size_w, c].
pub fn upsample2d_forward(u: &Upsampling, x: &[f32], y: &mut [f32]) {
    check(u, x.len(), y.len());
    let Upsampling { batch, in_h, in_w, channels, size_h, size_w } = *u;
    let out_row = in_w * size_w * channels;
    if out_row * size_h == 0 {
        return; // y is empty
    }
    if channels.is_multiple_of(4) {
        forward_vectors(batch * in_h, in_w, channels, size_h, size_w, x, y);
        return;
    }
    // Each input row becomes one output row (pixels repeated size_w times), which is then
    // copied size_h - 1 more times.
    for (x_row, y_rows) in x.chunks_exact(in_w * channels).zip(y.chunks_exact_mut(out_row * size_h)) {
        let (first, rest) = y_rows.split_at_mut(out_row);
        for (pixel, block) in x_row.chunks_exact(channels).zip(first.chunks_exact_mut(channels * size_w)) {
            for dst in block.chunks_exact_mut(channels) {
                dst.copy_from_slice(pixel);
            }
        }
        for dst in rest.chunks_exact_mut(out_row) {
            dst.copy_from_slice(first);
        }
    }
}

/// dx[b, h, w, c] = Σ over the block of dy (overwrites dx).
pub fn upsample2d_backward(u: &Upsampling, dy: &[f32], dx: &mut [f32]) {
    check(u, dx.len(), dy.len());
    let Upsampling { in_w, channels, size_h, size_w, .. } = *u;
    let out_row = in_w * size_w * channels;
    if out_row * size_h == 0 {
        dx.fill(0.0); // empty blocks (or an empty dx)
        return;
    }

    for (dx_row, dy_rows) in dx.chunks_exact_mut(in_w * channels).zip(dy.chunks_exact(out_row * size_h)) {
        dx_row.fill(0.0);
        for dy_row in dy_rows.chunks_exact(out_row) {
            for (acc, block) in dx_row.chunks_exact_mut(channels).zip(dy_row.chunks_exact(channels * size_w)) {
                for src in block.chunks_exact(channels) {
                    for (a, &s) in acc.iter_mut().zip(src) {
                        *a += s;
                    }
                }
            }
        }
    }
}

/// `rows` input rows (batch·in_h) of in_w pixels; channels a multiple of 4. The first
/// output row of each block row is written with vector stores, the other sh - 1 are copies
/// of it (one `memory.copy` each).
fn forward_vectors(rows: usize, in_w: usize, ch: usize, sh: usize, sw: usize, x: &[f32], y: &mut [f32]) {
    let out_row = in_w * sw * ch;
    assert!(x.len() == rows * in_w * ch && y.len() == rows * sh * out_row && ch.is_multiple_of(4));
    for (x_row, y_rows) in x.chunks_exact(in_w * ch).zip(y.chunks_exact_mut(out_row * sh)) {
        let (first, rest) = y_rows.split_at_mut(out_row);
        let (xp, yp) = (x_row.as_ptr(), first.as_mut_ptr());
        for w in 0..in_w {
            for c in (0..ch).step_by(4) {
                // SAFETY: pixel w, channels c..c+4 < ch of x_row; cells w·sw + j < in_w·sw of
                // the first output row.
                unsafe {
                    let v = V4::load(xp.add(w * ch + c));
                    for j in 0..sw {
                        v.store(yp.add((w * sw + j) * ch + c));
                    }
                }
            }
        }
        for dst in rest.chunks_exact_mut(out_row) {
            dst.copy_from_slice(first);
        }
    }
}

/// The definition, index by index.
pub fn upsample2d_forward_reference(u: &Upsampling, x: &[f32], y: &mut [f32]) {
    check(u, x.len(), y.len());
    let Upsampling { batch, in_h, in_w, channels, size_h, size_w } = *u;
    let (out_h, out_w) = (in_h * size_h, in_w * size_w);
    for b in 0..batch {
        for h in 0..out_h {
            for w in 0..out_w {
                for c in 0..channels {
                    y[((b * out_h + h) * out_w + w) * channels + c] =
                        x[((b * in_h + h / size_h) * in_w + w / size_w) * channels + c];
                }
            }
        }
    }
}

/// The definition, summed in f64.
pub fn upsample2d_backward_reference(u: &Upsampling, dy: &[f32], dx: &mut [f32]) {
    check(u, dx.len(), dy.len());
    let Upsampling { batch, in_h, in_w, channels, size_h, size_w } = *u;
    let (out_h, out_w) = (in_h * size_h, in_w * size_w);
    for b in 0..batch {
        for h in 0..in_h {
            for w in 0..in_w {
                for c in 0..channels {
                    let mut sum = 0.0f64;
                    for i in 0..size_h {
                        for j in 0..size_w {
                            sum += dy[((b * out_h + h * size_h + i) * out_w + w * size_w + j) * channels + c] as f64;
                        }
                    }
                    dx[((b * in_h + h) * in_w + w) * channels + c] = sum as f32;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{helper_test_op, random_vec, wasm_bindgen_test, Backward, Tolerance};

    type Kernel = fn(&Upsampling, &[f32], &mut [f32]);

    fn check_op(batch: usize, in_h: usize, in_w: usize, ch: usize, sh: usize, sw: usize) {
        let x = random_vec((in_h * 100 + in_w * 10 + ch) as u64, batch * in_h * in_w * ch, -1.0, 1.0);
        let out_len = x.len() * sh * sw;
        let u = Upsampling { batch, in_h, in_w, channels: ch, size_h: sh, size_w: sw };
        let fwd = |f: Kernel| move |xs: &[&[f32]], out: &mut [f32]| f(&u, xs[0], out);
        let bwd = |f: Kernel| move |_: &[&[f32]], dy: &[f32], g: &mut [Vec<f32>]| f(&u, dy, &mut g[0]);
        let (bf, br) = (bwd(upsample2d_backward), bwd(upsample2d_backward_reference));
        let bw = Backward {
            wrt: &[0],
            fast: &bf,
            reference: &br,
            tol: Tolerance::new(1e-6, 1e-6),
            eps: 1e-2,
            numeric_tol: Tolerance::new(1e-3, 1e-3),
        };
        let name = format!("upsample {batch}x{in_h}x{in_w}x{ch} by {sh}x{sw}");
        helper_test_op(
            &name,
            &[x],
            out_len,
            &fwd(upsample2d_forward),
            &fwd(upsample2d_forward_reference),
            Tolerance::EXACT,
            Some(bw),
        );
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn fast_matches_reference_and_gradients() {
        for &(batch, in_h, in_w, ch, sh, sw) in &[
            (1, 1, 1, 1, 1, 1),
            (2, 2, 3, 1, 2, 2),
            (1, 3, 2, 5, 3, 2),
            (2, 4, 4, 8, 2, 2),
            (1, 7, 7, 16, 2, 2),
            (1, 2, 5, 3, 1, 3),
            (2, 3, 4, 12, 3, 2),
            (1, 2, 2, 4, 1, 1),
        ] {
            check_op(batch, in_h, in_w, ch, sh, sw);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn known_values() {
        // 1×2×1×2 → 2×4×2 with size 2×2.
        let x = [1.0, 2.0, 3.0, 4.0];
        let mut y = [0.0f32; 16];
        let u = Upsampling { batch: 1, in_h: 1, in_w: 2, channels: 2, size_h: 2, size_w: 2 };
        upsample2d_forward(&u, &x, &mut y);
        let row = [1.0, 2.0, 1.0, 2.0, 3.0, 4.0, 3.0, 4.0];
        assert_eq!(y[..8], row);
        assert_eq!(y[8..], row);
        let mut dx = [9.0f32; 4];
        upsample2d_backward(&u, &y, &mut dx);
        assert_eq!(dx, [4.0, 8.0, 12.0, 16.0]);
    }
}
