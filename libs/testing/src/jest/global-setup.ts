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
 * (default: all three).
 */
export default async function globalSetup(): Promise<void> {
  const wanted = new Set((process.env['WHARF_INFRA'] ?? 'kafka,kube,s3').split(',').map((s) => s.trim()));
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-int-'));
  const infra = await startInfra({
    kafka: wanted.has('kafka'),
    kube: wanted.has('kube'),
    s3: wanted.has('s3'),
    workDir,
    cleanup: true,
    log: (line) => process.stderr.write(`\n[infra] ${line}`),
  });
  process.stderr.write(`\n[infra] servers up (work dir ${workDir})\n`);
  Object.assign(process.env, infra.env());
  globalThis.__wharfInfra = infra;
}
