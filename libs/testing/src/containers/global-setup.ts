import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startInfra, type Infra } from '../infra/infra';
import {
  dockerUnavailableReason,
  startContainerInfra,
  type ContainerInfra,
} from './container-infra';

declare global {
  var __wharfInfra: Infra | undefined;
}

/**
 * Jest globalSetup of the testcontainers provider: Kafka and S3 as containers when a Docker
 * engine answers, Kubernetes (which has no image here) as processes. Without Docker it falls
 * back to the process provider for everything and says so. Use it in place of the default:
 *
 *   jest -c jest.int.config.js \
 *     --globalSetup ./libs/testing/src/containers/global-setup.ts \
 *     --globalTeardown ./libs/testing/src/jest/global-teardown.ts <pattern>
 *
 * `WHARF_INFRA` selects servers as for the default setup. `WHARF_INFRA_PROVIDER` is exported as
 * `containers` or `processes` so a run can tell which provider served it.
 */
export default async function globalSetup(): Promise<void> {
  const wanted = new Set(
    (process.env['WHARF_INFRA'] ?? 'kafka,kube,s3').split(',').map((s) => s.trim()),
  );
  const say = (line: string) => process.stderr.write(`\n[infra] ${line}`);
  const workDir = mkdtempSync(join(tmpdir(), 'wharf-int-'));
  const reason = await dockerUnavailableReason();
  if (reason !== undefined) {
    say(`no Docker engine (${reason}): using the process provider\n`);
    const infra = await startInfra({
      kafka: wanted.has('kafka'),
      kube: wanted.has('kube'),
      s3: wanted.has('s3'),
      workDir,
      cleanup: true,
      log: say,
    });
    Object.assign(process.env, infra.env(), { WHARF_INFRA_PROVIDER: 'processes' });
    globalThis.__wharfInfra = infra;
    return;
  }
  const [containersResult, processesResult] = await Promise.allSettled([
    startContainerInfra({ kafka: wanted.has('kafka'), s3: wanted.has('s3'), log: say }),
    wanted.has('kube')
      ? startInfra({ kube: true, workDir, cleanup: true, log: say })
      : Promise.resolve(undefined),
  ]);
  if (containersResult.status === 'rejected' || processesResult.status === 'rejected') {
    // Stop whichever half did start before reporting the failure.
    await Promise.allSettled([
      containersResult.status === 'fulfilled' ? containersResult.value.stop() : undefined,
      processesResult.status === 'fulfilled' ? processesResult.value?.stop() : undefined,
    ]);
    throw containersResult.status === 'rejected'
      ? containersResult.reason
      : (processesResult as PromiseRejectedResult).reason;
  }
  const containers = containersResult.value;
  const processes = processesResult.value;
  say(`servers up: ${[...wanted].join(', ')} (kafka and s3 as containers)\n`);
  Object.assign(process.env, containers.env(), processes?.env() ?? {}, {
    WHARF_INFRA_PROVIDER: 'containers',
  });
  globalThis.__wharfInfra = combine(containers, processes, workDir);
}

/** One Infra-shaped handle, so the shared global-teardown stops both providers. */
function combine(containers: ContainerInfra, processes: Infra | undefined, workDir: string): Infra {
  return {
    ...(processes?.kube ? { kube: processes.kube } : {}),
    workDir,
    env: () => ({ ...containers.env(), ...(processes?.env() ?? {}) }),
    stop: async () => {
      await Promise.allSettled([containers.stop(), processes?.stop()]);
    },
  };
}
