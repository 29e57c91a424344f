import {
  completionIndexOf,
  expectedIndexes,
  type ContainerLike,
  type ContainerStatusLike,
  type JobLike,
  type PodLike,
} from '../kube/kube-objects';
import { MissingReasons, type ContainerType, type MissingReason } from '../archive/run-manifest';

export { MissingReasons, type ContainerType, type MissingReason };

/** One container instance's log to archive. */
export interface LogTarget {
  readonly index: number;
  readonly pod: string;
  readonly podUid: string;
  readonly container: string;
  readonly containerType: ContainerType;
  readonly previous: boolean;
  /** Still running when the plan was made (a cancelled run): the log may be cut short. */
  readonly running: boolean;
}

export interface MissingLog {
  readonly index: number;
  /** Absent when no pod of the index existed. */
  readonly pod?: string;
  readonly container: string;
  readonly previous: boolean;
  readonly reason: MissingReason;
  /** A short explanation (an API status message); never secret. */
  readonly detail?: string;
}

export interface ArchivePlan {
  readonly targets: readonly LogTarget[];
  readonly missing: readonly MissingLog[];
}

/**
 * What to archive for a Job: every pod of every index (retried attempts included), every
 * container of each pod — init containers and sidecars too — and the previous instance of a
 * restarted container. Indexes without any pod and containers that never started become
 * explicit {@link MissingLog} markers. Pure: a function of the Job and its pods.
 */
export function planArchive(job: JobLike, pods: readonly PodLike[]): ArchivePlan {
  const targets: LogTarget[] = [];
  const missing: MissingLog[] = [];
  const template = containersOf(job.spec?.template?.spec ?? {});
  const podsByIndex = new Map<number, PodLike[]>();
  for (const pod of pods) {
    const index = completionIndexOf(pod);
    podsByIndex.set(index, [...(podsByIndex.get(index) ?? []), pod]);
  }
  const indexes = [...new Set([...expectedIndexes(job), ...podsByIndex.keys()])].sort((a, b) => a - b);

  for (const index of indexes) {
    const indexPods = (podsByIndex.get(index) ?? []).sort((a, b) => compare(a.metadata?.name, b.metadata?.name));
    if (indexPods.length === 0) {
      for (const c of template) {
        missing.push({ index, container: c.name, previous: false, reason: MissingReasons.noPod });
      }
      continue;
    }
    for (const pod of indexPods) {
      const podName = pod.metadata?.name ?? '';
      const podUid = pod.metadata?.uid ?? '';
      const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
      for (const c of containersOf(pod.spec ?? {})) {
        const status = statuses.find((s) => s.name === c.name);
        const base = { index, pod: podName, podUid, container: c.name, containerType: c.type };
        const current = currentInstance(status);
        if (current === 'started' || current === 'running') {
          targets.push({ ...base, previous: false, running: current === 'running' });
        } else {
          missing.push({
            index,
            pod: podName,
            container: c.name,
            previous: false,
            reason: MissingReasons.containerNeverStarted,
            ...(status?.state?.waiting?.reason ? { detail: status.state.waiting.reason } : {}),
          });
        }
        if ((status?.restartCount ?? 0) > 0 || status?.lastState?.terminated !== undefined) {
          targets.push({ ...base, previous: true, running: false });
        }
      }
    }
  }
  return { targets, missing };
}

function containersOf(spec: { initContainers?: ContainerLike[]; containers?: ContainerLike[] }) {
  return [
    ...(spec.initContainers ?? []).map((c) => ({
      name: c.name,
      type: (c.restartPolicy === 'Always' ? 'sidecar' : 'init') as ContainerType,
    })),
    ...(spec.containers ?? []).map((c) => ({ name: c.name, type: 'main' as ContainerType })),
  ];
}

function currentInstance(status: ContainerStatusLike | undefined): 'running' | 'started' | 'never' {
  if (status?.state?.running) return 'running';
  if (status?.state?.terminated) return 'started';
  return 'never';
}

function compare(a: string | undefined, b: string | undefined): number {
  return (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0;
}
