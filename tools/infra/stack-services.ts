import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../../libs/testing/src/eventually';

/** A service process the quickstart started, recorded in <stack dir>/services.json. */
export interface RecordedService {
  readonly name: string;
  readonly pid: number;
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the recorded services (SIGTERM, SIGKILL after 30 s) and forgets them. */
export async function stopRecordedServices(stackDir: string, log: (line: string) => void): Promise<void> {
  const file = join(stackDir, 'services.json');
  if (!existsSync(file)) return;
  const services = JSON.parse(readFileSync(file, 'utf8')) as RecordedService[];
  for (const service of services.filter((s) => alive(s.pid))) {
    process.kill(service.pid, 'SIGTERM');
    await eventually(
      () => {
        if (alive(service.pid)) throw new Error('still running');
      },
      { timeoutMs: 30_000, intervalMs: 100, description: `${service.name} to stop` },
    ).catch(() => process.kill(service.pid, 'SIGKILL'));
    log(`stopped ${service.name}`);
  }
  rmSync(file, { force: true });
}
