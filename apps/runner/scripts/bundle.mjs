// Builds the runner process's entry, dist/main.js, as one ES module: src/main.ts with the labbot packages (their dist)
// and @kubernetes/client-node inlined, tree-shaken and minified (names kept). Why (issue 13, idle RSS): the client's
// index loads every generated API and model, about 24 MB of source that V8 keeps in memory, for the six APIs the
// runner calls; bundled, only those stay. Other dependencies stay ordinary imports from node_modules.
//   node scripts/bundle.mjs          (the package's `build`; turbo builds the labbot packages first)
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

const app = join(import.meta.dirname, '..');
/** The labbot packages' own dependencies: one copy each, shared with anything else the process loads from node_modules. */
const external = [
  'bullmq',
  'ioredis',
  'dockerode',
  'pino',
  'prom-client',
  'zod',
  'yaml',
  'tar-fs',
  'selfsigned',
  '@balena/dockerignore',
  // Loaded only without a kubeconfig (the embedded simulator, with its own copy of the Kubernetes client).
  '@labbot/kube-sim',
];

rmSync(join(app, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: [join(app, 'src', 'main.ts')],
  outfile: join(app, 'dist', 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external,
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  sourcemap: 'linked',
  sourcesContent: false,
  logLevel: 'warning',
  // CommonJS modules inlined into an ES module still call require() for Node's built-ins.
  banner: {
    js: "import { createRequire as createRequireForBundle } from 'node:module';\nconst require = createRequireForBundle(import.meta.url);",
  },
});
