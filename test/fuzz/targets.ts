/** Every fuzz target, by name (scripts/fuzz.ts --parsers). */
import { codeFileTarget } from './code-file-target.js';
import { idxTarget } from './idx-target.js';
import { modelTarget } from './model-target.js';
import { pngTarget } from './png-target.js';
import type { AnyTarget } from './target.js';

export const TARGETS: Record<string, AnyTarget> = {
  idx: idxTarget as unknown as AnyTarget,
  model: modelTarget as unknown as AnyTarget,
  'code-file': codeFileTarget as unknown as AnyTarget,
  png: pngTarget as unknown as AnyTarget,
};
