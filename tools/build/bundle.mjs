// Bundles one app into dist/apps/<app>/main.js (CommonJS, Node 24) with esbuild, plus a
// package.json naming the few packages that cannot be bundled, so an image installs only those.
//   node tools/build/bundle.mjs apps/scheduler
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

// Packages that read files next to their own sources at run time (grpc-health-check and
// @grpc/reflection load .proto files), and grpc-js, which must be one shared copy with them.
const runtimeExternal = ['@grpc/grpc-js', '@grpc/proto-loader', '@grpc/reflection', 'grpc-health-check'];

const root = process.argv[2];
if (!root) {
  console.error('usage: node tools/build/bundle.mjs apps/<app>');
  process.exit(2);
}
const started = Date.now();
const outdir = resolve('dist', root);
const result = await build({
  entryPoints: [resolve(root, 'src/main.ts')],
  outfile: resolve(outdir, 'main.js'),
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

const rootPackage = JSON.parse(readFileSync('package.json', 'utf8'));
const appPackage = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8'));
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
