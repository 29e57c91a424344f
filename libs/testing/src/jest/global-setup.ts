import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInfra, type Infra } from '../infra/infra';

declare global {
  var __wharfInfra: Infra | undefined;
}

/**
 * Starts the real servers once for the whole integration run and exports their connection
 * settings (WHARF_* variables) to the test workers. `WHARF_INFRA=kafka,s3` limits what starts
 * (default: all three). `WHARF_KEEP_WORKDIR=1` keeps the servers' work directory (logs, the
 * container simulator's output) after the run, for a look at what happened.
 */
export default async function globalSetup(): Promise<void> {
  const wanted = new Set((process.env['WHARF_INFRA'] ?? 'kafka,kube,s3').split(',').map((s) => s.trim()));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-int-'));
  const infra = await startInfra({
    kafka: wanted.has('kafka'),
    kube: wanted.has('kube'),
    s3: wanted.has('s3'),
    workDir,
    cleanup: process.env['WHARF_KEEP_WORKDIR'] !== '1',
    log: (line) => process.stderr.write(`\n[infra] ${line}`),
  });
  process.stderr.write(`\n[infra] servers up (work dir ${workDir})\n`);
  Object.assign(process.env, infra.env());
  globalThis.__wharfInfra = infra;
}
