import { describe, it, expect } from 'vitest';
import {
  AutoencoderError,
  ShapeError,
  ValueError,
  DisposedError,
  CorruptDataError,
  NotInitializedError,
  ErrorCodes,
  serializeError,
  errorFromSerialized,
  describeValue,
  assertPositiveInteger,
  assertNonNegativeInteger,
  assertInteger,
  assertFiniteNumber,
  assertBoolean,
  assertNonEmptyString,
  assertFunction,
  assertOneOf,
  assertPlainObject,
  assertKnownKeys,
  checkOptions,
  closestMatch,
  isPlainObject,
} from '../ts/errors.js';

const classes = [
  [AutoencoderError, 'AutoencoderError', 'ERR_AUTOENCODER'],
  [ShapeError, 'ShapeError', 'ERR_SHAPE'],
  [ValueError, 'ValueError', 'ERR_VALUE'],
  [DisposedError, 'DisposedError', 'ERR_DISPOSED'],
  [CorruptDataError, 'CorruptDataError', 'ERR_CORRUPT_DATA'],
  [NotInitializedError, 'NotInitializedError', 'ERR_NOT_INITIALIZED'],
] as const;

describe('error classes', () => {
  for (const [Cls, name, code] of classes) {
    it(`${name} has name, code, message and inherits from AutoencoderError and Error`, () => {
      const e = new Cls('boom');
      expect(e).toBeInstanceOf(Error);
      expect(e).toBeInstanceOf(AutoencoderError);
      expect(e).toBeInstanceOf(Cls);
      expect(e.name).toBe(name);
      expect(e.code).toBe(code);
      expect(ErrorCodes[name]).toBe(code);
      expect(e.message).toBe('boom');
      expect(String(e)).toBe(`${name}: boom`);
      expect(typeof e.stack).toBe('string');
    });
  }

  it('subclasses are not instances of each other', () => {
    expect(new ShapeError('x')).not.toBeInstanceOf(ValueError);
    expect(new ValueError('x')).not.toBeInstanceOf(ShapeError);
  });

  it('accepts a custom code and a cause', () => {
    const cause = new Error('inner');
    const e = new AutoencoderError('outer', { code: 'ERR_FILE_NOT_FOUND', cause });
    expect(e.code).toBe('ERR_FILE_NOT_FOUND');
    expect(e.cause).toBe(cause);
    const s = new ShapeError('x', { cause });
    expect(s.code).toBe('ERR_SHAPE');
    expect(s.cause).toBe(cause);
  });
});

describe('serializeError / errorFromSerialized', () => {
  for (const [Cls, name, code] of classes) {
    it(`round-trips ${name} through structuredClone`, () => {
      const s = structuredClone(serializeError(new Cls('what went wrong')));
      expect(s.name).toBe(name);
      expect(s.code).toBe(code);
      expect(s.message).toBe('what went wrong');
      const e = errorFromSerialized(s);
      expect(e).toBeInstanceOf(Cls);
      expect(e).toBeInstanceOf(AutoencoderError);
      expect(e.name).toBe(name);
      expect((e as AutoencoderError).code).toBe(code);
      expect(e.message).toBe('what went wrong');
    });
  }

  it('keeps a custom code', () => {
    const e = errorFromSerialized(serializeError(new AutoencoderError('m', { code: 'ERR_X' })));
    expect(e).toBeInstanceOf(AutoencoderError);
    expect((e as AutoencoderError).code).toBe('ERR_X');
  });

  it('rebuilds built-in errors and keeps unknown names', () => {
    expect(errorFromSerialized(serializeError(new TypeError('t')))).toBeInstanceOf(TypeError);
    expect(errorFromSerialized(serializeError(new RangeError('r')))).toBeInstanceOf(RangeError);
    const custom = new Error('c');
    custom.name = 'WeirdError';
    const e = errorFromSerialized(serializeError(custom));
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('WeirdError');
    expect(e.message).toBe('c');
    // Names of Object.prototype members are not treated as classes.
    expect(errorFromSerialized({ name: 'toString', message: 'm' }).name).toBe('toString');
  });

  it('serializes non-errors', () => {
    expect(serializeError('plain string')).toEqual({ name: 'Error', message: 'plain string' });
    expect(serializeError(42).message).toContain('42');
    expect(serializeError(undefined).name).toBe('Error');
  });

  it('tolerates malformed input', () => {
    const e = errorFromSerialized({} as never);
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('Error');
  });

  it('appends the remote stack', () => {
    const e = errorFromSerialized({ name: 'ValueError', message: 'm', stack: 'ValueError: m\n    at worker.js:1:1' });
    expect(e.stack).toContain('worker.js:1:1');
  });
});

describe('describeValue', () => {
  it('describes values readably', () => {
    expect(describeValue(2.5)).toBe('2.5');
    expect(describeValue(NaN)).toBe('NaN');
    expect(describeValue(-Infinity)).toBe('-Infinity');
    expect(describeValue(-0)).toBe('-0');
    expect(describeValue('abc')).toBe('"abc" (string)');
    expect(describeValue(null)).toBe('null');
    expect(describeValue(undefined)).toBe('undefined');
    expect(describeValue([1, 2])).toBe('[1, 2]');
    expect(describeValue(new Array(10).fill(0))).toBe('an array of length 10');
    expect(describeValue(new Float32Array(3))).toBe('a Float32Array of length 3');
    expect(describeValue({})).toBe('an object');
    expect(describeValue(new Map())).toBe('a Map');
    expect(describeValue(5n)).toBe('5n (bigint)');
    expect(describeValue(() => 1)).toContain('function');
  });
});

describe('validators', () => {
  it('assertPositiveInteger', () => {
    expect(assertPositiveInteger('epochs', 3)).toBe(3);
    expect(() => assertPositiveInteger('epochs', 2.5)).toThrow(ValueError);
    expect(() => assertPositiveInteger('epochs', 2.5)).toThrow('epochs must be a positive integer, got 2.5');
    expect(() => assertPositiveInteger('epochs', 0)).toThrow('got 0');
    expect(() => assertPositiveInteger('epochs', -1)).toThrow(ValueError);
    expect(() => assertPositiveInteger('epochs', NaN)).toThrow('got NaN');
    expect(() => assertPositiveInteger('epochs', Infinity)).toThrow(ValueError);
    expect(() => assertPositiveInteger('epochs', '3')).toThrow('got "3" (string)');
    expect(() => assertPositiveInteger('epochs', undefined)).toThrow('got undefined');
  });

  it('assertNonNegativeInteger and assertInteger', () => {
    expect(assertNonNegativeInteger('n', 0)).toBe(0);
    expect(() => assertNonNegativeInteger('n', -1)).toThrow('n must be a non-negative integer, got -1');
    expect(assertInteger('k', 5, { min: 1, max: 5 })).toBe(5);
    expect(() => assertInteger('k', 6, { min: 1, max: 5 })).toThrow('k must be an integer in [1, 5], got 6');
    expect(() => assertInteger('k', 0, { min: 1 })).toThrow('k must be an integer >= 1, got 0');
    expect(() => assertInteger('k', 1.5)).toThrow(ValueError);
  });

  it('assertFiniteNumber with bounds', () => {
    expect(assertFiniteNumber('lr', 0.1, { min: 0, minExclusive: true })).toBe(0.1);
    expect(() => assertFiniteNumber('lr', 0, { min: 0, minExclusive: true })).toThrow(
      'lr must be a finite number > 0, got 0',
    );
    expect(() => assertFiniteNumber('lr', NaN)).toThrow('lr must be a finite number, got NaN');
    expect(() => assertFiniteNumber('lr', Infinity)).toThrow(ValueError);
    expect(() => assertFiniteNumber('std', -1, { min: 0 })).toThrow('std must be a finite number >= 0, got -1');
    expect(() => assertFiniteNumber('beta1', 1, { min: 0, max: 1, maxExclusive: true })).toThrow(
      'beta1 must be a finite number in [0, 1), got 1',
    );
    expect(() => assertFiniteNumber('x', 3, { max: 2 })).toThrow('x must be a finite number <= 2, got 3');
    expect(() => assertFiniteNumber('x', '1')).toThrow(ValueError);
    expect(assertFiniteNumber('x', 0, { min: 0, max: 1 })).toBe(0);
  });

  it('assertBoolean, assertNonEmptyString, assertFunction', () => {
    expect(assertBoolean('shuffle', false)).toBe(false);
    expect(() => assertBoolean('shuffle', 1)).toThrow('shuffle must be a boolean (true or false), got 1');
    expect(assertNonEmptyString('dir', 'a')).toBe('a');
    expect(() => assertNonEmptyString('dir', '')).toThrow(ValueError);
    expect(() => assertNonEmptyString('dir', 3)).toThrow('dir must be a non-empty string, got 3');
    expect(() => assertFunction('onEpochEnd', () => {})).not.toThrow();
    expect(() => assertFunction('onEpochEnd', 'x')).toThrow('onEpochEnd must be a function');
  });

  it('assertOneOf suggests near misses', () => {
    expect(assertOneOf('padding', 'same', ['same', 'valid'])).toBe('same');
    expect(() => assertOneOf('padding', 'sme', ['same', 'valid'])).toThrow(
      'padding must be one of "same", "valid", got "sme" (string); did you mean "same"?',
    );
    expect(() => assertOneOf('padding', 'SAME', ['same', 'valid'])).toThrow('did you mean "same"?');
    expect(() => assertOneOf('padding', 'zzzzzz', ['same', 'valid'])).toThrow(/got "zzzzzz" \(string\)$/);
    expect(() => assertOneOf('padding', 1, ['same', 'valid'])).toThrow(ValueError);
    expect(assertOneOf('k', 3, [1, 3])).toBe(3);
  });

  it('isPlainObject / assertPlainObject', () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject([])).toBe(false);
    expect(isPlainObject(null)).toBe(false);
    expect(isPlainObject(new Date())).toBe(false);
    expect(isPlainObject(new (class A {})())).toBe(false);
    expect(() => assertPlainObject('options', [1])).toThrow(
      'options must be a plain object like { key: value }, got [1]',
    );
    expect(() => assertPlainObject('options', 'x')).toThrow(ValueError);
  });

  it('assertKnownKeys rejects misspelt options with a suggestion', () => {
    expect(() => assertKnownKeys('fit options', { epochs: 1 }, ['epochs', 'batchSize'])).not.toThrow();
    expect(() => assertKnownKeys('fit options', { epoch: 1 }, ['epochs', 'batchSize'])).toThrow(
      'fit options has an unknown option "epoch"; did you mean "epochs"? Known options: epochs, batchSize',
    );
    expect(() => assertKnownKeys('fit options', { batchsize: 1 }, ['epochs', 'batchSize'])).toThrow(
      'did you mean "batchSize"?',
    );
    expect(() => assertKnownKeys('o', { foo: 1 }, [])).toThrow('No options are accepted');
    expect(() => assertKnownKeys('o', { zzzzzz: 1 }, ['epochs'])).toThrow(
      'o has an unknown option "zzzzzz". Known options: epochs',
    );
  });

  it('checkOptions', () => {
    expect(checkOptions('o', undefined, ['a'])).toEqual({});
    expect(checkOptions('o', { a: 1 }, ['a'])).toEqual({ a: 1 });
    expect(() => checkOptions('o', null, ['a'])).toThrow(ValueError);
    expect(() => checkOptions('o', { b: 1 }, ['a'])).toThrow(ValueError);
  });

  it('closestMatch', () => {
    expect(closestMatch('lerningRate', ['learningRate', 'epochs'])).toBe('learningRate');
    expect(closestMatch('qqqqq', ['learningRate', 'epochs'])).toBeUndefined();
    expect(closestMatch('max', ['maxValue'])).toBe('maxValue');
    expect(closestMatch('ab', ['abcdef'])).toBeUndefined();
  });
});
