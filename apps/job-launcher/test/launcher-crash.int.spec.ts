import type { LaunchCommand } from '@wharf/contracts';
import { eventually, ManagedProcess } from '@wharf/testing';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { kubeJobName } from '../src/launch/launch-names';
import { launchRun } from './launch-fixtures';
import { CommandSender, KubeProbe, launcherEnv, observationTap, testNames } from './launcher-harness';

const root = resolve(__dirname, '../../..');

/**
 * A launcher killed at any point loses nothing and duplicates nothing: 1,000 jobs are launched
 * while the bundled launcher (the production artifact) is killed with SIGKILL 20 times.
 */
describe('job-launcher under kill -9', () => {
  // The full scale: 5.3-6.4 minutes on a shared 2-core machine (load 3-20), bounded by
  // the test cluster running 1,000 Jobs to completion (~2-3 Jobs/s; most likely the job
  // controller at client-go's default 20 requests/s), not by the launcher: every Job exists 2.5-4.5
  // minutes in. Smaller runs while working on the launcher: WHARF_CRASH_JOBS=200 WHARF_CRASH_KILLS=10.
  const jobs = Number(process.env['WHARF_CRASH_JOBS'] ?? 1_000);
  const kills = Number(process.env['WHARF_CRASH_KILLS'] ?? 20);
  const names = testNames('jlcrash');
  const kube = new KubeProbe();
  const observations = observationTap(names.observationsTopic);
  const sender = new CommandSender(names.launchTopic);
  let launcher: ManagedProcess;

  beforeAll(async () => {
    execFileSync(process.execPath, ['tools/build/bundle.mjs', 'apps/job-launcher'], { cwd: root, stdio: 'ignore' });
    await kube.createNamespace(names.namespace);
    launcher = new ManagedProcess({
      name: 'job-launcher',
      command: process.execPath,
      args: ['--enable-source-maps', join(root, 'dist/apps/job-launcher/main.js')],
      env: launcherEnv(names, { WHARF_LOG_LEVEL: 'info', WHARF_LAUNCHER_RESYNC_MS: '60000' }),
      logFile: join(tmpdir(), `${names.namespace}-launcher.log`),
      // Killed at any moment, on purpose even while starting: alive is enough.
      ready: async () => true,
    });
    await sender.start();
    await observations.start();
  });

  afterAll(async () => {
    await launcher?.stop();
    await Promise.allSettled([observations.stop(), sender.stop()]);
  });

  it(`loses no run and creates no duplicate Job over ${jobs} jobs and ${kills} kills`, async () => {
    const ids = Array.from({ length: jobs }, (_, i) => `crash-${i}-0123456789abcdef`);
    const commands: LaunchCommand[] = ids.map((jobId, i) => ({
      cancel: undefined,
      launch: launchRun(
        { jobId },
        {
          namespace: names.namespace,
          command: ['work'],
          // Every 10th run has items and inputs: the suspended-create → ConfigMap → resume path.
          ...(i % 10 === 0 ? { items: ['a', 'b'], parallelism: 2, inputs: { n: i } } : {}),
          // Runs end either way: Complete when KWOK's simulator gets to the pod in time, or
          // DeadlineExceeded after 2 minutes. Both happen while the launcher is being killed.
          activeDeadlineSeconds: 120,
          annotations: { 'wharf.dev/sim-duration-ms': '300' },
        },
      ),
    }));

    /** Runs with a `created` fact: a run's Job exists (the watcher reports every Job it sees). */
    const createdRuns = (): number => new Set(observations.values().filter((o) => o.created).map((o) => o.jobId)).size;
    let jobsAtStart = 0;
    let recordsAtStart = 0;
    /** Kills after the process created Jobs of its own while Jobs were missing (the rest: Jobs all there, or 20 s passed). */
    let midCreate = 0;
    const began = performance.now();
    const seconds = (): number => Math.round((performance.now() - began) / 1000);
    await launcher.start();
    // Commands arrive over the kills, as a scheduler sends them: a chunk every 6 s (about one
    // process's life: it rejoins the group, creates, is killed), so the kills keep landing among
    // creates and the cluster runs the first Jobs while the launcher is being killed (running
    // the 1,000 Jobs to completion is what takes the cluster longest).
    const chunk = Math.ceil(jobs / kills);
    const producing = (async () => {
      for (let i = 0; i < commands.length; i += chunk) {
        await sender.send(commands.slice(i, i + chunk));
        if (i + chunk < commands.length) await new Promise((r) => setTimeout(r, 6_000));
      }
    })();
    // Each kill lands while the new process works: once it created Jobs of its own (it joined
    // the group and consumes), or, when (nearly) every Job exists, once it published something;
    // at the latest after 20 s. Then a random 0-1.5 s more, so kills hit creates, resumes and
    // publishes mid-flight. Any new fact is not enough while Jobs are missing: the watcher
    // republishes the existing Jobs' facts at once, seconds before the consumer has rejoined.
    // The Jobs listed right after a kill may miss the creates the dead process still had on the
    // wire, at most one per partition (one record in flight per partition, one Job per record):
    // more runs with a Job than that must include the new process's own.
    const partitions = Number(launcherEnv(names)['WHARF_LAUNCHER_TOPIC_PARTITIONS']);
    for (let k = 0; k < kills; k++) {
      const [jobsBefore, recordsBefore] = [jobsAtStart, recordsAtStart];
      const missing = jobsBefore + partitions < jobs;
      const creating = await eventually(
        () =>
          missing
            ? expect(createdRuns()).toBeGreaterThan(jobsBefore + partitions)
            : expect(observations.records.length).toBeGreaterThan(recordsBefore),
        { timeoutMs: 20_000, intervalMs: 100 },
      ).then(
        () => missing,
        () => false,
      );
      if (creating) midCreate++;
      await new Promise((r) => setTimeout(r, Math.random() * 1_500));
      await launcher.kill();
      jobsAtStart = (await kube.jobs(names.namespace)).length;
      recordsAtStart = observations.records.length;
      await launcher.start();
    }
    await producing;
    const killPhase = { seconds: seconds(), jobs: jobsAtStart };

    const finished = await eventually(
      () => {
        const done = new Set(observations.values().filter((o) => o.finished).map((o) => o.jobId));
        const missing = ids.filter((id) => !done.has(id));
        if (missing.length > 0) throw new Error(`${missing.length} runs not finished, e.g. ${missing.slice(0, 3).join(', ')}`);
        return done;
      },
      { timeoutMs: 900_000, intervalMs: 1_000, description: 'every run to be observed finished' },
    );
    expect(finished.size).toBe(jobs);
    const allFinishedS = seconds();

    const created = await kube.jobs(names.namespace);
    const byJobId = new Map<string, number>();
    for (const job of created) {
      const id = job.metadata?.labels?.['wharf.dev/job-id'] ?? '';
      byJobId.set(id, (byJobId.get(id) ?? 0) + 1);
    }
    expect(created).toHaveLength(jobs);
    expect([...byJobId.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(created.map((j) => j.metadata?.name))).toEqual(new Set(ids.map((id) => kubeJobName(id, 1))));
    // Every run's observed end is the end Kubernetes recorded.
    const observed = new Map(observations.values().filter((o) => o.finished).map((o) => [o.jobId, o.finished]));
    const mismatches = created.filter((job) => {
      const conditions = job.status?.conditions ?? [];
      const complete = conditions.some((c) => c.type === 'Complete' && c.status === 'True');
      const failed = conditions.find((c) => c.type === 'Failed' && c.status === 'True');
      const seen = observed.get(job.metadata?.labels?.['wharf.dev/job-id'] ?? '');
      return complete ? !seen?.succeeded : seen?.succeeded !== false || seen.reason !== failed?.reason;
    });
    expect(mismatches.map((j) => j.metadata?.name)).toEqual([]);
    expect(observations.values().some((o) => o.rejected)).toBe(false);
    const outcomes = [...observed.values()].reduce<Record<string, number>>((n, f) => {
      const key = f?.succeeded ? 'Complete' : (f?.reason ?? '?');
      n[key] = (n[key] ?? 0) + 1;
      return n;
    }, {});
    process.stderr.write(
      `crash test: ${jobs} runs, ${kills} kills (${midCreate} while the process was creating Jobs; ` +
        `last kill at ${killPhase.seconds} s with ${killPhase.jobs} Jobs; all finished at ${allFinishedS} s), ` +
        `outcomes ${JSON.stringify(outcomes)}\n`,
    );
    // A scale test: 1,000 runs through real Kubernetes with 20 kills. Bounded by the kills
    // (20 × at most 21.5 s plus restarts) and the 900 s wait above: 25 minutes.
  }, 1_500_000);
});
