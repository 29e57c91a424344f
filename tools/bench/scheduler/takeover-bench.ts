/**
 * Takeover after kill -9 of the leader. Two scheduler processes share a namespace; with
 * `--lease` they elect through a Kubernetes Lease (WHARF_KUBE_KUBECONFIG must point at the
 * stack's cluster) and the standby is already running; without it the replacement process is
 * started after the kill (restart takeover: fence + restore). Prints the time from the kill
 * to the first acknowledged submit on the new leader.
 *
 *   npx tsx tools/bench/scheduler/takeover-bench.ts [--lease] [--jobs 1000]
 */
import * as grpc from '@grpc/grpc-js';
import { JobServiceClient, JobSpec } from '@wharf/contracts';
import { randomBytes } from 'node:crypto';
import { deleteNamespaceTopics, startSchedulerProcess, token, type SchedulerProcess } from './bench-support';

const lease = process.argv.includes('--lease');
const jobsArg = process.argv.indexOf('--jobs');
const jobs = jobsArg >= 0 ? Number(process.argv[jobsArg + 1]) : 1_000;

function submit(port: number, key: string): Promise<void> {
  const client = new JobServiceClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  const spec = JobSpec.fromPartial({ name: 'takeover', namespace: 'bench', queue: 'batch', image: 'busybox', args: [key] });
  return new Promise<void>((ok, fail) =>
    client.submitJob({ spec, idempotencyKey: key }, metadata, { deadline: Date.now() + 5_000 }, (e) => (e ? fail(e) : ok())),
  ).finally(() => client.close());
}

async function main(): Promise<void> {
  const ns = `takeover-${randomBytes(3).toString('hex')}`;
  const env: Record<string, string> = lease ? { WHARF_LEADER_ELECTION: 'lease', WHARF_LEADER_NAMESPACE: 'default', WHARF_LEADER_LEASE_NAME: ns } : {};
  const first = await startSchedulerProcess(ns, { ...env, WHARF_LEADER_IDENTITY: 'first' });
  await first.ready();
  let standby: SchedulerProcess | undefined;
  if (lease) standby = await startSchedulerProcess(ns, { ...env, WHARF_LEADER_IDENTITY: 'second' });
  for (let i = 0; i < jobs; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, jobs - i) }, (_, j) => submit(first.grpcPort, `k-${i + j}`)));
  }
  const killedAt = performance.now();
  first.child.kill('SIGKILL');
  const next = standby ?? (await startSchedulerProcess(ns, { ...env, WHARF_LEADER_IDENTITY: 'second' }));
  for (;;) {
    try {
      await submit(next.grpcPort, `after-${Date.now()}`);
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const takeoverMs = Math.round(performance.now() - killedAt);
  console.log(JSON.stringify({ mode: lease ? 'lease standby' : 'restart', jobsBefore: jobs, takeoverMs }));
  const exited = new Promise((r) => next.child.once('exit', r));
  next.child.kill('SIGTERM');
  await exited;
  await deleteNamespaceTopics(ns);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
