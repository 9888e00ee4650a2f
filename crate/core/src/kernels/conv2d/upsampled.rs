//! Conv2D over a nearest-neighbour upsampled image, computed from the image itself
//! (sub-pixel decomposition): Keras's `UpSampling2D(size)` followed by `Conv2D`, without
//! ever writing or reading the upsampled tensor.
//!
//! Why it is exact: along one axis, output `o` of a stride-1 convolution with `k` taps and
//! `P` padding before reads upsampled rows `o - P + t` (t < k), which are source rows
//! `⌊(o - P + t) / s⌋`. Writing `o - P = s·m + q` (q in 0..s, the output's residue
//! class), those rows are `m + ⌊(q + t) / s⌋`: the outputs of one class form a plain
//! stride-1 correlation of the *source* with `E_q = ⌊(q + k - 1) / s⌋ + 1` taps, whose
//! weights are sums of the original taps, `W_q[e] = Σ_{t : ⌊(q + t)/s⌋ = e} K[t]`. Zero
//! padding of the upsampled image is zero padding of the source. So each of the s_h·s_w
//! classes is one correlation on the direct path (crate::kernels::conv2d::direct), and
//! the results are scattered to their pixels.
//!
//! Why it is faster: for s = 2 and a 3×3 kernel, 2×2 taps per class instead of 3×3 (4/9 of
//! the multiply-adds), over a source a quarter of the upsampled size; the backward pass
//! gets the same saving, and the UpSampling2D layer's own passes (writing the upsampled
//! tensor, summing its gradient back) disappear. It agrees with upsample-then-convolve to
//! float rounding (the summed weights round differently).
//!
//! Work runs in chunks of a few samples: each sample's source is padded once into a frame
//! that every class reads a window of, then each class runs over the chunk, so its packed
//! weights (on the stack, like every direct plan's) are made once per chunk and the chunk
//! stays in cache.

use super::direct::{Corr, KernelGrad, Plan};
use super::sample::Epilogue;
use super::{Conv2dBackward, Conv2dForward, Conv2dGeometry, Conv2dGrads};

/// Samples per chunk: a 14×14×32 source and its gradient for 8 samples are 400 KB.
const CHUNK: usize = 8;

/// One residue class along one axis: outputs `first, first + s, ...` (`count` of them),
/// a correlation with `taps` taps over the source padded with `pad` zeros before it.
#[derive(Clone, Copy, Debug)]
struct AxisClass {
    /// The residue q of `o - P` modulo s.
    q: usize,
    first: usize,
    count: usize,
    taps: usize,
    pad: usize,
}

impl AxisClass {
    /// The classes of one axis, or None if one would need the source cut at its start
    /// (no Keras geometry does: that needs more padding after than before).
    fn all(s: usize, k: usize, pad_before: usize, out: usize) -> Option<Vec<AxisClass>> {
        let mut classes = Vec::with_capacity(s);
        for q in 0..s {
            let first = (q + pad_before) % s;
            if first >= out {
                continue;
            }
            // m of the first output: (first - P - q) / s, an exact division.
            let m = (first as isize - pad_before as isize - q as isize) / s as isize;
            if m > 0 {
                return None;
            }
            let taps = (q + k - 1) / s + 1;
            classes.push(AxisClass { q, first, count: (out - 1 - first) / s + 1, taps, pad: (-m) as usize });
        }
        Some(classes)
    }

    /// The original taps summed into this class's tap `e`.
    fn taps_of(&self, e: usize, s: usize, k: usize) -> core::ops::Range<usize> {
        (e * s).saturating_sub(self.q)..((e + 1) * s - self.q).min(k)
    }

    /// This class's tap that original tap `t` is summed into.
    fn tap_of(&self, t: usize, s: usize) -> usize {
        (self.q + t) / s
    }
}

/// `UpSampling2D(size)` then a Conv2D of geometry `conv` (over the upsampled image).
#[derive(Clone, Debug)]
pub struct UpsampledConv2d {
    conv: Conv2dGeometry,
    size: [usize; 2],
    /// The source image: [h, w, c].
    source: [usize; 3],
    rows: Vec<AxisClass>,
    cols: Vec<AxisClass>,
}

/// Where a class's window starts in the shared frame: (row, column).
fn window_start(frame: &Corr, r: &AxisClass, c: &AxisClass) -> (usize, usize) {
    (frame.pad_t - r.pad, frame.pad_l - c.pad)
}

impl UpsampledConv2d {
    /// None when the direct path cannot run every class (a packed kernel over its stack
    /// buffer, a kernel gradient shape it has no micro-kernel for); the caller then runs
    /// the two layers as they are.
    pub fn new(conv: Conv2dGeometry, size: [usize; 2]) -> Option<UpsampledConv2d> {
        let [sh, sw] = size;
        if sh == 0
            || sw == 0
            || !conv.in_h.is_multiple_of(sh)
            || !conv.in_w.is_multiple_of(sw)
            || conv.output_len() == 0
        {
            return None;
        }
        let rows = AxisClass::all(sh, conv.kernel_h, conv.pad_top(), conv.out_h())?;
        let cols = AxisClass::all(sw, conv.kernel_w, conv.pad_left(), conv.out_w())?;
        let op = UpsampledConv2d { conv, size, source: [conv.in_h / sh, conv.in_w / sw, conv.in_c], rows, cols };
        let runs = op.classes().all(|(r, c)| {
            let p = op.corr(r, c);
            p.transposable()
                && KernelGrad::correlation(p, usize::MAX).is_some()
                && Plan::correlation(p, |_, _| 0.0, None, false, usize::MAX).is_some()
                && Plan::correlation_input_grad(p, |_, _| 0.0, usize::MAX).is_some()
        });
        runs.then_some(op)
    }

    /// The convolution's geometry over the upsampled image.
    pub fn conv(&self) -> &Conv2dGeometry {
        &self.conv
    }

    /// Elements per source sample (the layer's input).
    pub fn input_len(&self) -> usize {
        self.source.iter().product()
    }

    /// Scratch floats the calls below need (per thread).
    pub fn scratch_len(&self) -> usize {
        let (frames, dy_frame, class_out) = self.scratch_parts();
        frames + dy_frame + class_out + self.input_len() + self.class_kernels_len()
    }

    /// Scratch parts: CHUNK shared frames, the input gradient's frame, a class's grid.
    fn scratch_parts(&self) -> (usize, usize, usize) {
        let frames = CHUNK * self.shared_frame().frame_len();
        let dy_frame = self.classes().map(|(r, c)| self.corr(r, c).scratch_len()).max().unwrap_or(0);
        let class_out = self.classes().map(|(r, c)| r.count * c.count * self.conv.out_c).max().unwrap_or(0);
        (frames, dy_frame, class_out)
    }

    /// The chunk's frames, made in `frames` (or the samples themselves when no class needs
    /// padding), as offsets: sample i of the chunk is frames-or-x[offset(i)..].
    fn make_frames<'a>(
        &self,
        shared: &Corr,
        x: &'a [f32],
        samples: core::ops::Range<usize>,
        frames: &'a mut [f32],
    ) -> (&'a [f32], usize, usize) {
        let il = self.input_len();
        if shared.unpadded() {
            // The source is its own frame.
            return (x, samples.start * il, il);
        }
        let len = shared.frame_len();
        for (i, b) in samples.enumerate() {
            let frame = &mut frames[i * len..(i + 1) * len];
            let made = shared.frame(&x[b * il..][..il], frame);
            debug_assert!(core::ptr::eq(made.as_ptr(), frame.as_ptr()));
        }
        (frames, 0, len)
    }

    fn class_kernel_len(&self, r: &AxisClass, c: &AxisClass) -> usize {
        r.taps * c.taps * self.conv.in_c * self.conv.out_c
    }

    fn class_kernels_len(&self) -> usize {
        self.classes().map(|(r, c)| self.class_kernel_len(r, c)).sum()
    }

    fn classes(&self) -> impl Iterator<Item = (&AxisClass, &AxisClass)> + '_ {
        self.rows.iter().flat_map(move |r| self.cols.iter().map(move |c| (r, c)))
    }

    fn corr(&self, r: &AxisClass, c: &AxisClass) -> Corr {
        let [h, w, ch] = self.source;
        Corr::new([r.taps, c.taps], ch, self.conv.out_c, [h, w], [r.pad, c.pad], [r.count, c.count])
    }

    /// The frame every class reads a window of: the source with the most padding any class
    /// needs before it, and as far after it as any class's window reaches. (A correlation
    /// with a 1×1 kernel whose output is that frame: only its `frame` is used.)
    fn shared_frame(&self) -> Corr {
        let [h, w, ch] = self.source;
        let pad_t = self.rows.iter().map(|r| r.pad).max().unwrap_or(0);
        let pad_l = self.cols.iter().map(|c| c.pad).max().unwrap_or(0);
        let fh = self.rows.iter().map(|r| pad_t - r.pad + r.count + r.taps - 1).max().unwrap_or(0);
        let fw = self.cols.iter().map(|c| pad_l - c.pad + c.count + c.taps - 1).max().unwrap_or(0);
        Corr::new([1, 1], ch, 1, [h, w], [pad_t, pad_l], [fh, fw])
    }

    /// Class (r, c) as a window of the shared frame `frame`, and the window's first float.
    fn window(&self, frame: &Corr, r: &AxisClass, c: &AxisClass) -> (Corr, usize) {
        let (row, col) = window_start(frame, r, c);
        (self.corr(r, c).in_frame(frame.frame_w()), (row * frame.frame_w() + col) * self.source[2])
    }

    /// The class's weights W[(eh, ew, ci), co]: sums of the original kernel's taps.
    fn class_weight<'a>(
        &'a self,
        r: &'a AxisClass,
        c: &'a AxisClass,
        kernel: &'a [f32],
    ) -> impl Fn(usize, usize) -> f32 + 'a {
        let g = &self.conv;
        let [sh, sw] = self.size;
        move |t, co| {
            let (tap, ci) = (t / g.in_c, t % g.in_c);
            let (eh, ew) = (tap / c.taps, tap % c.taps);
            let mut sum = 0.0;
            for th in r.taps_of(eh, sh, g.kernel_h) {
                for tw in c.taps_of(ew, sw, g.kernel_w) {
                    sum += kernel[((th * g.kernel_w + tw) * g.in_c + ci) * g.out_c + co];
                }
            }
            sum
        }
    }

    /// Copies pixel (i, j) of a class's compact grid to or from its place in the output
    /// image, for every pixel of the class (`to_image`: grid → image).
    fn move_class(&self, r: &AxisClass, c: &AxisClass, image: &mut [f32], grid: &mut [f32], to_image: bool) {
        let (n, ow) = (self.conv.out_c, self.conv.out_w());
        let [sh, sw] = self.size;
        for i in 0..r.count {
            let row = (r.first + sh * i) * ow + c.first;
            let (image, grid) = (&mut image[row * n..], &mut grid[i * c.count * n..][..c.count * n]);
            if n == 1 {
                // One float a pixel: a copy_from_slice each would be a memory.copy call each.
                for (j, cell) in grid.iter_mut().enumerate() {
                    if to_image {
                        image[sw * j] = *cell;
                    } else {
                        *cell = image[sw * j];
                    }
                }
                continue;
            }
            for (j, cell) in grid.chunks_exact_mut(n).enumerate() {
                let pixel = &mut image[sw * j * n..][..n];
                if to_image {
                    pixel.copy_from_slice(cell);
                } else {
                    cell.copy_from_slice(pixel);
                }
            }
        }
    }

    /// y = act(conv(upsample(x), kernel) + bias), overwriting y (the arguments checked by
    /// [`Conv2dOp::forward`](super::Conv2dOp::forward)).
    pub(super) fn forward(&self, batch: usize, args: Conv2dForward, epilogue: Epilogue) {
        let Conv2dForward { x, kernel, bias, y, scratch, .. } = args;
        let ol = self.conv.output_len();
        let (frames_len, _, class_len) = self.scratch_parts();
        let (frames, rest) = scratch.split_at_mut(frames_len);
        let grids = &mut rest[..class_len];
        let shared = self.shared_frame();
        let (store_bias, relu) = epilogue.in_stores(bias);
        for start in (0..batch).step_by(CHUNK) {
            let samples = start..(start + CHUNK).min(batch);
            let (frames, first, step) = self.make_frames(&shared, x, samples.clone(), frames);
            for (r, c) in self.classes() {
                let (p, at) = self.window(&shared, r, c);
                let weight = self.class_weight(r, c, kernel);
                let plan = Plan::correlation(p, weight, store_bias, relu, usize::MAX).expect("checked by new()");
                let grid = &mut grids[..r.count * c.count * self.conv.out_c];
                for (i, b) in samples.clone().enumerate() {
                    plan.run_in(&frames[first + i * step + at..], grid);
                    self.move_class(r, c, &mut y[b * ol..][..ol], grid, true);
                }
            }
            if store_bias.is_none() {
                for b in samples {
                    epilogue.forward(&mut y[b * ol..][..ol], bias);
                }
            }
        }
    }

    /// The whole backward pass of y = act(conv(upsample(x), K) + b): `dy` ← act'(y)·dy (in
    /// place), `dbias` = Σ dy, `dkernel` = ∂L/∂K, and when wanted, `dx` = ∂L/∂x (the source's
    /// gradient), all overwritten (checked and the gradients cleared by
    /// [`Conv2dOp::backward`](super::Conv2dOp::backward)).
    pub(super) fn backward(&self, batch: usize, args: Conv2dBackward, epilogue: Epilogue) {
        let Conv2dBackward { x, y, dy, kernel, grads: Conv2dGrads { dkernel, dbias }, mut dx, scratch, .. } = args;
        let g = self.conv;
        let (il, ol) = (self.input_len(), g.output_len());
        let (frames_len, dy_frame_len, class_len) = self.scratch_parts();
        let (frames, rest) = scratch.split_at_mut(frames_len);
        let (dy_frame, rest) = rest.split_at_mut(dy_frame_len);
        let (grids, rest) = rest.split_at_mut(class_len);
        let (dx_class, class_kernels) = rest.split_at_mut(il);
        let shared = self.shared_frame();
        let class_kernels = &mut class_kernels[..self.class_kernels_len()];
        class_kernels.fill(0.0);
        for start in (0..batch).step_by(CHUNK) {
            let samples = start..(start + CHUNK).min(batch);
            for b in samples.clone() {
                epilogue.backward(Some(&y[b * ol..][..ol]), &mut dy[b * ol..][..ol], dbias);
            }
            let (frames, first, step) = self.make_frames(&shared, x, samples.clone(), frames);
            let mut offset = 0;
            for (k, (r, c)) in self.classes().enumerate() {
                let (window, at) = self.window(&shared, r, c);
                let grad = KernelGrad::correlation(window, usize::MAX).expect("checked by new()");
                let input = dx.is_some().then(|| {
                    Plan::correlation_input_grad(self.corr(r, c), self.class_weight(r, c, kernel), dy_frame_len)
                        .expect("checked by new()")
                });
                let dk = &mut class_kernels[offset..offset + self.class_kernel_len(r, c)];
                offset += dk.len();
                let grid = &mut grids[..r.count * c.count * g.out_c];
                for (i, b) in samples.clone().enumerate() {
                    self.move_class(r, c, &mut dy[b * ol..][..ol], grid, false);
                    grad.run_in(&frames[first + i * step + at..], grid, dk);
                    if let (Some(plan), Some(dx)) = (&input, dx.as_deref_mut()) {
                        let dxb = &mut dx[b * il..][..il];
                        if k == 0 {
                            plan.run(grid, dxb, dy_frame);
                        } else {
                            plan.run(grid, dx_class, dy_frame);
                            dxb.iter_mut().zip(dx_class.iter()).for_each(|(d, v)| *d += v);
                        }
                    }
                }
            }
        }
        self.fold_class_kernels(class_kernels, dkernel);
    }

    /// dkernel[t] += Σ over classes of the class gradient at the tap t was summed into
    /// (dkernel arrives cleared).
    fn fold_class_kernels(&self, class_kernels: &[f32], dkernel: &mut [f32]) {
        let g = &self.conv;
        let [sh, sw] = self.size;
        let (ic, oc) = (g.in_c, g.out_c);
        let mut offset = 0;
        for (r, c) in self.classes() {
            let dk = &class_kernels[offset..offset + self.class_kernel_len(r, c)];
            offset += dk.len();
            for th in 0..g.kernel_h {
                for tw in 0..g.kernel_w {
                    let tap = r.tap_of(th, sh) * c.taps + c.tap_of(tw, sw);
                    let (dst, src) =
                        (&mut dkernel[(th * g.kernel_w + tw) * ic * oc..][..ic * oc], &dk[tap * ic * oc..][..ic * oc]);
                    dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
                }
            }
        }
    }
}
