import { NotFoundError } from '@wharf/platform';
import type { KubePod } from '../src/kube/kube-objects';
import type { PodLogs } from '../src/kube/pod-logs';

/** Pod logs in memory: what each container "printed", and the pods a list returns. */
export class FakePodLogs implements PodLogs {
  /** `<namespace>/<pod>/<container>` → log text. A missing entry reads as a gone pod (404). */
  readonly logs = new Map<string, string>();
  /** What listJobPods returns (any Job uid). */
  listed: KubePod[] = [];
  /** `<namespace>/<pod>/<container>` of every read, in order. */
  readonly reads: string[] = [];
  lists = 0;
  /** Errors the next reads of a pod throw, first first. */
  readonly failures = new Map<string, unknown[]>();
  /** Size of the chunks a log is handed out in (exercises streaming). */
  chunkSize = 7;

  setLog(namespace: string, pod: string, text: string, container = 'main'): void {
    this.logs.set(`${namespace}/${pod}/${container}`, text);
  }

  failNext(pod: string, ...errors: unknown[]): void {
    this.failures.set(pod, [...(this.failures.get(pod) ?? []), ...errors]);
  }

  async streamLog(namespace: string, pod: string, container: string, onText: (text: string) => void, signal?: AbortSignal): Promise<void> {
    const key = `${namespace}/${pod}/${container}`;
    this.reads.push(key);
    signal?.throwIfAborted();
    const error = this.failures.get(pod)?.shift();
    if (error !== undefined) throw error;
    const text = this.logs.get(key);
    if (text === undefined) throw new NotFoundError(`pods "${pod}" not found`);
    for (let i = 0; i < text.length; i += this.chunkSize) onText(text.slice(i, i + this.chunkSize));
  }

  async listJobPods(): Promise<KubePod[]> {
    this.lists++;
    return structuredClone(this.listed);
  }
}
