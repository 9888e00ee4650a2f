#!/usr/bin/env node
// @ts-check
// The supply chain (issue 13, point 9), checked on this checkout after `npm run build`:
//   1. npm audit of the runtime dependencies (npm audit --omit=dev): high/critical must be 0
//      (reported as NOT RUN where the registry's advisories endpoint cannot be reached)
//   2. no install scripts: neither the package nor any runtime dependency has
//      preinstall/install/postinstall (installing us runs no code)
//   3. nothing downloaded at run time: the bundles in dist/ name no http(s) URL they fetch
//      (every file is loaded relative to import.meta.url, or from where the caller says)
//   4. the Rust crates compiled into the .wasm (cargo tree), with versions; cargo-audit and
//      cargo-deny need an advisory database from GitHub, which this machine cannot reach,
//      so the list is printed for review instead
// Prints a report; exits 1 if 1, 2 or 3 fails.
//
//   node scripts/supply-chain.mjs
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
let failed = false;
const fail = (line) => {
  failed = true;
  console.log(`  FAIL ${line}`);
};

console.log('1. npm audit --omit=dev');
const audit = spawnSync('npm', ['audit', '--omit=dev', '--json'], { cwd: root, encoding: 'utf8' });
try {
  const counts = JSON.parse(audit.stdout).metadata.vulnerabilities;
  console.log(`  ${JSON.stringify(counts)}`);
  if (counts.high + counts.critical > 0) fail(`${counts.high} high, ${counts.critical} critical`);
} catch {
  // Not a pass: the audit could not run (this machine's registry mirror refuses the
  // advisories endpoint). Said plainly rather than counted as clean.
  console.log(`  NOT RUN: npm audit gave no report (${(audit.stderr || audit.stdout).split('\n')[0]})`);
}

console.log('2. install scripts (the package and its runtime dependencies)');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const INSTALL = ['preinstall', 'install', 'postinstall'];
/** Every runtime dependency, transitively, by name (node_modules is flat here). */
function runtimeDeps(names, seen = new Set()) {
  for (const name of names) {
    if (seen.has(name)) continue;
    seen.add(name);
    const p = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'));
    runtimeDeps(Object.keys(p.dependencies ?? {}), seen);
  }
  return seen;
}
const deps = [...runtimeDeps(Object.keys(pkg.dependencies ?? {}))].sort();
for (const [name, p] of [
  [pkg.name, pkg],
  ...deps.map((d) => [d, JSON.parse(readFileSync(join(root, 'node_modules', d, 'package.json'), 'utf8'))]),
]) {
  const scripts = INSTALL.filter((s) => p.scripts?.[s]);
  console.log(`  ${name}@${p.version}: ${scripts.length ? scripts.join(', ') : 'no install scripts'}`);
  if (scripts.length) fail(`${name} runs ${scripts.join(', ')} on install`);
}

console.log('3. URLs in the published bundles (dist/)');
const files = [];
const walk = (dir) => {
  for (const f of readdirSync(dir)) {
    const path = join(dir, f);
    if (statSync(path).isDirectory()) walk(path);
    else if (/\.(c?js)$/.test(f)) files.push(path);
  }
};
walk(join(root, 'dist'));
let urls = 0;
for (const f of files) {
  // Literal URLs passed to fetch/import/new URL/Worker: none should be absolute http(s).
  for (const m of readFileSync(f, 'utf8').matchAll(
    /(?:fetch|import|new URL|new Worker)\(\s*["'`](https?:\/\/[^"'`]+)/g,
  )) {
    urls++;
    fail(`${f.slice(root.length)} loads ${m[1]}`);
  }
}
console.log(`  ${files.length} files, ${urls} absolute URLs fetched or imported`);

console.log('4. Rust crates in the .wasm (cargo tree -p wasm-autoencoders -e normal, wasm32)');
const tree = execFileSync(
  'cargo',
  ['tree', '-p', 'wasm-autoencoders', '-e', 'normal', '--target', 'wasm32-unknown-unknown', '--prefix', 'none'],
  { cwd: root, encoding: 'utf8' },
);
const crates = [
  ...new Set(
    tree
      .split('\n')
      .filter(Boolean)
      .map((l) => l.replace(/ \(\*\)$/, '').replace(/ \(\/.*\)$/, '')),
  ),
].sort();
for (const c of crates) console.log(`  ${c}`);
const cargoAudit = spawnSync('cargo', ['audit', '--version'], { encoding: 'utf8' });
console.log(
  cargoAudit.status === 0
    ? `  ${cargoAudit.stdout.trim()} is installed: run cargo audit`
    : '  cargo-audit is not installed, and its advisory database (GitHub) is out of reach here: review the list above',
);

console.log(failed ? 'supply chain: FAILED' : 'supply chain: ok');
process.exit(failed ? 1 : 0);
