// The part of jsfive (a pure-JavaScript HDF5 reader; it ships no types) that hdf5-read.ts uses.
declare module 'jsfive' {
  export class Group {
    readonly name: string;
    /** Member names of the group. */
    readonly keys: string[];
    /** A member by relative path; throws (a string, not an Error) when it is missing. */
    get(path: string): Group | Dataset | null;
  }
  export class File extends Group {
    constructor(buffer: ArrayBuffer, filename: string);
  }
  export class Dataset {
    readonly name: string;
    readonly shape: number[];
    /** NumPy-style type string for plain numbers, e.g. '<f4'; an array for compound kinds. */
    readonly dtype: string | unknown[];
    /** Every element as a JavaScript number, read when asked for. */
    readonly value: ArrayLike<number>;
  }
}
