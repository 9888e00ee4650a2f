//! The direct path's kernel gradient: the correlation's weight gradient, dW += frameᵀ · dy
//! per sample, 8 output channels at a time (out_c a multiple of 8) or, below 8 output
//! channels, one output channel at a time over runs of consecutive taps.

use super::{Corr, NR};
use micro::Sweep;

/// One sample, n a multiple of 8: dW[T][j] += Σ_pixels frame(pixel, T) · gy[pixel][j],
/// R ≤ 4 rows of W × 8 columns at a time.
#[inline(never)]
pub(super) fn kernel_grad_wide(p: &Corr, frame: &[f32], gy: &[f32], dw: &mut [f32]) {
    let (taps, run, n) = (p.taps(), p.run(), p.n);
    let seg = p.stride;
    assert!(frame.len() >= p.frame_len() && gy.len() == p.out_len() && dw.len() == taps * n && n.is_multiple_of(NR));
    // Tiles of up to 4 consecutive taps inside one kernel row's run (kw·c taps whose
    // frame offsets are consecutive too), each run split as evenly as possible
    // (3 → 3, 9 → 3+3+3, 96 → 24×4).
    let (zero_top, data_end) = p.data_rows();
    for s in 0..p.kh {
        // Output rows whose frame row oh + s is padding add nothing.
        let oh0 = zero_top.saturating_sub(s).min(p.out_h);
        let oh1 = data_end.saturating_sub(s).min(p.out_h).max(oh0);
        let tiles = run.div_ceil(4);
        let mut t = 0;
        for i in 0..tiles {
            let rows = run / tiles + usize::from(i < run % tiles);
            let t0 = s * run + t;
            for q in 0..n / NR {
                // SAFETY: frame reads (oh·seg + s·seg + ow·c + t + r, r < rows) are bounded
                // as in `correlate`; gy reads are pixel·n + q·8 + 8 <= out_len; dw rows
                // t0..t0+rows <= taps.
                unsafe {
                    let f = frame.as_ptr().add((oh0 + s) * seg + t);
                    let g = gy.as_ptr().add(oh0 * p.out_w * n + q * NR);
                    let d = dw.as_mut_ptr().add(t0 * n + q * NR);
                    let sweep = Sweep { frame: f, c: p.c, seg, out_h: oh1 - oh0, out_w: p.out_w };
                    if p.c == 1 && p.kw == 3 && rows == 3 {
                        // One input channel: the tile is the kernel row, whose three taps
                        // read three consecutive frame values; each is loaded once.
                        micro::grad_tile_c1k3(sweep, g, n, d);
                        continue;
                    }
                    match rows {
                        4 => micro::grad_tile::<4>(sweep, g, n, d),
                        3 => micro::grad_tile::<3>(sweep, g, n, d),
                        2 => micro::grad_tile::<2>(sweep, g, n, d),
                        _ => micro::grad_tile::<1>(sweep, g, n, d),
                    }
                }
            }
            t += rows;
        }
    }
}

/// One sample, n < 8 and run a multiple of 4: for each output channel, up to 32
/// consecutive taps of one kernel row at a time in 8 vectors, gy broadcast per pixel.
#[inline(never)]
pub(super) fn kernel_grad_narrow(p: &Corr, frame: &[f32], gy: &[f32], dw: &mut [f32]) {
    let (run, n) = (p.run(), p.n);
    let seg = p.stride;
    assert!(
        frame.len() >= p.frame_len() && gy.len() == p.out_len() && dw.len() == p.taps() * n && run.is_multiple_of(4)
    );
    if (p.kw == 2 || p.kw == 3) && p.c.is_multiple_of(8) && (p.out_w + 2 * (p.kw - 1)) * p.out_h <= GPAD {
        if p.kw == 3 {
            kernel_grad_kw::<3>(p, frame, gy, dw);
        } else {
            kernel_grad_kw::<2>(p, frame, gy, dw);
        }
        return;
    }
    for j in 0..n {
        for s in 0..p.kh {
            let mut t = 0;
            while t < run {
                let vecs = ((run - t) / 4).min(8);
                // SAFETY: taps s·run + t .. + 4·vecs <= taps; frame and gy reads as in kernel_grad_wide.
                unsafe {
                    let sweep =
                        Sweep { frame: frame.as_ptr().add(s * seg + t), c: p.c, seg, out_h: p.out_h, out_w: p.out_w };
                    let (g, d) = (gy.as_ptr().add(j), dw.as_mut_ptr().add((s * run + t) * n + j));
                    match vecs {
                        8 => micro::grad_cols::<8>(sweep, g, n, d),
                        4..=7 => micro::grad_cols::<4>(sweep, g, n, d),
                        2 | 3 => micro::grad_cols::<2>(sweep, g, n, d),
                        _ => micro::grad_cols::<1>(sweep, g, n, d),
                    }
                    t += 4 * match vecs {
                        8 => 8,
                        4..=7 => 4,
                        2 | 3 => 2,
                        _ => 1,
                    };
                }
            }
        }
    }
}

/// Capacity (floats) of the zero-bordered copy of one output channel of gy that
/// [`kernel_grad_kw`] keeps on the stack.
const GPAD: usize = 4096;

/// kernel_grad_narrow for KW-wide kernel rows (2 or 3) and c a multiple of 8: for each
/// output channel, gy is copied with KW - 1 zeros on either side of each row, so that
/// every frame vector, loaded once, feeds the KW taps of its kernel row (gy at ow, ow-1, ...).
#[inline(never)]
fn kernel_grad_kw<const KW: usize>(p: &Corr, frame: &[f32], gy: &[f32], dw: &mut [f32]) {
    let (c, n, gw) = (p.c, p.n, p.out_w + 2 * (KW - 1));
    let seg = p.stride;
    assert!(p.kw == KW && c.is_multiple_of(8) && gw * p.out_h <= GPAD);
    assert!(frame.len() >= p.frame_len() && gy.len() == p.out_len() && dw.len() == p.taps() * n);
    let mut gpad = [0.0f32; GPAD];
    for j in 0..n {
        for oh in 0..p.out_h {
            let row = &mut gpad[oh * gw..][..gw];
            for (ow, g) in row[KW - 1..KW - 1 + p.out_w].iter_mut().enumerate() {
                *g = gy[(oh * p.out_w + ow) * n + j];
            }
        }
        for s in 0..p.kh {
            for v in (0..c).step_by(8) {
                // SAFETY: frame reads are (oh + s)·seg + q·c + v + 8 with q < out_w + KW - 1 =
                // frame_w and v + 8 <= c, inside the frame; gpad reads q + KW - 1 < gw per
                // row; dw rows (s·KW + kw)·c + v + 8 <= taps, column j < n.
                unsafe {
                    let sweep =
                        Sweep { frame: frame.as_ptr().add(s * seg + v), c, seg, out_h: p.out_h, out_w: p.out_w };
                    micro::grad_kw::<KW>(
                        sweep,
                        gpad.as_ptr(),
                        gw,
                        dw.as_mut_ptr().add(((s * KW) * c + v) * n + j),
                        n,
                        c * n,
                    );
                }
            }
        }
    }
}

/// The micro-kernels, written once over [`V4`] (f32x4 on wasm SIMD, [f32; 4] elsewhere).
mod micro {
    use crate::kernels::simd::V4;

    /// The pixels a kernel-gradient micro-kernel sweeps: `out_h` rows of `out_w` pixels,
    /// their frame reads starting at `frame` (already offset to the kernel row and tap),
    /// pixels `c` floats apart and rows `seg`.
    #[derive(Clone, Copy)]
    pub struct Sweep {
        pub frame: *const f32,
        pub c: usize,
        pub seg: usize,
        pub out_h: usize,
        pub out_w: usize,
    }

    /// For kernel row s (frame already offset to it and to channel v): dw[(kw·c + l)·ldd]
    /// += Σ_{oh,ow} frame[oh·seg + (ow + kw)·c + l] · g[oh][ow] for kw < KW, l < 8. `g` is one
    /// output channel with KW - 1 zeros before and after each row (rows `gw` apart), so the
    /// sweep over the frame columns q reads g at q, q-1, ... for the KW taps.
    ///
    /// # Safety
    /// Frame reads up to (out_h-1)·seg + (out_w+KW-2)·c + 8, g reads up to out_h·gw, and dw
    /// at ((KW-1)·c + 7)·ldd must be in bounds.
    #[inline(always)]
    pub unsafe fn grad_kw<const KW: usize>(
        sweep: Sweep,
        g: *const f32,
        gw: usize,
        dw: *mut f32,
        ldd: usize,
        tap_stride: usize,
    ) {
        let Sweep { frame, c, seg, out_h, out_w } = sweep;
        debug_assert_eq!(tap_stride, c * ldd);
        let mut acc = [[V4::zero(); 2]; KW];
        for oh in 0..out_h {
            let mut xp = frame.add(oh * seg);
            let mut gp = g.add(oh * gw + KW - 1);
            // gs[k]: g at column q - k, the weight of tap k for frame column q.
            let mut gs = [V4::zero(); KW];
            for _ in 0..out_w + KW - 1 {
                for k in (1..KW).rev() {
                    gs[k] = gs[k - 1];
                }
                gs[0] = V4::splat_load(gp);
                let x0 = V4::load(xp);
                let x1 = V4::load(xp.add(4));
                for (acc, g) in acc.iter_mut().zip(&gs) {
                    acc[0] = acc[0].mul_add(x0, *g);
                    acc[1] = acc[1].mul_add(x1, *g);
                }
                xp = xp.add(c);
                gp = gp.add(1);
            }
        }
        for (kw, acc) in acc.iter().enumerate() {
            for (h, acc) in acc.iter().enumerate() {
                for (l, x) in acc.lanes().iter().enumerate() {
                    *dw.add(kw * tap_stride + (4 * h + l) * ldd) += x;
                }
            }
        }
    }

    /// dw[r·ldg + 0..8] += Σ_pixels frame[pixel·c + r] · g[pixel·ldg ..][..8] for R
    /// consecutive taps (frame already offset to the first) over the out_h × out_w pixels
    /// (frame rows `seg` apart, g rows out_w·ldg apart): one frame pointer for all R
    /// broadcasts keeps the loop's integer registers few enough for V8 not to spill.
    ///
    /// # Safety
    /// Every frame, g and dw access above must be in bounds.
    #[inline(always)]
    pub unsafe fn grad_tile<const R: usize>(sweep: Sweep, g: *const f32, ldg: usize, dw: *mut f32) {
        let Sweep { frame, c, seg, out_h, out_w } = sweep;
        let mut acc = [[V4::zero(); 2]; R];
        let mut gp = g;
        for oh in 0..out_h {
            let mut xp = frame.add(oh * seg);
            for _ in 0..out_w {
                let b0 = V4::load(gp);
                let b1 = V4::load(gp.add(4));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let av = V4::splat_load(xp.add(r));
                    acc[0] = acc[0].mul_add(av, b0);
                    acc[1] = acc[1].mul_add(av, b1);
                }
                gp = gp.add(ldg);
                xp = xp.add(c);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let d = dw.add(r * ldg);
            V4::load(d).add(acc[0]).store(d);
            V4::load(d.add(4)).add(acc[1]).store(d.add(4));
        }
    }

    /// [`grad_tile`] with R = 3 for c = 1 and kw = 3 (the three taps of a kernel row):
    /// pixel ow reads the frame at ow, ow + 1 and ow + 2, so the broadcasts slide along
    /// the row, one new load per pixel instead of three.
    ///
    /// # Safety
    /// As [`grad_tile`] with c = 1, R = 3.
    #[inline(always)]
    pub unsafe fn grad_tile_c1k3(sweep: Sweep, g: *const f32, ldg: usize, dw: *mut f32) {
        let Sweep { frame, seg, out_h, out_w, .. } = sweep;
        let mut acc = [[V4::zero(); 2]; 3];
        let mut gp = g;
        for oh in 0..out_h {
            let xp = frame.add(oh * seg);
            let (mut x0, mut x1) = (V4::splat_load(xp), V4::splat_load(xp.add(1)));
            for ow in 0..out_w {
                let x2 = V4::splat_load(xp.add(ow + 2));
                let b0 = V4::load(gp);
                let b1 = V4::load(gp.add(4));
                acc[0][0] = acc[0][0].mul_add(x0, b0);
                acc[0][1] = acc[0][1].mul_add(x0, b1);
                acc[1][0] = acc[1][0].mul_add(x1, b0);
                acc[1][1] = acc[1][1].mul_add(x1, b1);
                acc[2][0] = acc[2][0].mul_add(x2, b0);
                acc[2][1] = acc[2][1].mul_add(x2, b1);
                (x0, x1) = (x1, x2);
                gp = gp.add(ldg);
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            let d = dw.add(r * ldg);
            V4::load(d).add(acc[0]).store(d);
            V4::load(d.add(4)).add(acc[1]).store(d.add(4));
        }
    }

    /// dw[(4v + l)·ldg] += Σ_pixels frame[pixel·c + 4v + l] · g[pixel·ldg] for V vectors
    /// of consecutive taps (one output channel: g and dw already offset to it).
    ///
    /// # Safety
    /// As [`grad_tile`].
    #[inline(always)]
    pub unsafe fn grad_cols<const V: usize>(sweep: Sweep, g: *const f32, ldg: usize, dw: *mut f32) {
        let Sweep { frame, c, seg, out_h, out_w } = sweep;
        let mut acc = [V4::zero(); V];
        let mut gp = g;
        for oh in 0..out_h {
            let row = frame.add(oh * seg);
            let mut o = 0;
            for _ in 0..out_w {
                let gv = V4::splat_load(gp);
                for (v, acc) in acc.iter_mut().enumerate() {
                    *acc = acc.mul_add(V4::load(row.add(o + 4 * v)), gv);
                }
                gp = gp.add(ldg);
                o += c;
            }
        }
        for (v, acc) in acc.iter().enumerate() {
            for (l, x) in acc.lanes().iter().enumerate() {
                *dw.add((4 * v + l) * ldg) += x;
            }
        }
    }
}
