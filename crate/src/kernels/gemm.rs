//! General matrix multiply: the workhorse of dense layers and (through im2col) convolutions.
//!
//! One blocked driver serves every transpose combination: A and B are read through
//! (row, column) strides, so `trans_a`/`trans_b` only change two numbers. B is packed,
//! one k-block × [`NR`]-column panel at a time, into a stack buffer with zero-padded
//! columns; A is read in place through its strides and broadcast one element at a time.
//! The micro-kernel keeps an `MR × NR` tile of C in registers (4 rows × 2 f32x4 = 8
//! accumulators: V8 has about 15 usable vector registers on x64).
//!
//! Narrow products (`n < NARROW_N`, e.g. a conv with one output channel) would waste most
//! of a zero-padded panel, so they take a per-column row-dot (A rows contiguous) or axpy
//! (A transposed) path instead.

/// Rows of C per micro-tile.
const MR: usize = 4;
/// Columns of C per micro-tile, and the width of a packed panel of B (two f32x4).
const NR: usize = 8;
/// Longest k-block: a KC × NR panel (8 KiB) stays in L1 while a row block of A streams past it.
const KC: usize = 256;
/// Rows of A per block: MC × KC floats (64 KiB) stay in L2 while every panel of B reuses them.
const MC: usize = 64;
/// Below this many columns the per-column dot/axpy path beats a zero-padded 8-column panel.
const NARROW_N: usize = 4;

/// C (m×n, row-major) = op(A)·op(B), or C += op(A)·op(B) when `accumulate`.
/// A is m×k row-major, or k×m when `trans_a` (op(A)=Aᵀ). B is k×n, or n×k when `trans_b`.
#[allow(clippy::too_many_arguments)]
pub fn gemm(m: usize, n: usize, k: usize, a: &[f32], trans_a: bool, b: &[f32], trans_b: bool, c: &mut [f32], accumulate: bool) {
    // These equalities are what make the unchecked reads below in bounds.
    assert_eq!(a.len(), m * k, "gemm: A has {} elements, expected {m}×{k}", a.len());
    assert_eq!(b.len(), k * n, "gemm: B has {} elements, expected {k}×{n}", b.len());
    assert_eq!(c.len(), m * n, "gemm: C has {} elements, expected {m}×{n}", c.len());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    let a = Strided::new(a, trans_a, m, k);
    let b = Strided::new(b, trans_b, k, n);
    // Split k into equal blocks no longer than KC (288 → 2×144, not 256 + 32).
    let kc_max = k.div_ceil(k.div_ceil(KC));
    if n < NARROW_N {
        narrow(m, n, k, kc_max, a, trans_a, b, c, accumulate);
    } else {
        blocked(m, n, k, kc_max, a, b, c, accumulate);
    }
}

/// The definition: C[i][j] (+)= Σ_p op(A)[i][p]·op(B)[p][j], summed in f64.
#[allow(clippy::too_many_arguments)]
pub fn gemm_reference(m: usize, n: usize, k: usize, a: &[f32], trans_a: bool, b: &[f32], trans_b: bool, c: &mut [f32], accumulate: bool) {
    assert_eq!(a.len(), m * k);
    assert_eq!(b.len(), k * n);
    assert_eq!(c.len(), m * n);
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0f64;
            for p in 0..k {
                let aip = if trans_a { a[p * m + i] } else { a[i * k + p] };
                let bpj = if trans_b { b[j * k + p] } else { b[p * n + j] };
                sum += aip as f64 * bpj as f64;
            }
            let cij = &mut c[i * n + j];
            *cij = if accumulate { (*cij as f64 + sum) as f32 } else { sum as f32 };
        }
    }
}

/// A matrix read through strides: element (r, c) is `data[r * rs + c * cs]`.
#[derive(Clone, Copy)]
struct Strided<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl<'a> Strided<'a> {
    /// The logical `rows × cols` matrix stored row-major, or stored as its transpose.
    fn new(data: &'a [f32], transposed: bool, rows: usize, cols: usize) -> Self {
        if transposed {
            Strided { data, rs: 1, cs: rows }
        } else {
            Strided { data, rs: cols, cs: 1 }
        }
    }

    #[inline(always)]
    fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.rs + c * self.cs]
    }
}

/// The panel path: k-blocks × row blocks × 8-column panels of B × 4-row micro-tiles.
#[allow(clippy::too_many_arguments)]
fn blocked(m: usize, n: usize, k: usize, kc_max: usize, a: Strided, b: Strided, c: &mut [f32], accumulate: bool) {
    let mut panel = [0.0f32; KC * NR];
    for pc in (0..k).step_by(kc_max) {
        let kc = kc_max.min(k - pc);
        // Later k-blocks add to what the first one wrote.
        let load_c = accumulate || pc > 0;
        for ic in (0..m).step_by(MC) {
            let mc = MC.min(m - ic);
            for jc in (0..n).step_by(NR) {
                let nr = NR.min(n - jc);
                pack_panel(&mut panel, b, pc, kc, jc, nr);
                let mut i = ic;
                while i < ic + mc {
                    let mr = MR.min(ic + mc - i);
                    let t = Tile { a, a0: i * a.rs + pc * a.cs, kc, panel: &panel, c0: i * n + jc, ldc: n, nr, load_c };
                    // Edge rows reuse the same kernel with fewer accumulators.
                    match mr {
                        4 => micro::tile::<4>(&t, c),
                        3 => micro::tile::<3>(&t, c),
                        2 => micro::tile::<2>(&t, c),
                        _ => micro::tile::<1>(&t, c),
                    }
                    i += mr;
                }
            }
        }
    }
}

/// Copies op(B)[pc..pc+kc][jc..jc+nr] into `panel` as kc rows of NR floats, zero-padding
/// columns past `nr` so the micro-kernel never branches on the edge.
fn pack_panel(panel: &mut [f32; KC * NR], b: Strided, pc: usize, kc: usize, jc: usize, nr: usize) {
    for (p, row) in panel.chunks_exact_mut(NR).take(kc).enumerate() {
        for (j, dst) in row.iter_mut().enumerate() {
            *dst = if j < nr { b.at(pc + p, jc + j) } else { 0.0 };
        }
    }
}

/// One micro-tile: C[i..i+R][jc..jc+nr] (+)= A[i..i+R][pc..pc+kc] · panel.
struct Tile<'a> {
    a: Strided<'a>,
    /// Index in `a.data` of A(i, pc).
    a0: usize,
    kc: usize,
    panel: &'a [f32; KC * NR],
    /// Index in C of C(i, jc); rows are `ldc` apart.
    c0: usize,
    ldc: usize,
    nr: usize,
    /// Add to C (else overwrite it).
    load_c: bool,
}

/// The narrow path (n < NARROW_N): one column of C at a time, its column of op(B) packed
/// contiguously; then each C(i, j) is a dot product of a contiguous row of A, or, when A
/// is transposed (its columns contiguous), a block of rows accumulates axpy-style.
#[allow(clippy::too_many_arguments)]
fn narrow(m: usize, n: usize, k: usize, kc_max: usize, a: Strided, trans_a: bool, b: Strided, c: &mut [f32], accumulate: bool) {
    let mut col = [0.0f32; KC];
    for pc in (0..k).step_by(kc_max) {
        let kc = kc_max.min(k - pc);
        let load_c = accumulate || pc > 0;
        for j in 0..n {
            for (p, dst) in col[..kc].iter_mut().enumerate() {
                *dst = b.at(pc + p, j);
            }
            let col = &col[..kc];
            let mut i = 0;
            if trans_a {
                // A(i, p) = data[p*m + i]: rows i..i+AXPY_ROWS are contiguous for each p.
                while i + micro::AXPY_ROWS <= m {
                    micro::axpy_rows(a.data, pc * a.cs + i, a.cs, col, c, i * n + j, n, load_c);
                    i += micro::AXPY_ROWS;
                }
            } else {
                // A(i, p) = data[i*k + p]: each row is contiguous.
                while i + micro::DOT_ROWS <= m {
                    micro::dot_rows(a.data, i * a.rs + pc, a.rs, col, c, i * n + j, n, load_c);
                    i += micro::DOT_ROWS;
                }
            }
            // Leftover rows: plain strided dot products.
            for i in i..m {
                let mut sum = 0.0f32;
                for (p, &bp) in col.iter().enumerate() {
                    sum += a.at(i, pc + p) * bp;
                }
                let cij = &mut c[i * n + j];
                *cij = if load_c { *cij + sum } else { sum };
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod micro {
    use super::{Tile, MR, NR};
    use core::arch::wasm32::*;

    pub const DOT_ROWS: usize = 4;
    pub const AXPY_ROWS: usize = 16;

    /// R rows × 8 columns of C in 2R f32x4 accumulators.
    #[inline(always)]
    pub fn tile<const R: usize>(t: &Tile, c: &mut [f32]) {
        debug_assert!(R <= MR && t.nr <= NR && t.kc > 0 && t.kc <= super::KC);
        let a = t.a.data;
        // The driver only builds tiles with i+R <= m, jc+nr <= n and pc+kc <= k, so these
        // hold; checked anyway (once per tile) because the loop below reads without checks.
        assert!(t.a0 + (R - 1) * t.a.rs + (t.kc - 1) * t.a.cs < a.len());
        assert!(t.c0 + (R - 1) * t.ldc + t.nr <= c.len());
        // SAFETY: the asserts above bound every A and C access; the panel holds
        // KC >= kc rows of NR floats.
        unsafe {
            let mut acc = [[f32x4_splat(0.0); 2]; R];
            if t.load_c {
                for (r, acc) in acc.iter_mut().enumerate() {
                    let row = c.as_ptr().add(t.c0 + r * t.ldc);
                    *acc = load8(row, t.nr);
                }
            }
            let mut bp = t.panel.as_ptr();
            let mut ap = a.as_ptr().add(t.a0);
            for _ in 0..t.kc {
                let b0 = v128_load(bp as *const v128);
                let b1 = v128_load(bp.add(4) as *const v128);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let av = f32x4_splat(*ap.add(r * t.a.rs));
                    acc[0] = f32x4_add(acc[0], f32x4_mul(av, b0));
                    acc[1] = f32x4_add(acc[1], f32x4_mul(av, b1));
                }
                bp = bp.add(NR);
                ap = ap.add(t.a.cs);
            }
            for (r, acc) in acc.iter().enumerate() {
                store8(c.as_mut_ptr().add(t.c0 + r * t.ldc), t.nr, acc);
            }
        }
    }

    /// Loads `nr <= 8` floats as two vectors, zero-filled past `nr`.
    #[inline(always)]
    unsafe fn load8(src: *const f32, nr: usize) -> [v128; 2] {
        if nr == NR {
            [v128_load(src as *const v128), v128_load(src.add(4) as *const v128)]
        } else {
            let mut tmp = [0.0f32; NR];
            core::ptr::copy_nonoverlapping(src, tmp.as_mut_ptr(), nr);
            [v128_load(tmp.as_ptr() as *const v128), v128_load(tmp.as_ptr().add(4) as *const v128)]
        }
    }

    /// Stores the first `nr <= 8` lanes of two vectors.
    #[inline(always)]
    unsafe fn store8(dst: *mut f32, nr: usize, v: &[v128; 2]) {
        if nr == NR {
            v128_store(dst as *mut v128, v[0]);
            v128_store(dst.add(4) as *mut v128, v[1]);
        } else {
            let mut tmp = [0.0f32; NR];
            v128_store(tmp.as_mut_ptr() as *mut v128, v[0]);
            v128_store(tmp.as_mut_ptr().add(4) as *mut v128, v[1]);
            core::ptr::copy_nonoverlapping(tmp.as_ptr(), dst, nr);
        }
    }

    #[inline(always)]
    fn hsum(v: v128) -> f32 {
        (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v)) + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
    }

    /// C(i+r, j) (+)= row(i+r) · col for r < DOT_ROWS: four independent dot products share
    /// each load of `col`. Rows start at `a0 + r*lda`; C elements are `ldc` apart.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn dot_rows(a: &[f32], a0: usize, lda: usize, col: &[f32], c: &mut [f32], c0: usize, ldc: usize, load_c: bool) {
        let kc = col.len();
        let rows: [&[f32]; DOT_ROWS] = core::array::from_fn(|r| &a[a0 + r * lda..][..kc]);
        let mut acc = [f32x4_splat(0.0); DOT_ROWS];
        let body = kc / 4 * 4;
        // SAFETY: p + 4 <= body <= kc, the length of `col` and of every row slice.
        unsafe {
            for p in (0..body).step_by(4) {
                let bv = v128_load(col.as_ptr().add(p) as *const v128);
                for (acc, row) in acc.iter_mut().zip(&rows) {
                    *acc = f32x4_add(*acc, f32x4_mul(v128_load(row.as_ptr().add(p) as *const v128), bv));
                }
            }
        }
        for (r, (acc, row)) in acc.iter().zip(&rows).enumerate() {
            let mut sum = hsum(*acc);
            for p in body..kc {
                sum += row[p] * col[p];
            }
            let cij = &mut c[c0 + r * ldc];
            *cij = if load_c { *cij + sum } else { sum };
        }
    }

    /// C(i..i+16, j) (+)= Σ_p A(i..i+16, p)·col[p] where A's 16 rows are contiguous for each
    /// p (`a0 + p*lda`): the 16 sums stay in 4 vectors for the whole k-block.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn axpy_rows(a: &[f32], a0: usize, lda: usize, col: &[f32], c: &mut [f32], c0: usize, ldc: usize, load_c: bool) {
        const V: usize = AXPY_ROWS / 4;
        let mut acc = [f32x4_splat(0.0); V];
        if load_c {
            let mut tmp = [0.0f32; AXPY_ROWS];
            for (r, t) in tmp.iter_mut().enumerate() {
                *t = c[c0 + r * ldc];
            }
            // SAFETY: tmp holds AXPY_ROWS = 4V floats.
            for (v, acc) in acc.iter_mut().enumerate() {
                *acc = unsafe { v128_load(tmp.as_ptr().add(4 * v) as *const v128) };
            }
        }
        assert!(col.is_empty() || a0 + (col.len() - 1) * lda + AXPY_ROWS <= a.len());
        // SAFETY: the assert above bounds the last 16-float read.
        unsafe {
            let mut ap = a.as_ptr().add(a0);
            for &bp in col {
                let s = f32x4_splat(bp);
                for (v, acc) in acc.iter_mut().enumerate() {
                    *acc = f32x4_add(*acc, f32x4_mul(v128_load(ap.add(4 * v) as *const v128), s));
                }
                ap = ap.add(lda);
            }
        }
        let mut tmp = [0.0f32; AXPY_ROWS];
        for (v, acc) in acc.iter().enumerate() {
            // SAFETY: as above.
            unsafe { v128_store(tmp.as_mut_ptr().add(4 * v) as *mut v128, *acc) };
        }
        for (r, t) in tmp.iter().enumerate() {
            c[c0 + r * ldc] = *t;
        }
    }
}

/// Portable micro-kernels: the same blocking with plain arrays, which LLVM turns into
/// whatever vectors the native target has.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod micro {
    use super::{Tile, MR, NR};

    pub const DOT_ROWS: usize = 1;
    pub const AXPY_ROWS: usize = 16;

    #[inline(always)]
    pub fn tile<const R: usize>(t: &Tile, c: &mut [f32]) {
        debug_assert!(R <= MR && t.nr <= NR && t.kc > 0 && t.kc <= super::KC);
        let mut acc = [[0.0f32; NR]; R];
        if t.load_c {
            for (r, acc) in acc.iter_mut().enumerate() {
                let row = &c[t.c0 + r * t.ldc..][..t.nr];
                acc[..t.nr].copy_from_slice(row);
            }
        }
        let a = t.a.data;
        // Checked once here so the hot loop can index A without bounds checks.
        assert!(t.a0 + (R - 1) * t.a.rs + (t.kc - 1) * t.a.cs < a.len());
        for (p, bp) in t.panel.chunks_exact(NR).take(t.kc).enumerate() {
            for (r, acc) in acc.iter_mut().enumerate() {
                // SAFETY: r < R and p < kc, bounded by the assert above.
                let av = unsafe { *a.get_unchecked(t.a0 + r * t.a.rs + p * t.a.cs) };
                for (acc, &b) in acc.iter_mut().zip(bp) {
                    *acc += av * b;
                }
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            c[t.c0 + r * t.ldc..][..t.nr].copy_from_slice(&acc[..t.nr]);
        }
    }

    /// C(i, j) (+)= row(i) · col, in 8 partial sums so the reduction vectorizes.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn dot_rows(a: &[f32], a0: usize, _lda: usize, col: &[f32], c: &mut [f32], c0: usize, _ldc: usize, load_c: bool) {
        let row = &a[a0..][..col.len()];
        let mut lanes = [0.0f32; 8];
        let (rb, rt) = row.split_at(row.len() / 8 * 8);
        let (cb, ct) = col.split_at(rb.len());
        for (r8, c8) in rb.chunks_exact(8).zip(cb.chunks_exact(8)) {
            for ((l, &x), &y) in lanes.iter_mut().zip(r8).zip(c8) {
                *l += x * y;
            }
        }
        let mut sum = lanes.iter().sum::<f32>();
        for (&x, &y) in rt.iter().zip(ct) {
            sum += x * y;
        }
        let cij = &mut c[c0];
        *cij = if load_c { *cij + sum } else { sum };
    }

    /// C(i..i+16, j) (+)= Σ_p A(i..i+16, p)·col[p], A's 16 rows contiguous at `a0 + p*lda`.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn axpy_rows(a: &[f32], a0: usize, lda: usize, col: &[f32], c: &mut [f32], c0: usize, ldc: usize, load_c: bool) {
        let mut acc = [0.0f32; AXPY_ROWS];
        if load_c {
            for (r, acc) in acc.iter_mut().enumerate() {
                *acc = c[c0 + r * ldc];
            }
        }
        for (p, &bp) in col.iter().enumerate() {
            let rows = &a[a0 + p * lda..][..AXPY_ROWS];
            for (acc, &x) in acc.iter_mut().zip(rows) {
                *acc += x * bp;
            }
        }
        for (r, acc) in acc.iter().enumerate() {
            c[c0 + r * ldc] = *acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{helper_test_op, random_vec, wasm_bindgen_test, Backward, Tolerance};

    type GemmFn = fn(usize, usize, usize, &[f32], bool, &[f32], bool, &mut [f32], bool);

    /// f32 products summed in a different order than the f64 reference.
    fn tol(k: usize) -> Tolerance {
        Tolerance::new(1e-5 * (k as f64).sqrt().max(1.0), 1e-5)
    }

    /// Fast vs reference forward for one shape and flag set; for plain NN without
    /// accumulation also the backward (dA = dC·Bᵀ, dB = Aᵀ·dC) through gemm itself.
    fn check(m: usize, n: usize, k: usize, trans_a: bool, trans_b: bool, accumulate: bool) {
        let seed = (m * 1_000_000 + n * 1000 + k) as u64;
        let a = random_vec(seed, m * k, -1.0, 1.0);
        let b = random_vec(seed + 1, k * n, -1.0, 1.0);
        let c0 = random_vec(seed + 2, m * n, -1.0, 1.0);
        let name = format!("gemm {m}x{n}x{k} ta={trans_a} tb={trans_b} acc={accumulate}");
        let run = |f: GemmFn| {
            let c0 = c0.clone();
            move |xs: &[&[f32]], out: &mut [f32]| {
                if accumulate {
                    out.copy_from_slice(&c0);
                }
                f(m, n, k, xs[0], trans_a, xs[1], trans_b, out, accumulate);
            }
        };
        let (fast, reference) = (run(gemm), run(gemm_reference));
        let backward = |f: GemmFn| {
            move |xs: &[&[f32]], dc: &[f32], g: &mut [Vec<f32>]| {
                f(m, k, n, dc, false, xs[1], true, &mut g[0], false);
                f(k, n, m, xs[0], true, dc, false, &mut g[1], false);
            }
        };
        let (bw_fast, bw_ref) = (backward(gemm), backward(gemm_reference));
        let with_backward = !trans_a && !trans_b && !accumulate && m * n * k > 0 && m * k + k * n <= 400;
        let bw = with_backward.then_some(Backward {
            wrt: &[0, 1],
            fast: &bw_fast,
            reference: &bw_ref,
            tol: tol(m.max(n)),
            eps: 1e-2,
            numeric_tol: Tolerance::new(2e-3, 2e-3),
        });
        helper_test_op(&name, &[a, b], m * n, &fast, &reference, tol(k), bw);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn odd_shapes_all_transposes_and_accumulate() {
        let shapes = [
            (1, 1, 1),
            (1, 8, 1),
            (3, 1, 5),
            (5, 2, 7),
            (4, 3, 9),
            (7, 4, 3),
            (4, 8, 4),
            (5, 9, 1),
            (9, 13, 17),
            (13, 7, 300),
            (17, 16, 33),
            (33, 1, 70),
            (70, 5, 257),
            (66, 24, 520),
            (130, 19, 11),
        ];
        for &(m, n, k) in &shapes {
            for flags in 0..8 {
                check(m, n, k, flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn layer_shapes() {
        // Conv per image (NN forward, TN kernel gradient, NT input gradient) and a dense layer.
        for &(m, n, k) in &[(784, 32, 9), (196, 8, 288), (784, 1, 288), (64, 64, 256)] {
            check(m, n, k, false, false, false);
            check(k, n, m, true, false, true);
            check(m, k, n, false, true, false);
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn empty_dimensions() {
        // k = 0: C = 0, or unchanged when accumulating.
        let mut c = vec![5.0f32; 6];
        gemm(2, 3, 0, &[], false, &[], false, &mut c, true);
        assert_eq!(c, vec![5.0; 6]);
        gemm(2, 3, 0, &[], false, &[], false, &mut c, false);
        assert_eq!(c, vec![0.0; 6]);
        gemm(0, 3, 4, &[], false, &[0.0; 12], false, &mut [], false);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn known_product() {
        // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut c = [0.0f32; 4];
        gemm(2, 2, 3, &a, false, &b, false, &mut c, false);
        assert_eq!(c, [58.0, 64.0, 139.0, 154.0]);
        // The same A stored transposed (3×2) and B stored transposed (2×3), accumulating.
        let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let bt = [7.0, 9.0, 11.0, 8.0, 10.0, 12.0];
        gemm(2, 2, 3, &at, true, &bt, true, &mut c, true);
        assert_eq!(c, [116.0, 128.0, 278.0, 308.0]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    #[should_panic(expected = "gemm: B has")]
    fn rejects_short_slices() {
        gemm(2, 2, 2, &[0.0; 4], false, &[0.0; 3], false, &mut [0.0; 4], false);
    }
}
