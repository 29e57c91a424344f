/**
 * ExplainJob: why a job is not running, in plain words, from the same snapshot admission uses.
 * Pure: (snapshot, job, now) → position in its queue and each blocker.
 */
import { JobState, type Blocker, type ExplainJobResponse, type JobRecord } from '@wharf/contracts';
import { isRunTerminal } from './job-reducer';
import { formatCpu, formatMemory } from './quantity';
import { addDemand, queueLimits, zeroDemand, type Demand, type Limits } from './queue-config';
import { comparePending, exceeded, weightedShare, type AdmissionSnapshot, type PendingJob } from './queue-admission';

const stateWords: Readonly<Record<number, string>> = {
  [JobState.JOB_STATE_QUEUED]: 'queued',
  [JobState.JOB_STATE_ADMITTED]: 'admitted',
  [JobState.JOB_STATE_RUNNING]: 'running',
  [JobState.JOB_STATE_SUCCEEDED]: 'succeeded',
  [JobState.JOB_STATE_FAILED]: 'failed',
  [JobState.JOB_STATE_CANCELLED]: 'cancelled',
};

function describeUse(resource: 'cpu' | 'memory' | 'gpu', used: Demand, limit: Limits, need: Demand): string {
  switch (resource) {
    case 'cpu':
      return `uses ${formatCpu(used.cpu)} of ${formatCpu(limit.cpu)}; this job needs ${formatCpu(need.cpu)}`;
    case 'memory':
      return `uses ${formatMemory(used.memory)} of ${formatMemory(limit.memory)} memory; this job needs ${formatMemory(need.memory)}`;
    case 'gpu':
      return `uses ${used.gpu} of ${limit.gpu} GPU; this job needs ${need.gpu}`;
  }
}

const round = (n: number): number => Number(n.toFixed(3));

export function explainJob(snapshot: AdmissionSnapshot, record: JobRecord, now: Date): ExplainJobResponse {
  const state = record.state;
  const queueName = record.spec?.queue ?? '';
  const lastRun = record.runs[record.runs.length - 1];
  if (state !== JobState.JOB_STATE_QUEUED) {
    const blockers: Blocker[] = [];
    let summary = `The job is ${stateWords[state] ?? 'in an unknown state'}`;
    if (state === JobState.JOB_STATE_ADMITTED) {
      if (lastRun && isRunTerminal(lastRun.state) && record.notBefore && record.notBefore.getTime() > now.getTime()) {
        const seconds = Math.ceil((record.notBefore.getTime() - now.getTime()) / 1000);
        blockers.push({
          kind: 'backoff',
          message: `run ${lastRun.number} failed (${lastRun.reason}); run ${lastRun.number + 1} starts in ${seconds} s (retry backoff)`,
        });
        summary = `The job waits ${seconds} s before its next attempt`;
      } else if (lastRun) {
        summary = `The job is admitted; job-launcher is creating or starting Kubernetes Job '${lastRun.jobName}' (run ${lastRun.number})`;
      }
    } else if (state === JobState.JOB_STATE_RUNNING && lastRun) {
      summary = `The job is running (run ${lastRun.number}, Kubernetes Job '${lastRun.jobName}')`;
    } else if (record.reason) {
      summary = `The job ${stateWords[state] ?? 'ended'}: ${record.reason}${record.message ? ` (${record.message})` : ''}`;
    }
    if (record.cancelRequested && state !== JobState.JOB_STATE_CANCELLED) {
      blockers.push({ kind: 'cancel', message: 'a cancel was requested; waiting for job-launcher to confirm it' });
    }
    return { state, queuePosition: 0, queueLength: 0, blockers, summary };
  }

  const queue = snapshot.queues.find((q) => q.config.name === queueName);
  if (!queue) {
    return {
      state,
      queuePosition: 0,
      queueLength: 0,
      blockers: [{ kind: 'queue', message: `queue '${queueName}' is not configured any more; the job cannot be admitted` }],
      summary: `The job's queue '${queueName}' does not exist`,
    };
  }
  const self = queue.pending.get(record.jobId);
  const blockers: Blocker[] = [];
  if (!self) {
    return { state, queuePosition: 0, queueLength: queue.pending.size, blockers, summary: 'The job is being admitted' };
  }
  let ahead = 0;
  for (const other of queue.pending.values()) if (comparePending(other, self) < 0) ahead++;
  const position = ahead + 1;
  if (ahead > 0) {
    blockers.push({
      kind: 'priority',
      message: `${ahead} job${ahead === 1 ? ' is' : 's are'} ahead of it in queue '${queueName}' (higher priority or submitted earlier); the queue admits in order`,
    });
  }
  const limits = queueLimits(queue.config);
  const over = exceeded(queue.used, queue.running, self.demand, limits);
  if (over === 'jobs') {
    blockers.push({
      kind: 'max_running',
      message: `queue '${queueName}' runs ${queue.running} of at most ${queue.config.maxRunning} jobs`,
    });
  } else if (over) {
    blockers.push({ kind: 'quota', message: `queue '${queueName}' ${describeUse(over, queue.used, limits, self.demand)}` });
  }

  let clusterUsed: Demand = zeroDemand;
  let clusterRunning = 0;
  for (const q of snapshot.queues) {
    clusterUsed = addDemand(clusterUsed, q.used);
    clusterRunning += q.running;
  }
  const overCluster = exceeded(clusterUsed, clusterRunning, self.demand, snapshot.capacity);
  if (overCluster) {
    const what =
      overCluster === 'jobs'
        ? `runs ${clusterRunning} of at most ${snapshot.capacity.maxRunning} jobs`
        : describeUse(overCluster, clusterUsed, snapshot.capacity, self.demand);
    const mine = weightedShare(queue.used, queue.running, snapshot.capacity, queue.config.weight);
    const before = snapshot.queues
      .filter((q) => q !== queue && q.pending.size > 0)
      .map((q) => ({ name: q.config.name, share: weightedShare(q.used, q.running, snapshot.capacity, q.config.weight) }))
      .filter((q) => q.share < mine || (q.share === mine && q.name < queueName))
      .sort((a, b) => a.share - b.share)
      .slice(0, 3);
    const fairness =
      before.length > 0
        ? `; when capacity frees up, ${before.map((q) => `queue '${q.name}' (weighted share ${round(q.share)})`).join(', ')} go${before.length === 1 ? 'es' : ''} before queue '${queueName}' (weighted share ${round(mine)})`
        : `; queue '${queueName}' (weighted share ${round(mine)}) is next when capacity frees up`;
    blockers.push({ kind: 'fair_share', message: `the cluster ${what}${fairness}` });
  }
  const summary =
    blockers.length === 0
      ? `The job is next in queue '${queueName}' and fits; it will be admitted in the next cycle`
      : `The job is number ${position} of ${queue.pending.size} waiting in queue '${queueName}'`;
  return { state, queuePosition: position, queueLength: queue.pending.size, blockers, summary };
}

export type { PendingJob };
