/**
 * Arguments on their way from a trainer to its worker: which buffers are copied and which
 * are transferred (the transfer policy described in `trainer.ts`).
 */
import * as Comlink from 'comlink';
import { ValueError } from './errors.js';
import type { TransferOption } from './trainer-options.js';
import { checkOptions, describeValue } from './validate.js';

/**
 * Arguments on their way to the worker. Typed arrays that are views into a larger buffer
 * are copied down to their own bytes first (structured cloning would copy the whole
 * buffer), and those private copies are always transferred. With `move`, the caller's own
 * whole buffers are transferred too (detached here). The same object given twice (as in
 * `fit(x, x)`) is prepared once, so it crosses once.
 */
export class Outgoing {
  readonly #move: boolean;
  readonly #seen = new Map<object, unknown>();
  readonly #transfer = new Set<ArrayBuffer>();

  constructor(move: boolean) {
    this.#move = move;
  }

  #view<T>(v: T): T {
    if (!ArrayBuffer.isView(v) || v instanceof DataView) return v;
    const buffer = v.buffer;
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) return v; // shared or detached: as is
    if (v.byteOffset !== 0 || v.byteLength !== buffer.byteLength) {
      const copy = (v as unknown as Float32Array).slice();
      this.#transfer.add(copy.buffer as ArrayBuffer);
      return copy as unknown as T;
    }
    if (this.#move) this.#transfer.add(buffer);
    return v;
  }

  /** A tensor-like `{ shape, data }` (anything else passes unchanged, for the worker to refuse). */
  tensor<T>(t: T): T {
    if (typeof t !== 'object' || t === null) return t;
    if (this.#seen.has(t)) return this.#seen.get(t) as T;
    let out: unknown = t;
    if (ArrayBuffer.isView(t)) out = this.#view(t);
    else if (Array.isArray(t)) out = t.map((item) => this.tensor(item));
    else if ('data' in t) {
      const data = (t as { data: unknown }).data;
      const prepared = this.#view(data);
      if (prepared !== data) out = { ...t, data: prepared };
    }
    this.#seen.set(t, out);
    return out as T;
  }

  /**
   * Marks `carrier` (a fresh object of ours, never the caller's: Comlink remembers
   * transfer lists per object) with the buffers to transfer.
   */
  attach<T extends object>(carrier: T): T {
    return this.#transfer.size > 0 ? Comlink.transfer(carrier, [...this.#transfer]) : carrier;
  }

  /** `value` itself when nothing is transferred, else a fresh carrier for it. */
  carry<T>(value: T): T {
    if (this.#transfer.size === 0 || typeof value !== 'object' || value === null) return value;
    const carrier = Array.isArray(value) ? value.slice() : ArrayBuffer.isView(value) ? value : { ...value };
    return this.attach(carrier as T & object);
  }
}

/** The `transfer` flag of a remote method's options, validated. */
export function readTransfer(what: string, opts: unknown): boolean {
  const o = checkOptions<TransferOption>(`${what} options`, opts, ['transfer']);
  if (o.transfer !== undefined && typeof o.transfer !== 'boolean') {
    throw new ValueError(
      `${what} options.transfer must be a boolean (true or false), got ${describeValue(o.transfer)}`,
    );
  }
  return o.transfer === true;
}
