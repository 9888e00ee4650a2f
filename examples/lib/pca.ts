/**
 * The first principal components of row vectors, by power iteration with deflation on the
 * covariance matrix (d × d, float64). Enough for a 2-D picture of codes when umap-js is not
 * installed; not a general linear-algebra routine.
 */
export function pcaProject(rows: Float32Array, n: number, d: number, components = 2): Float64Array[] {
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += rows[i * d + j] / n;
  const cov = new Float64Array(d * d);
  const centred = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) centred[j] = rows[i * d + j] - mean[j];
    for (let a = 0; a < d; a++) {
      const ca = centred[a];
      if (ca === 0) continue;
      for (let b = 0; b < d; b++) cov[a * d + b] += (ca * centred[b]) / n;
    }
  }
  const out: Float64Array[] = [];
  for (let c = 0; c < components; c++) {
    let v = new Float64Array(d).map((_, j) => Math.sin(j + 1 + c)); // deterministic start
    let lambda = 0;
    for (let iter = 0; iter < 500; iter++) {
      const w = new Float64Array(d);
      for (let a = 0; a < d; a++) {
        let s = 0;
        for (let b = 0; b < d; b++) s += cov[a * d + b] * v[b];
        w[a] = s;
      }
      const norm = Math.hypot(...w);
      if (norm === 0) break;
      const next = w.map((x) => x / norm);
      const change = Math.hypot(...next.map((x, j) => x - v[j]));
      v = next;
      lambda = norm;
      if (change < 1e-10) break;
    }
    // Deflate: remove this component so the next iteration finds the following one.
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) cov[a * d + b] -= lambda * v[a] * v[b];
    const projection = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += (rows[i * d + j] - mean[j]) * v[j];
      projection[i] = s;
    }
    out.push(projection);
  }
  return out;
}
