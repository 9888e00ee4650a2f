//! The definitions the fast paths are tested against: naive loops accumulating in f64.

use super::Conv2dGeometry;

/// Input element (b, oh + kh - pad_top, ow + kw - pad_left) for the reference loops, or
/// None in the padding.
fn input_pixel(g: &Conv2dGeometry, b: usize, oh: usize, ow: usize, kh: usize, kw: usize) -> Option<usize> {
    let ih = (oh + kh).checked_sub(g.pad_top()).filter(|&h| h < g.in_h)?;
    let iw = (ow + kw).checked_sub(g.pad_left()).filter(|&w| w < g.in_w)?;
    Some(((b * g.in_h + ih) * g.in_w + iw) * g.in_c)
}

/// The definition: y[b, oh, ow, co] = Σ_{kh, kw, ci} x[b, oh+kh-pt, ow+kw-pl, ci]·K[kh, kw, ci, co], in f64.
pub fn conv2d_forward_reference(g: &Conv2dGeometry, batch: usize, x: &[f32], kernel: &[f32], y: &mut [f32]) {
    g.check(batch, x.len(), kernel.len(), y.len());
    let (out_h, out_w) = (g.out_h(), g.out_w());
    for b in 0..batch {
        for oh in 0..out_h {
            for ow in 0..out_w {
                for co in 0..g.out_c {
                    let mut sum = 0.0f64;
                    for kh in 0..g.kernel_h {
                        for kw in 0..g.kernel_w {
                            let Some(xi) = input_pixel(g, b, oh, ow, kh, kw) else { continue };
                            for ci in 0..g.in_c {
                                sum += x[xi + ci] as f64
                                    * kernel[((kh * g.kernel_w + kw) * g.in_c + ci) * g.out_c + co] as f64;
                            }
                        }
                    }
                    y[((b * out_h + oh) * out_w + ow) * g.out_c + co] = sum as f32;
                }
            }
        }
    }
}

/// The definition: each dy element sends dy·K back to the inputs it saw, in f64.
pub fn conv2d_backward_input_reference(g: &Conv2dGeometry, batch: usize, dy: &[f32], kernel: &[f32], dx: &mut [f32]) {
    g.check(batch, dx.len(), kernel.len(), dy.len());
    let (out_h, out_w) = (g.out_h(), g.out_w());
    let mut acc = vec![0.0f64; dx.len()];
    for b in 0..batch {
        for oh in 0..out_h {
            for ow in 0..out_w {
                for co in 0..g.out_c {
                    let d = dy[((b * out_h + oh) * out_w + ow) * g.out_c + co] as f64;
                    for kh in 0..g.kernel_h {
                        for kw in 0..g.kernel_w {
                            let Some(xi) = input_pixel(g, b, oh, ow, kh, kw) else { continue };
                            for ci in 0..g.in_c {
                                acc[xi + ci] +=
                                    d * kernel[((kh * g.kernel_w + kw) * g.in_c + ci) * g.out_c + co] as f64;
                            }
                        }
                    }
                }
            }
        }
    }
    for (d, a) in dx.iter_mut().zip(acc) {
        *d = a as f32;
    }
}

/// The definition: dK[kh, kw, ci, co] = Σ_{b, oh, ow} x[b, oh+kh-pt, ow+kw-pl, ci]·dy[b, oh, ow, co], in f64.
pub fn conv2d_backward_kernel_reference(g: &Conv2dGeometry, batch: usize, x: &[f32], dy: &[f32], dkernel: &mut [f32]) {
    g.check(batch, x.len(), dkernel.len(), dy.len());
    let (out_h, out_w) = (g.out_h(), g.out_w());
    for kh in 0..g.kernel_h {
        for kw in 0..g.kernel_w {
            for ci in 0..g.in_c {
                for co in 0..g.out_c {
                    let mut sum = 0.0f64;
                    for b in 0..batch {
                        for oh in 0..out_h {
                            for ow in 0..out_w {
                                let Some(xi) = input_pixel(g, b, oh, ow, kh, kw) else { continue };
                                sum += x[xi + ci] as f64 * dy[((b * out_h + oh) * out_w + ow) * g.out_c + co] as f64;
                            }
                        }
                    }
                    dkernel[((kh * g.kernel_w + kw) * g.in_c + ci) * g.out_c + co] = sum as f32;
                }
            }
        }
    }
}
