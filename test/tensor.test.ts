import { describe, it, expect } from 'vitest';
import {
  tensor,
  shapeSize,
  assertShape,
  assertTensor,
  assertSampleShape,
  findNonFinite,
  sliceRows,
  gatherRows,
  shapeToString,
} from '../ts/tensor.js';
import { ShapeError, ValueError } from '../ts/errors.js';

describe('tensor()', () => {
  it('copies number[] into a new Float32Array', () => {
    const src = [1, 2, 3, 4, 5, 6];
    const t = tensor(src, [2, 3]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual(src);
    expect(t.shape).toEqual([2, 3]);
    src[0] = 99;
    expect(t.data[0]).toBe(1);
  });

  it('uses a Float32Array as-is (no copy)', () => {
    const d = new Float32Array([1, 2, 3, 4]);
    const t = tensor(d, [4]);
    expect(t.data).toBe(d);
    d[0] = 7;
    expect(t.data[0]).toBe(7);
  });

  it('copies other typed arrays', () => {
    const t = tensor(new Float64Array([0.5, 1.5]), [2, 1]);
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(Array.from(t.data)).toEqual([0.5, 1.5]);
    expect(Array.from(tensor(new Uint8Array([1, 2]), [2]).data)).toEqual([1, 2]);
  });

  it('freezes a copy of the shape', () => {
    const shape = [2, 2];
    const t = tensor([1, 2, 3, 4], shape);
    shape[0] = 5;
    expect(t.shape).toEqual([2, 2]);
    expect(Object.isFrozen(t.shape)).toBe(true);
  });

  it('rejects bad shapes with ShapeError', () => {
    expect(() => tensor([1], [])).toThrow(ShapeError);
    expect(() => tensor([1], [])).toThrow('shape must have at least one dimension, got []');
    expect(() => tensor([1, 2], [2.5])).toThrow('shape[0] must be a positive integer, got 2.5 (shape [2.5])');
    expect(() => tensor([], [0])).toThrow(ShapeError);
    expect(() => tensor([1], [-1])).toThrow(ShapeError);
    expect(() => tensor([1], [NaN])).toThrow(ShapeError);
    expect(() => tensor([1], '1' as never)).toThrow(ShapeError);
    expect(() => tensor([1], [1, '1'] as never)).toThrow('shape[1] must be a positive integer, got "1" (string)');
  });

  it('rejects a length mismatch with ShapeError', () => {
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(ShapeError);
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow('tensor data has 3 elements but shape [2, 2] needs 4');
    expect(() => tensor(new Float32Array(5), [2, 2])).toThrow('tensor data has 5 elements but shape [2, 2] needs 4');
  });

  it('rejects non-finite values with ValueError naming the first bad index', () => {
    expect(() => tensor([0, 1, NaN, Infinity], [4])).toThrow(ValueError);
    expect(() => tensor([0, 1, NaN, Infinity], [4])).toThrow('data[2] is NaN');
    expect(() => tensor(new Float32Array([0, -Infinity]), [2])).toThrow('data[1] is -Infinity');
    expect(() => tensor([0, 'a'] as never, [2])).toThrow('data[1] is "a" (string)');
    // eslint-disable-next-line no-sparse-arrays
    expect(() => tensor([0, , 1] as never, [3])).toThrow('data[1] is undefined');
    expect(() => tensor([1e39], [1])).toThrow(/float32.*data\[0\] is 1e\+39/);
  });

  it('rejects data of the wrong type', () => {
    expect(() => tensor('abc' as never, [3])).toThrow(ValueError);
    expect(() => tensor(null as never, [1])).toThrow(
      'tensor data must be a Float32Array or an array of numbers, got null',
    );
    expect(() => tensor({ length: 1, 0: 1 } as never, [1])).toThrow(ValueError);
  });
});

describe('shape helpers', () => {
  it('shapeSize and assertShape', () => {
    expect(shapeSize([2, 3, 4])).toBe(24);
    expect(shapeSize([7])).toBe(7);
    expect(() => shapeSize([2, 0])).toThrow(ShapeError);
    expect(assertShape('s', [1, 2])).toEqual([1, 2]);
    expect(shapeToString([2, 3])).toBe('[2, 3]');
  });

  it('findNonFinite', () => {
    expect(findNonFinite(new Float32Array(10))).toBe(-1);
    expect(findNonFinite([1, 2, Infinity])).toBe(2);
    expect(findNonFinite(new Float32Array([NaN]))).toBe(0);
    expect(findNonFinite(new Float32Array([-1e38, 3.4e38, -0, 1e-45]))).toBe(-1);
  });

  it('findNonFinite finds NaN and ±Infinity in every lane of its 4-wide scan and in the tail', () => {
    for (const length of [8, 11]) {
      for (let at = 0; at < length; at++) {
        for (const bad of [NaN, Infinity, -Infinity]) {
          const data = new Float32Array(length).fill(0.5);
          data[at] = bad;
          expect(findNonFinite(data), `length ${length}, ${bad} at ${at}`).toBe(at);
          // The first one when there are several.
          if (at + 2 < length) data[at + 2] = NaN;
          expect(findNonFinite(data)).toBe(at);
        }
      }
    }
  });
});

describe('assertTensor', () => {
  it('accepts a valid tensor', () => {
    expect(() => assertTensor('x', tensor([1, 2], [2]))).not.toThrow();
    expect(() => assertTensor('x', { shape: [1], data: new Float32Array(1) })).not.toThrow();
  });

  it('rejects non-tensors with ValueError', () => {
    expect(() => assertTensor('x', null)).toThrow(ValueError);
    expect(() => assertTensor('x', null)).toThrow('x must be a tensor ({ shape, data }');
    expect(() => assertTensor('x', [1, 2])).toThrow(ValueError);
    expect(() => assertTensor('x', { shape: [2], data: [1, 2] })).toThrow('x.data must be a Float32Array, got [1, 2]');
    expect(() => assertTensor('x', { shape: [2], data: new Float64Array(2) })).toThrow(ValueError);
  });

  it('rejects bad shapes and mismatched lengths with ShapeError', () => {
    expect(() => assertTensor('x', { shape: [0], data: new Float32Array(0) })).toThrow(ShapeError);
    expect(() => assertTensor('x', { shape: 'a', data: new Float32Array(1) })).toThrow(ShapeError);
    expect(() => assertTensor('x', { shape: [3], data: new Float32Array(2) })).toThrow(
      'x.data has 2 elements but x.shape [3] needs 3',
    );
  });

  it('rejects non-finite values unless checkFinite is false', () => {
    const t = { shape: [3], data: new Float32Array([0, 0, NaN]) };
    expect(() => assertTensor('x', t)).toThrow('x must contain only finite values; x.data[2] is NaN');
    expect(() => assertTensor('x', t, { checkFinite: false })).not.toThrow();
  });
});

describe('assertSampleShape', () => {
  const x = (shape: number[]) => tensor(new Float32Array(shape.reduce((a, b) => a * b, 1)), shape);

  it('returns N for a matching batch', () => {
    expect(assertSampleShape('x', x([5, 784]), [784])).toBe(5);
    expect(assertSampleShape('x', x([2, 28, 28, 1]), [28, 28, 1])).toBe(2);
  });

  it('suggests a reshape for a layout mismatch', () => {
    expect(() => assertSampleShape('x', x([3, 28, 28, 1]), [784])).toThrow(ShapeError);
    expect(() => assertSampleShape('x', x([3, 28, 28, 1]), [784])).toThrow(
      'x must have shape [N, 784], got [N, 28, 28, 1] with N = 3; reshape with tensor(x.data, [3, 784])',
    );
    expect(() => assertSampleShape('x', x([3, 784]), [28, 28, 1])).toThrow(
      'reshape with tensor(x.data, [3, 28, 28, 1])',
    );
  });

  it('explains a missing batch dimension', () => {
    expect(() => assertSampleShape('x', x([784]), [784])).toThrow(
      'a single sample without the batch dimension); use tensor(x.data, [1, 784])',
    );
    expect(() => assertSampleShape('x', x([28, 28, 1]), [28, 28, 1])).toThrow('use tensor(x.data, [1, 28, 28, 1])');
    expect(() => assertSampleShape('x', x([1568]), [784])).toThrow('reshape with tensor(x.data, [2, 784])');
  });

  it('reports a plain size mismatch', () => {
    expect(() => assertSampleShape('x', x([3, 10]), [784])).toThrow(
      'x must have shape [N, 784], got [3, 10] (each sample has 10 values, expected 784)',
    );
  });

  it('still validates the tensor itself', () => {
    expect(() => assertSampleShape('x', { shape: [1, 2], data: new Float32Array([1, NaN]) }, [2])).toThrow(ValueError);
  });
});

describe('sliceRows', () => {
  const t = tensor([0, 1, 2, 3, 4, 5, 6, 7], [4, 2]);

  it('returns a view', () => {
    const s = sliceRows(t, 1, 3);
    expect(s.shape).toEqual([2, 2]);
    expect(Array.from(s.data)).toEqual([2, 3, 4, 5]);
    expect(s.data.buffer).toBe(t.data.buffer);
    s.data[0] = 42;
    expect(t.data[2]).toBe(42);
    t.data[2] = 2;
    expect(sliceRows(t, 2).shape).toEqual([2, 2]);
  });

  it('rejects bad ranges', () => {
    expect(() => sliceRows(t, 2, 2)).toThrow(ValueError);
    expect(() => sliceRows(t, 3, 2)).toThrow('sliceRows needs 0 <= start < end <= 4');
    expect(() => sliceRows(t, 0, 5)).toThrow(ValueError);
    expect(() => sliceRows(t, -1, 2)).toThrow('start must be a non-negative integer, got -1');
    expect(() => sliceRows(t, 0.5, 2)).toThrow(ValueError);
    expect(() => sliceRows({} as never, 0, 1)).toThrow(ValueError);
  });
});

describe('gatherRows', () => {
  const t = tensor([0, 1, 10, 11, 20, 21], [3, 2]);

  it('copies the selected rows', () => {
    const g = gatherRows(t, [2, 0, 2]);
    expect(g.shape).toEqual([3, 2]);
    expect(Array.from(g.data)).toEqual([20, 21, 0, 1, 20, 21]);
    expect(g.data.buffer).not.toBe(t.data.buffer);
    expect(Array.from(gatherRows(t, new Uint32Array([1])).data)).toEqual([10, 11]);
  });

  it('writes into out (exact or longer)', () => {
    const out = new Float32Array(4);
    const g = gatherRows(t, [1, 2], out);
    expect(g.data).toBe(out);
    expect(Array.from(out)).toEqual([10, 11, 20, 21]);
    const longer = new Float32Array(6);
    const g2 = gatherRows(t, [0], longer);
    expect(g2.data.buffer).toBe(longer.buffer);
    expect(g2.data.length).toBe(2);
    expect(g2.shape).toEqual([1, 2]);
  });

  it('works for rank-1 tensors', () => {
    expect(Array.from(gatherRows(tensor([5, 6, 7], [3]), [2, 1]).data)).toEqual([7, 6]);
  });

  it('rejects bad indices and outputs', () => {
    expect(() => gatherRows(t, [3])).toThrow('indices[0] must be an integer row index in [0, 3), got 3');
    expect(() => gatherRows(t, [0, -1])).toThrow(ValueError);
    expect(() => gatherRows(t, [1.5])).toThrow(ValueError);
    expect(() => gatherRows(t, [])).toThrow(ValueError);
    expect(() => gatherRows(t, 3 as never)).toThrow(ValueError);
    expect(() => gatherRows(t, [0, 1], new Float32Array(3))).toThrow(ShapeError);
    expect(() => gatherRows(t, [0], new Float64Array(2) as never)).toThrow(ValueError);
  });
});
