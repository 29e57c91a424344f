/**
 * `npm run e2e [-- --scenario name] [--server host:port --token …]`: runs the declarative
 * scenarios of apps/e2e/scenarios against a running Wharf, over its public gRPC API only.
 * By default against what `npm run quickstart` left running. See apps/e2e/README.md.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { formatOutcome, formatSummary } from './report';
import { runScenario, type ScenarioOutcome } from './runner';
import { loadScenarios, ScenarioError, type Scenario } from './scenario';
import { resolveTarget, TargetError } from './target';
import { createGrpcApi } from './wharf-api';

/** The repository root: the nearest directory up from here with nx.json (source or bundle). */
function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
const root = findRoot(__dirname);

const usage = `usage: npm run e2e -- [options]

Runs apps/e2e/scenarios/*.yaml against a running Wharf (default: the one \`npm run quickstart\`
left running) and prints PASS/FAIL per scenario; exits 1 if any failed, 2 on bad input.

  --scenario <name>      run only these scenarios (repeatable, or comma-separated)
  --list                 list the scenarios and exit
  --server <host:port>   scheduler gRPC address (default: WHARF_SERVER, else the quickstart's)
  --token <token>        bearer token (default: WHARF_TOKEN, else the quickstart's)
  --tls, --ca-file <pem> use TLS (default: WHARF_TLS, WHARF_CA_FILE)
  --namespace <ns>       for specs that name none (default: default)
  --queue <queue>        for specs that name none (default: default)
  --dir <path>           scenario directory (default: apps/e2e/scenarios)
  --concurrency <n>      scenarios at once (default: 1)
  -v, --verbose          print every job's event timeline, not only on failure
  -h, --help`;

function fileOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  run: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const at = next++;
      results[at] = await run(items[at] as T);
    }
  };
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker),
  );
  return results;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string', multiple: true },
      list: { type: 'boolean' },
      server: { type: 'string' },
      token: { type: 'string' },
      tls: { type: 'boolean' },
      'ca-file': { type: 'string' },
      namespace: { type: 'string', default: 'default' },
      queue: { type: 'string', default: 'default' },
      dir: { type: 'string' },
      concurrency: { type: 'string', default: '1' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new UsageError(
      `--concurrency expects a positive whole number, got '${values.concurrency}'`,
    );

  const dir = values.dir ? resolve(values.dir) : resolve(root, 'apps/e2e/scenarios');
  if (!existsSync(dir)) throw new UsageError(`scenario directory ${dir} does not exist`);
  // Paths in messages relative to where the runner was started, when that is shorter.
  const shown = relative(process.cwd(), dir);
  const all = loadScenarios(shown && !shown.startsWith('..') ? shown : dir, {
    readDir: (d) => readdirSync(d),
    readFile: (p) => readFileSync(p, 'utf8'),
  });
  const wanted = (values.scenario ?? [])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = wanted.filter((w) => !all.some((s) => s.name === w));
  if (unknown.length > 0)
    throw new UsageError(
      `no scenario ${unknown.map((u) => `'${u}'`).join(', ')}; there are: ${all.map((s) => s.name).join(', ')}`,
    );
  const scenarios: Scenario[] = wanted.length ? all.filter((s) => wanted.includes(s.name)) : all;
  if (values.list) {
    for (const s of scenarios)
      process.stdout.write(`${s.name.padEnd(24)} ${s.description || s.file}\n`);
    return 0;
  }

  const target = resolveTarget({
    flags: {
      ...(values.server !== undefined ? { server: values.server } : {}),
      ...(values.token !== undefined ? { token: values.token } : {}),
      ...(values.tls !== undefined ? { tls: values.tls } : {}),
      ...(values['ca-file'] !== undefined ? { caFile: values['ca-file'] } : {}),
    },
    env: process.env,
    root,
    readFile: fileOrUndefined,
    alive,
  });
  const api = createGrpcApi(target);
  try {
    await api.waitForReady(10_000);
    const runId = randomBytes(4).toString('hex').slice(0, 6);
    process.stdout.write(
      `wharf e2e: ${scenarios.length} scenario(s) against ${target.server} (from ${target.source}), run ${runId}\n`,
    );
    const width = Math.max(...scenarios.map((s) => s.name.length));
    const started = Date.now();
    const outcomes: ScenarioOutcome[] = await pool(scenarios, concurrency, async (scenario) => {
      const outcome = await runScenario(scenario, {
        api,
        runId,
        namespace: values.namespace,
        queue: values.queue,
      });
      process.stdout.write(
        `${formatOutcome(outcome, width, Boolean(values.verbose)).join('\n')}\n`,
      );
      return outcome;
    });
    process.stdout.write(`${formatSummary(outcomes, Date.now() - started)}\n`);
    return outcomes.every((o) => o.passed) ? 0 : 1;
  } finally {
    api.close();
  }
}

class UsageError extends Error {}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ScenarioError) {
      process.stderr.write(
        `invalid scenario file(s):\n${error.problems.map((p) => `  ${p}`).join('\n')}\n`,
      );
      process.exit(2);
    }
    if (
      error instanceof UsageError ||
      error instanceof TargetError ||
      String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')
    ) {
      process.stderr.write(`wharf e2e: ${(error as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`wharf e2e: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  },
);
