//! The correlation engine of forward and input gradient: out = frame ⋆ W with the packed
//! weights, R output pixels × 8 channels per micro-tile, or R dot products when there is
//! a single output channel.

use super::{Corr, NR};
use micro::{Out, Windows};

/// One sample: out = frame ⋆ W, with EPILOGUE + bias and then max(·, 0) when `relu`
/// (`bias` as [`super::Packed`] holds it: one float when n == 1, else whole panels).
/// Two copies, not one per epilogue: four (bias × relu as const parameters), which
/// wasm-opt inlines into their one caller, made every correlation ~40% slower in V8;
/// without EPILOGUE (input gradients, plain forwards) the stores add nothing.
#[inline(never)]
pub(super) fn correlate<const EPILOGUE: bool>(
    p: &Corr,
    frame: &[f32],
    w: &[f32],
    bias: &[f32],
    relu: bool,
    out: &mut [f32],
) {
    let (c, n, run, kh) = (p.c, p.n, p.run(), p.kh);
    let seg = p.stride;
    // Every frame read is below frame_h·frame_w·c: the last tap of the last pixel is
    // (out_h-1+kh-1, out_w-1+kw-1, c-1). Every write is inside out.
    assert!(frame.len() >= p.frame_len() && out.len() == p.out_len() && p.out_len() > 0);
    assert_eq!(bias.len(), if n == 1 { 1 } else { p.panels() * NR });
    let b = bias.as_ptr();
    let (f, o) = (frame.as_ptr(), out.as_mut_ptr());
    // Frame rows outside [pad_t, pad_t + src_h) are zeros: kernel rows that would only
    // read them are skipped (a 'same' layer's first and last rows, and more for the
    // input gradient of a 'valid' one). The source itself has no zero rows.
    let (zero_top, data_end) = p.data_rows();
    for oh in 0..p.out_h {
        let s0 = zero_top.saturating_sub(oh).min(kh);
        let kh = data_end.saturating_sub(oh).min(kh).max(s0) - s0;
        let w = &w[s0 * run * if n == 1 { 1 } else { NR }..];
        let mut ow = 0;
        while ow < p.out_w {
            let left = p.out_w - ow;
            // SAFETY: pixels ow..ow+R < out_w of row oh, kernel rows s0..s0+kh < p.kh;
            // see the assert above.
            unsafe {
                let win = Windows { a: f.add((oh + s0) * seg + ow * c), c, seg, kh, run };
                let y = o.add((oh * p.out_w + ow) * n);
                if n == 1 && (p.kw == 2 || p.kw == 3) && c.is_multiple_of(4) && left >= 4 {
                    // Each frame vector serves the two or three taps of its kernel row.
                    let (w, out) = (w.as_ptr(), Out { y, ldo: 1, nr: 1, bias: b, relu });
                    ow += match (p.kw, left >= 8) {
                        (3, true) => micro::dot_kw::<8, 3, EPILOGUE>(win, w, out),
                        (3, false) => micro::dot_kw::<4, 3, EPILOGUE>(win, w, out),
                        (_, true) => micro::dot_kw::<8, 2, EPILOGUE>(win, w, out),
                        (_, false) => micro::dot_kw::<4, 2, EPILOGUE>(win, w, out),
                    };
                } else if n == 1 {
                    let (w, out) = (w.as_ptr(), Out { y, ldo: 1, nr: 1, bias: b, relu });
                    ow += match left {
                        8.. => micro::dot::<8, EPILOGUE>(win, w, out),
                        4..=7 => micro::dot::<4, EPILOGUE>(win, w, out),
                        2 | 3 => micro::dot::<2, EPILOGUE>(win, w, out),
                        _ => micro::dot::<1, EPILOGUE>(win, w, out),
                    };
                } else {
                    let taps = p.taps();
                    let r = left.min(4);
                    for q in 0..p.panels() {
                        // Panel q starts q·taps·NR floats in; `w` starts at row s0.
                        let panel = w.as_ptr().add(q * taps * NR);
                        let out = Out { y: y.add(q * NR), ldo: n, nr: NR.min(n - q * NR), bias: b.add(q * NR), relu };
                        if c == 1 && (p.kw == 2 || p.kw == 3) && r == 4 {
                            // One input channel: the four pixels' two or three taps per
                            // kernel row read five or six distinct frame values, each loaded once.
                            if p.kw == 3 {
                                micro::tile_c1kw::<4, 3, EPILOGUE>(win, panel, out);
                            } else {
                                micro::tile_c1kw::<4, 2, EPILOGUE>(win, panel, out);
                            }
                            continue;
                        }
                        match r {
                            4 => micro::tile::<4, EPILOGUE>(win, panel, out),
                            3 => micro::tile::<3, EPILOGUE>(win, panel, out),
                            2 => micro::tile::<2, EPILOGUE>(win, panel, out),
                            _ => micro::tile::<1, EPILOGUE>(win, panel, out),
                        }
                    }
                    ow += r;
                }
            }
        }
    }
}

/// The micro-kernels, written once over [`V4`] (f32x4 on wasm SIMD, [f32; 4] elsewhere).
mod micro {
    use super::super::NR;
    use crate::kernels::simd::V4;

    /// R consecutive output pixels' receptive fields, read in place from the frame.
    #[derive(Clone, Copy)]
    pub struct Windows {
        /// The first pixel's first tap (kernel row s0, where the sum starts).
        pub a: *const f32,
        /// Floats from one pixel's window to the next (the frame's channels).
        pub c: usize,
        /// Floats from one frame row to the next.
        pub seg: usize,
        /// Kernel rows to sum over.
        pub kh: usize,
        /// Taps of one kernel row: kw·c floats, contiguous in the frame.
        pub run: usize,
    }

    /// Where a micro-kernel stores its R pixels: pixel r at `y + r·ldo`, its first `nr`
    /// channels (≤ 8); with EPILOGUE plus `bias` (NR floats, or one for a single channel)
    /// and then max(·, 0) when `relu`.
    #[derive(Clone, Copy)]
    pub struct Out {
        pub y: *mut f32,
        pub ldo: usize,
        pub nr: usize,
        pub bias: *const f32,
        pub relu: bool,
    }

    /// out[r][0..nr] = Σ_{s<kh} Σ_{t<run} a[s·seg + r·c + t] · panel[(s·run + t)·8 ..][..8]
    /// for R consecutive pixels.
    ///
    /// # Safety
    /// Every read of a (see above) and of the panel (kh·run rows of 8) must be in bounds,
    /// and out rows r < R must have nr writable floats.
    #[inline(always)]
    pub unsafe fn tile<const R: usize, const EPILOGUE: bool>(win: Windows, panel: *const f32, out: Out) {
        let Windows { a, c, seg, kh, run } = win;
        let mut acc = [[V4::zero(); 2]; R];
        let rows: [*const f32; R] = core::array::from_fn(|r| a.add(r * c));
        let mut bp = panel;
        for s in 0..kh {
            let o = s * seg;
            for t in 0..run {
                let b0 = V4::load(bp);
                let b1 = V4::load(bp.add(4));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let av = V4::splat_load(rows[r].add(o + t));
                    acc[0] = acc[0].mul_add(av, b0);
                    acc[1] = acc[1].mul_add(av, b1);
                }
                bp = bp.add(NR);
            }
        }
        store_rows::<R, EPILOGUE>(acc, out);
    }

    /// out[r·ldo] = Σ_{s<kh} Σ_{t<run} a[s·seg + r·c + t] · w[s·run + t] for R pixels of a
    /// single channel, four taps at a time; returns R.
    ///
    /// # Safety
    /// As [`tile`], with `w` holding kh·run floats and out[r·ldo] writable for r < R.
    #[inline(always)]
    pub unsafe fn dot<const R: usize, const EPILOGUE: bool>(win: Windows, w: *const f32, out: Out) -> usize {
        let (Windows { a, c, seg, kh, run }, Out { y, ldo, bias, relu, .. }) = (win, out);
        let mut acc = [V4::zero(); R];
        let mut tail = [0.0f32; R];
        let rows: [*const f32; R] = core::array::from_fn(|r| a.add(r * c));
        let body = run / 4 * 4;
        for s in 0..kh {
            let (o, ws) = (s * seg, w.add(s * run));
            let mut t = 0;
            while t < body {
                let wv = V4::load(ws.add(t));
                for (r, acc) in acc.iter_mut().enumerate() {
                    *acc = acc.mul_add(V4::load(rows[r].add(o + t)), wv);
                }
                t += 4;
            }
            for t in body..run {
                let wt = *ws.add(t);
                for (r, tail) in tail.iter_mut().enumerate() {
                    *tail += *rows[r].add(o + t) * wt;
                }
            }
        }
        for r in 0..R {
            let v = acc[r].hsum() + tail[r];
            *y.add(r * ldo) = match (EPILOGUE, relu) {
                (false, _) => v,
                (true, false) => v + *bias,
                (true, true) => V4::relu1(v + *bias),
            };
        }
        R
    }

    /// [`tile`] for c = 1 and kw = KW (2 or 3, R ≤ 4): per kernel row, the R + KW - 1
    /// frame values are broadcast once and each used by up to KW taps.
    ///
    /// # Safety
    /// As [`tile`] with c = 1, run = KW.
    #[inline(always)]
    pub unsafe fn tile_c1kw<const R: usize, const KW: usize, const EPILOGUE: bool>(
        win: Windows,
        panel: *const f32,
        out: Out,
    ) {
        let Windows { a, seg, kh, .. } = win;
        let mut acc = [[V4::zero(); 2]; R];
        let mut bp = panel;
        let mut row = a;
        for _ in 0..kh {
            let xs: [V4; 6] =
                core::array::from_fn(|i| if i < R + KW - 1 { V4::splat_load(row.add(i)) } else { V4::zero() });
            for kw in 0..KW {
                let b0 = V4::load(bp.add(kw * NR));
                let b1 = V4::load(bp.add(kw * NR + 4));
                for (r, acc) in acc.iter_mut().enumerate() {
                    acc[0] = acc[0].mul_add(xs[r + kw], b0);
                    acc[1] = acc[1].mul_add(xs[r + kw], b1);
                }
            }
            bp = bp.add(KW * NR);
            row = row.add(seg);
        }
        store_rows::<R, EPILOGUE>(acc, out);
    }

    /// Pixel r of out = the first nr lanes of acc[r], with EPILOGUE + bias and then
    /// max(·, 0) when `relu`.
    ///
    /// # Safety
    /// Rows r < R of out must have nr writable floats; bias, NR readable.
    #[inline(always)]
    unsafe fn store_rows<const R: usize, const EPILOGUE: bool>(acc: [[V4; 2]; R], out: Out) {
        let Out { y: out, ldo, nr, bias, relu } = out;
        let b = if EPILOGUE { [V4::load(bias), V4::load(bias.add(4))] } else { [V4::zero(); 2] };
        for (r, acc) in acc.iter().enumerate() {
            let dst = out.add(r * ldo);
            let v: [V4; 2] = core::array::from_fn(|h| match (EPILOGUE, relu) {
                (false, _) => acc[h],
                (true, false) => acc[h].add(b[h]),
                (true, true) => acc[h].add(b[h]).relu(),
            });
            if nr == NR {
                v[0].store(dst);
                v[1].store(dst.add(4));
            } else {
                let lanes = [v[0].lanes(), v[1].lanes()];
                for j in 0..nr {
                    *dst.add(j) = lanes[j / 4][j % 4];
                }
            }
        }
    }

    /// out[r] = Σ_{s<kh} Σ_{kw<KW} Σ_{ch<c} a[s·seg + (r + kw)·c + ch] · w[(s·KW + kw)·c + ch]
    /// for R consecutive pixels of a single output channel (c a multiple of 4, KW of 2 or
    /// 3): each frame vector is loaded once per kernel row and used for the (up to) KW
    /// pixels whose windows contain it. Returns R.
    ///
    /// # Safety
    /// Frame reads up to (kh-1)·seg + (R+KW-1)·c, w reads up to kh·KW·c, R outputs.
    #[inline(always)]
    pub unsafe fn dot_kw<const R: usize, const KW: usize, const EPILOGUE: bool>(
        win: Windows,
        w: *const f32,
        out: Out,
    ) -> usize {
        let (Windows { a, c, seg, kh, .. }, Out { y: out, bias, relu, .. }) = (win, out);
        let mut acc = [V4::zero(); R];
        for s in 0..kh {
            let (row, ws) = (a.add(s * seg), w.add(s * KW * c));
            let mut v = 0;
            while v < c {
                let wk: [V4; KW] = core::array::from_fn(|k| V4::load(ws.add(k * c + v)));
                let mut xp = row.add(v);
                for j in 0..R + KW - 1 {
                    let x = V4::load(xp);
                    for (k, wk) in wk.iter().enumerate() {
                        // Pixel j - k has this vector at its tap k.
                        if j >= k && j - k < R {
                            acc[j - k] = acc[j - k].mul_add(x, *wk);
                        }
                    }
                    xp = xp.add(c);
                }
                v += 4;
            }
        }
        let mut r = 0;
        while r + 4 <= R {
            let v = V4::hsum4([acc[r], acc[r + 1], acc[r + 2], acc[r + 3]]);
            let v = match (EPILOGUE, relu) {
                (false, _) => v,
                (true, false) => v.add(V4::splat_load(bias)),
                (true, true) => v.add(V4::splat_load(bias)).relu(),
            };
            v.store(out.add(r));
            r += 4;
        }
        R
    }
}
