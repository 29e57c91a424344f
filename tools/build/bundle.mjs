// Bundles one app into dist/apps/<app>/main.js (CommonJS, Node 24) with esbuild, plus a
// package.json naming the few packages that cannot be bundled, so an image installs only those.
//   node tools/build/bundle.mjs apps/scheduler
// Per-app options in apps/<app>/package.json under "wharf": { "bundle": { "minifyWhitespace": true } }
// (a smaller source for V8 to keep in memory; names and the source map stay).
// A benchmark bundles its own harness around the app's code with the same options:
//   node tools/build/bundle.mjs apps/log-archiver --entry=tools/bench/x.ts --outfile=/tmp/x.js
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

// Packages that read files next to their own sources at run time (grpc-health-check and
// @grpc/reflection load .proto files), and grpc-js, which must be one shared copy with them.
const runtimeExternal = ['@grpc/grpc-js', '@grpc/proto-loader', '@grpc/reflection', 'grpc-health-check'];

const root = process.argv[2];
if (!root) {
  console.error('usage: node tools/build/bundle.mjs apps/<app> [--entry=<file> --outfile=<file>]');
  process.exit(2);
}
const flag = (name) => process.argv.slice(3).find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const harness = flag('entry');
const started = Date.now();
const outdir = resolve('dist', root);
const rootPackage = JSON.parse(readFileSync('package.json', 'utf8'));
const appPackage = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
const appOptions = appPackage.wharf?.bundle ?? {};
const result = await build({
  entryPoints: [resolve(harness ?? resolve(root, 'src/main.ts'))],
  outfile: resolve(flag('outfile') ?? resolve(outdir, 'main.js')),
  minifyWhitespace: appOptions.minifyWhitespace === true,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  sourcemap: true,
  tsconfig: 'tsconfig.base.json',
  logLevel: 'warning',
  metafile: true,
  // cpu-features is an optional native helper of ssh2 (via client-node's exec support), never used.
  external: [...runtimeExternal, 'cpu-features', './crypto/build/Release/sshcrypto.node'],
});

if (harness) {
  console.log(`bundled ${harness} with ${root}'s options in ${Date.now() - started} ms`);
  process.exit(0);
}
const used = new Set(
  Object.values(result.metafile.outputs)
    .flatMap((o) => o.imports)
    .filter((i) => i.external)
    .map((i) => runtimeExternal.find((name) => i.path === name || i.path.startsWith(`${name}/`)))
    .filter(Boolean),
);
const dependencies = Object.fromEntries([...used].sort().map((n) => [n, rootPackage.dependencies[n]]));
writeFileSync(
  resolve(outdir, 'package.json'),
  JSON.stringify({ name: appPackage.name, version: appPackage.version, private: true, main: 'main.js', engines: rootPackage.engines, dependencies }, null, 2) + '\n',
);
const bytes = Object.values(result.metafile.outputs).reduce((n, o) => n + o.bytes, 0);
console.log(`bundled ${root} → dist/${root}/main.js (${(bytes / 1e6).toFixed(1)} MB incl. source map, runtime deps: ${[...used].join(', ') || 'none'}) in ${Date.now() - started} ms`);
