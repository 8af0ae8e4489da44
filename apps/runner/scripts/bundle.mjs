// Builds the runner process's entry, dist/main.js, as one ES module: src/main.ts with the labbot packages (their dist),
// @kubernetes/client-node and dockerode inlined, tree-shaken and minified (names kept). Why (issue 13, RSS): the
// client's index loads every generated API and model, about 24 MB of source that V8 keeps in memory, for the six APIs
// the runner calls; bundled, only those stay. dockerode and docker-modem load BuildKit's session (gRPC, protobufjs)
// and ssh2 at import although the runner reaches its engine over a socket or tcp and builds without BuildKit
// sessions (about 12 MB of RSS and 17 MB of Wasm memory): bundled, those modules are loaded on first use only. Other
// dependencies stay ordinary imports from node_modules.
//   node scripts/bundle.mjs          (the package's `build`; turbo builds the labbot packages first)
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build } from 'esbuild';

const app = join(import.meta.dirname, '..');
/** The labbot packages' own dependencies: one copy each, shared with anything else the process loads from node_modules. */
const external = [
  'bullmq',
  'ioredis',
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

/**
 * The parts of dockerode the runner never calls at start: each stays a file in node_modules, required when first
 * called (`lazy`: a module whose export is one function, wrapped; `external`: already required inside a function).
 */
const loadedOnUse = [
  {
    importer: /node_modules\/dockerode\/lib\/docker\.js$/,
    request: './session',
    path: 'dockerode/lib/session.js',
    lazy: true,
  },
  { importer: /node_modules\/dockerode\/lib\/docker\.js$/, request: './buildkit', path: 'dockerode/lib/buildkit.js' },
  {
    importer: /node_modules\/docker-modem\/lib\/modem\.js$/,
    request: './ssh',
    path: 'docker-modem/lib/ssh.js',
    lazy: true,
  },
];

const fromApp = createRequire(join(app, 'package.json'));
/** Whether `importer` gets the same copy of package `name` as the app does (dockerode brings its own tar-fs 2). */
function sameCopy(name, importer) {
  try {
    return createRequire(importer).resolve(name) === fromApp.resolve(name);
  } catch {
    return true;
  }
}

/** @type {import('esbuild').Plugin} */
const runnerImports = {
  name: 'runner-imports',
  setup(build) {
    const names = new RegExp(`^(${external.map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})(/.*)?$`);
    build.onResolve({ filter: names }, ({ path, importer }) => {
      const name = names.exec(path)?.[1] ?? path;
      // A dependency's own, different copy of an external package is bundled with it.
      if (importer && !sameCopy(name, importer)) return undefined;
      return { path, external: true };
    });
    build.onResolve({ filter: /^\.\/(session|buildkit|ssh)$/ }, ({ path, importer }) => {
      const part = loadedOnUse.find((entry) => entry.request === path && entry.importer.test(importer));
      if (!part) return undefined;
      return part.lazy ? { path: part.path, namespace: 'loaded-on-use' } : { path: part.path, external: true };
    });
    build.onLoad({ filter: /.*/, namespace: 'loaded-on-use' }, ({ path }) => ({
      contents: `module.exports = function loadedOnUse(...args) { return require(${JSON.stringify(path)}).apply(this, args); };`,
      loader: 'js',
    }));
    build.onResolve({ filter: /.*/, namespace: 'loaded-on-use' }, ({ path }) => ({ path, external: true }));
  },
};

rmSync(join(app, 'dist'), { recursive: true, force: true });
await build({
  entryPoints: [join(app, 'src', 'main.ts')],
  outfile: join(app, 'dist', 'main.js'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  plugins: [runnerImports],
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
