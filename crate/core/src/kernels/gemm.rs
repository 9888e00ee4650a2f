//! General matrix multiply: the workhorse of dense layers (and of convolutions whose
//! kernels are too large for the direct path in `conv2d`).
//!
//! One blocked driver serves every transpose combination: A and B are read through
//! (row, column) strides, so a transposed view ([`MatRef::t`]) only changes two numbers. For each k-block
//! (at most `KC` long) and each block of at most `NC` columns, B is packed once into a
//! stack buffer as `NR`-column panels with zero-padded edge columns (a transposed B is
//! packed with 4×4 in-register transposes); A is never packed: the micro-kernel reads it in
//! place through its strides and broadcasts one element at a time (`v128.load32_splat`).
//! Every micro-tile of C then sweeps the whole packed block, which stays in L2 while the
//! current four rows of A stay in L1.
//!
//! The micro-kernel keeps an `MR × NR` tile of C in registers: 4 rows × 2 f32x4 = 8
//! accumulators. V8 has about 15 usable vector registers on x64: the 8 accumulators, the
//! two B vectors and the broadcast A values fit; larger tiles spill.
//!
//! Narrow products (`n < NARROW_N`, e.g. a matrix-vector product) would waste most of a
//! zero-padded panel, so they take a per-column row-dot (A rows contiguous) or axpy
//! (A transposed) path instead.

use core::mem::MaybeUninit;

/// Rows of C per micro-tile.
const MR: usize = 4;
/// Columns of C per micro-tile, and the width of a packed panel of B (two f32x4).
const NR: usize = 8;
/// Longest k-block. With [`NC`] it bounds the packed block of B on the stack.
const KC: usize = 256;
/// Widest column block of B packed at once: KC × NC floats = 128 KiB (fits L2).
const NC: usize = 128;
/// Below this many columns the per-column dot/axpy path beats a zero-padded 8-column panel.
const NARROW_N: usize = 4;

/// A read-only matrix: `rows × cols`, stored row-major in `data`, or stored as its
/// transpose (`cols × rows` row-major) when `transposed`. A `Copy` view, so `.t()` costs nothing.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    transposed: bool,
}

impl<'a> MatRef<'a> {
    /// `data` as a `rows × cols` row-major matrix (its length is checked by [`gemm`]).
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        MatRef { data, rows, cols, transposed: false }
    }

    /// The transpose, reading the same storage.
    pub fn t(self) -> Self {
        MatRef { data: self.data, rows: self.cols, cols: self.rows, transposed: !self.transposed }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element (r, c) of the logical matrix.
    fn at(&self, r: usize, c: usize) -> f32 {
        if self.transposed {
            self.data[c * self.rows + r]
        } else {
            self.data[r * self.cols + c]
        }
    }
}

/// The output matrix C: `rows × cols`, row-major.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
}

impl<'a> MatMut<'a> {
    /// `data` as a `rows × cols` row-major matrix (its length is checked by [`gemm`]).
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        MatMut { data, rows, cols }
    }
}

/// What a product does with the C it is given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// C = A·B.
    Overwrite,
    /// C += A·B.
    Accumulate,
}

/// The shape checks every product makes: A is m×k, B k×n, C m×n, and each view's data
/// holds exactly its elements. Returns (m, n, k).
fn check_shapes(a: &MatRef, b: &MatRef, c: &MatMut) -> (usize, usize, usize) {
    let (m, n, k) = (a.rows, b.cols, a.cols);
    assert_eq!(b.rows, k, "gemm: A is {m}×{k} but B has {} rows", b.rows);
    assert_eq!((c.rows, c.cols), (m, n), "gemm: C is {}×{}, expected {m}×{n}", c.rows, c.cols);
    // These equalities are what make the unchecked reads below in bounds.
    assert_eq!(a.data.len(), m * k, "gemm: A has {} elements, expected {m}×{k}", a.data.len());
    assert_eq!(b.data.len(), k * n, "gemm: B has {} elements, expected {k}×{n}", b.data.len());
    assert_eq!(c.data.len(), m * n, "gemm: C has {} elements, expected {m}×{n}", c.data.len());
    (m, n, k)
}

/// C = A·B, or C += A·B with [`Store::Accumulate`]; A, B are views (`MatRef::new(..).t()` for a
/// transposed operand).
pub fn gemm(a: MatRef, b: MatRef, c: MatMut, store: Store) {
    let (m, n, k) = check_shapes(&a, &b, &c);
    let accumulate = store == Store::Accumulate;
    let c = c.data;
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.fill(0.0);
        }
        return;
    }
    let product = Product {
        m,
        n,
        k,
        // Split k into equal blocks no longer than KC (288 → 2×144, not 256 + 32).
        kc_max: k.div_ceil(k.div_ceil(KC)),
        a: Strided::new(a.data, a.transposed, m, k),
        a_transposed: a.transposed,
        b: Strided::new(b.data, b.transposed, k, n),
        accumulate,
    };
    if n < NARROW_N {
        narrow(&product, c);
    } else {
        blocked(&product, c);
    }
}

/// The definition: C[i][j] (+)= Σ_p A[i][p]·B[p][j], summed in f64.
pub fn gemm_reference(a: MatRef, b: MatRef, c: MatMut, store: Store) {
    let (m, n, k) = check_shapes(&a, &b, &c);
    for i in 0..m {
        for j in 0..n {
            let mut sum = 0.0f64;
            for p in 0..k {
                sum += a.at(i, p) as f64 * b.at(p, j) as f64;
            }
            let cij = &mut c.data[i * n + j];
            *cij = match store {
                Store::Accumulate => (*cij as f64 + sum) as f32,
                Store::Overwrite => sum as f32,
            };
        }
    }
}

/// One product as the drivers see it: C (m×n) (+)= A (m×k) · B (k×n), in k-blocks of at
/// most `kc_max`.
struct Product<'a> {
    m: usize,
    n: usize,
    k: usize,
    kc_max: usize,
    a: Strided<'a>,
    /// A's columns are contiguous (it is stored transposed).
    a_transposed: bool,
    b: Strided<'a>,
    /// Add to C (else overwrite it).
    accumulate: bool,
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

/// The packed path: k-blocks × column blocks (B packed once each) × 4-row strips of A ×
/// the block's 8-column panels.
fn blocked(product: &Product, c: &mut [f32]) {
    let Product { m, n, k, kc_max, a, b, accumulate, .. } = *product;
    // Uninitialised: pack_block writes every float the micro-kernels then read.
    let mut buf = MaybeUninit::<[f32; KC * NC]>::uninit();
    for pc in (0..k).step_by(kc_max) {
        let kc = kc_max.min(k - pc);
        // Later k-blocks add to what the first one wrote.
        let load_c = accumulate || pc > 0;
        for jc in (0..n).step_by(NC) {
            let nc = NC.min(n - jc);
            let packed = pack_block(&mut buf, b, pc, kc, jc, nc);
            let mut i = 0;
            while i < m {
                let mr = MR.min(m - i);
                for (q, panel) in packed.chunks_exact(kc * NR).enumerate() {
                    let t = Tile {
                        a,
                        a0: i * a.rs + pc * a.cs,
                        kc,
                        panel,
                        c0: i * n + jc + q * NR,
                        ldc: n,
                        nr: NR.min(nc - q * NR),
                        load_c,
                    };
                    // Edge rows reuse the same kernel with fewer accumulators.
                    match mr {
                        4 => micro::tile::<4>(&t, c),
                        3 => micro::tile::<3>(&t, c),
                        2 => micro::tile::<2>(&t, c),
                        _ => micro::tile::<1>(&t, c),
                    }
                }
                i += mr;
            }
        }
    }
}

/// Packs op(B)[pc..pc+kc][jc..jc+nc] into `buf` as ⌈nc/NR⌉ panels, each kc rows of NR
/// floats, zero-padding columns past `nc`; returns the initialised part.
fn pack_block<'b>(
    buf: &'b mut MaybeUninit<[f32; KC * NC]>,
    b: Strided,
    pc: usize,
    kc: usize,
    jc: usize,
    nc: usize,
) -> &'b [f32] {
    debug_assert!(kc <= KC && nc <= NC && kc > 0 && nc > 0);
    let len = nc.div_ceil(NR) * kc * NR;
    // The driver only asks for blocks inside op(B); checked once here because the
    // copies below read without checks.
    assert!((pc + kc - 1) * b.rs + (jc + nc - 1) * b.cs < b.data.len());
    let dst = buf.as_mut_ptr() as *mut f32;
    for (q, j0) in (jc..jc + nc).step_by(NR).enumerate() {
        let nr = NR.min(jc + nc - j0);
        // SAFETY: panel q occupies [q·kc·NR, (q+1)·kc·NR) < len <= KC·NC; the source reads
        // are within the block asserted above.
        unsafe { micro::pack_panel(dst.add(q * kc * NR), b, pc, kc, j0, nr) };
    }
    // SAFETY: the loop above wrote all `len` floats.
    unsafe { core::slice::from_raw_parts(dst, len) }
}

/// One micro-tile: C[i..i+R][j..j+nr] (+)= A[i..i+R][pc..pc+kc] · panel.
struct Tile<'a> {
    a: Strided<'a>,
    /// Index in `a.data` of A(i, pc).
    a0: usize,
    kc: usize,
    /// kc rows of NR floats.
    panel: &'a [f32],
    /// Index in C of C(i, j); rows are `ldc` apart.
    c0: usize,
    ldc: usize,
    nr: usize,
    /// Add to C (else overwrite it).
    load_c: bool,
}

/// Scalar panel packing: row p of the panel is op(B)[pc+p][j0..j0+nr], zero-padded to NR.
///
/// # Safety
/// `dst` must have room for kc·NR floats and the block must lie inside `b`.
unsafe fn pack_panel_scalar(dst: *mut f32, b: Strided, pc: usize, kc: usize, j0: usize, nr: usize) {
    let src = b.data.as_ptr();
    for p in 0..kc {
        for j in 0..NR {
            let v = if j < nr { *src.add((pc + p) * b.rs + (j0 + j) * b.cs) } else { 0.0 };
            dst.add(p * NR + j).write(v);
        }
    }
}

/// The narrow path (n < NARROW_N): one column of C at a time, its column of op(B) packed
/// contiguously; then each C(i, j) is a dot product of a contiguous row of A, or, when A
/// is transposed (its columns contiguous), a block of rows accumulates axpy-style.
fn narrow(product: &Product, c: &mut [f32]) {
    let Product { m, n, k, kc_max, a, a_transposed, b, accumulate } = *product;
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
            let out = |i: usize| ColumnOfC { first: i * n + j, stride: n, load_c };
            if a_transposed {
                // A(i, p) = data[p*m + i]: rows i..i+AXPY_ROWS are contiguous for each p.
                while i + micro::AXPY_ROWS <= m {
                    let lines = Lines { data: a.data, first: pc * a.cs + i, stride: a.cs };
                    micro::axpy_rows(lines, col, c, out(i));
                    i += micro::AXPY_ROWS;
                }
            } else {
                // A(i, p) = data[i*k + p]: each row is contiguous.
                while i + micro::DOT_ROWS <= m {
                    let lines = Lines { data: a.data, first: i * a.rs + pc, stride: a.rs };
                    micro::dot_rows(lines, col, c, out(i));
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

/// Equally spaced runs of A read in place by the narrow path's micro-kernels: run `i`
/// starts at `data[first + i * stride]` (a row of A for `dot_rows`, the column strip of
/// one k-step for `axpy_rows`).
#[derive(Clone, Copy)]
struct Lines<'a> {
    data: &'a [f32],
    first: usize,
    stride: usize,
}

/// Where the narrow path's micro-kernels put their sums: C element `r` of the strip is
/// `c[first + r * stride]`, added to when `load_c` (else overwritten).
#[derive(Clone, Copy)]
struct ColumnOfC {
    first: usize,
    stride: usize,
    load_c: bool,
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod micro {
    use super::{ColumnOfC, Lines, Strided, Tile, MR, NR};
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
        assert!(t.panel.len() >= t.kc * NR);
        // SAFETY: the asserts above bound every A, C and panel access.
        unsafe {
            let mut acc = [[f32x4_splat(0.0); 2]; R];
            if t.load_c {
                for (r, acc) in acc.iter_mut().enumerate() {
                    let row = c.as_ptr().add(t.c0 + r * t.ldc);
                    *acc = load8(row, t.nr);
                }
            }
            let mut bp = t.panel.as_ptr();
            let rows: [*const f32; R] = core::array::from_fn(|r| a.as_ptr().add(t.a0 + r * t.a.rs));
            let cs = t.a.cs;
            let mut off = 0;
            for _ in 0..t.kc {
                let b0 = v128_load(bp as *const v128);
                let b1 = v128_load(bp.add(4) as *const v128);
                for (r, acc) in acc.iter_mut().enumerate() {
                    let av = v128_load32_splat(rows[r].add(off) as *const u32);
                    acc[0] = f32x4_add(acc[0], f32x4_mul(av, b0));
                    acc[1] = f32x4_add(acc[1], f32x4_mul(av, b1));
                }
                bp = bp.add(NR);
                off += cs;
            }
            for (r, acc) in acc.iter().enumerate() {
                store8(c.as_mut_ptr().add(t.c0 + r * t.ldc), t.nr, acc);
            }
        }
    }

    /// Writes op(B)[pc..pc+kc][j0..j0+nr] as kc rows of NR floats, zero past `nr`.
    /// Row-major B copies two vectors per row; a transposed B (columns contiguous) is read
    /// four rows at a time from each of 8 columns and transposed in registers.
    ///
    /// # Safety
    /// `dst` must have room for kc·NR floats and the block must lie inside `b`.
    #[inline(always)]
    pub unsafe fn pack_panel(dst: *mut f32, b: Strided, pc: usize, kc: usize, j0: usize, nr: usize) {
        let src = b.data.as_ptr();
        if nr == NR && b.cs == 1 {
            let mut s = src.add(pc * b.rs + j0);
            for p in 0..kc {
                v128_store(dst.add(p * NR) as *mut v128, v128_load(s as *const v128));
                v128_store(dst.add(p * NR + 4) as *mut v128, v128_load(s.add(4) as *const v128));
                s = s.add(b.rs);
            }
        } else if nr == NR && b.rs == 1 {
            let col = |j: usize| src.add(pc + (j0 + j) * b.cs);
            let cols: [*const f32; NR] = core::array::from_fn(col);
            let mut p = 0;
            while p + 4 <= kc {
                for half in 0..2 {
                    let v: [v128; 4] = core::array::from_fn(|j| v128_load(cols[4 * half + j].add(p) as *const v128));
                    // 4×4 transpose: t[q] = (v0[q], v1[q], v2[q], v3[q]).
                    let lo01 = i32x4_shuffle::<0, 4, 1, 5>(v[0], v[1]);
                    let hi01 = i32x4_shuffle::<2, 6, 3, 7>(v[0], v[1]);
                    let lo23 = i32x4_shuffle::<0, 4, 1, 5>(v[2], v[3]);
                    let hi23 = i32x4_shuffle::<2, 6, 3, 7>(v[2], v[3]);
                    let t = [
                        i64x2_shuffle::<0, 2>(lo01, lo23),
                        i64x2_shuffle::<1, 3>(lo01, lo23),
                        i64x2_shuffle::<0, 2>(hi01, hi23),
                        i64x2_shuffle::<1, 3>(hi01, hi23),
                    ];
                    for (q, t) in t.iter().enumerate() {
                        v128_store(dst.add((p + q) * NR + 4 * half) as *mut v128, *t);
                    }
                }
                p += 4;
            }
            for p in p..kc {
                for (j, col) in cols.iter().enumerate() {
                    dst.add(p * NR + j).write(*col.add(p));
                }
            }
        } else {
            super::pack_panel_scalar(dst, b, pc, kc, j0, nr);
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
        (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
            + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
    }

    /// C(i+r, j) (+)= row(i+r) · col for r < DOT_ROWS (`a`'s lines are the rows): four
    /// independent dot products share each load of `col`.
    #[inline(always)]
    pub fn dot_rows(a: Lines, col: &[f32], c: &mut [f32], out: ColumnOfC) {
        let ColumnOfC { first: c0, stride: ldc, load_c } = out;
        let kc = col.len();
        let rows: [&[f32]; DOT_ROWS] = core::array::from_fn(|r| &a.data[a.first + r * a.stride..][..kc]);
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
    /// p (`a`'s line p): the 16 sums stay in 4 vectors for the whole k-block.
    #[inline(always)]
    pub fn axpy_rows(a: Lines, col: &[f32], c: &mut [f32], out: ColumnOfC) {
        let (Lines { data: a, first: a0, stride: lda }, ColumnOfC { first: c0, stride: ldc, load_c }) = (a, out);
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
    use super::{ColumnOfC, Lines, Strided, Tile, MR, NR};

    pub const DOT_ROWS: usize = 1;
    pub const AXPY_ROWS: usize = 16;

    /// # Safety
    /// As [`super::pack_panel_scalar`].
    #[inline(always)]
    pub unsafe fn pack_panel(dst: *mut f32, b: Strided, pc: usize, kc: usize, j0: usize, nr: usize) {
        super::pack_panel_scalar(dst, b, pc, kc, j0, nr)
    }

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
    #[inline(always)]
    pub fn dot_rows(a: Lines, col: &[f32], c: &mut [f32], out: ColumnOfC) {
        let ColumnOfC { first: c0, load_c, .. } = out;
        let row = &a.data[a.first..][..col.len()];
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

    /// C(i..i+16, j) (+)= Σ_p A(i..i+16, p)·col[p], A's 16 rows contiguous in line p.
    #[inline(always)]
    pub fn axpy_rows(a: Lines, col: &[f32], c: &mut [f32], out: ColumnOfC) {
        let (Lines { data: a, first: a0, stride: lda }, ColumnOfC { first: c0, stride: ldc, load_c }) = (a, out);
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

    type GemmFn = fn(MatRef, MatRef, MatMut, Store);

    /// A `rows × cols` operand stored row-major, or stored as its transpose.
    fn view(data: &[f32], rows: usize, cols: usize, transposed: bool) -> MatRef<'_> {
        if transposed {
            MatRef::new(data, cols, rows).t()
        } else {
            MatRef::new(data, rows, cols)
        }
    }

    fn store(accumulate: bool) -> Store {
        if accumulate {
            Store::Accumulate
        } else {
            Store::Overwrite
        }
    }

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
                f(view(xs[0], m, k, trans_a), view(xs[1], k, n, trans_b), MatMut::new(out, m, n), store(accumulate));
            }
        };
        let (fast, reference) = (run(gemm), run(gemm_reference));
        let backward = |f: GemmFn| {
            move |xs: &[&[f32]], dc: &[f32], g: &mut [Vec<f32>]| {
                f(MatRef::new(dc, m, n), MatRef::new(xs[1], k, n).t(), MatMut::new(&mut g[0], m, k), Store::Overwrite);
                f(MatRef::new(xs[0], m, k).t(), MatRef::new(dc, m, n), MatMut::new(&mut g[1], k, n), Store::Overwrite);
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
    fn several_packed_blocks() {
        // n > NC and k > KC: several column blocks of B and several k-blocks, with edge
        // panels, edge rows and a k that does not split evenly.
        for &(m, n, k) in &[(37, 300, 270), (6, 129, 513), (5, 136, 257)] {
            for flags in 0..8 {
                check(m, n, k, flags & 1 != 0, flags & 2 != 0, flags & 4 != 0);
            }
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn empty_dimensions() {
        // k = 0: C = 0, or unchanged when accumulating.
        let mut c = vec![5.0f32; 6];
        gemm(MatRef::new(&[], 2, 0), MatRef::new(&[], 0, 3), MatMut::new(&mut c, 2, 3), Store::Accumulate);
        assert_eq!(c, vec![5.0; 6]);
        gemm(MatRef::new(&[], 2, 0), MatRef::new(&[], 0, 3), MatMut::new(&mut c, 2, 3), Store::Overwrite);
        assert_eq!(c, vec![0.0; 6]);
        gemm(MatRef::new(&[], 0, 4), MatRef::new(&[0.0; 12], 4, 3), MatMut::new(&mut [], 0, 3), Store::Overwrite);
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn known_product() {
        // [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154]
        let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let b = [7.0, 8.0, 9.0, 10.0, 11.0, 12.0];
        let mut c = [0.0f32; 4];
        gemm(MatRef::new(&a, 2, 3), MatRef::new(&b, 3, 2), MatMut::new(&mut c, 2, 2), Store::Overwrite);
        assert_eq!(c, [58.0, 64.0, 139.0, 154.0]);
        // The same A stored transposed (3×2) and B stored transposed (2×3), accumulating.
        let at = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let bt = [7.0, 9.0, 11.0, 8.0, 10.0, 12.0];
        gemm(MatRef::new(&at, 3, 2).t(), MatRef::new(&bt, 2, 3).t(), MatMut::new(&mut c, 2, 2), Store::Accumulate);
        assert_eq!(c, [116.0, 128.0, 278.0, 308.0]);
    }

    #[wasm_bindgen_test(unsupported = test)]
    #[should_panic(expected = "gemm: B has")]
    fn rejects_short_slices() {
        gemm(
            MatRef::new(&[0.0; 4], 2, 2),
            MatRef::new(&[0.0; 3], 2, 2),
            MatMut::new(&mut [0.0; 4], 2, 2),
            Store::Overwrite,
        );
    }
}
