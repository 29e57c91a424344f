import { ArchiveFinalizer, ExitCodeRule_Action, KubeLabels, type LaunchRun } from '@wharf/contracts';
import type { Violation } from '@wharf/platform';
import type {
  Container,
  EnvVar,
  KubeConfigMap,
  KubeJob,
  KubeSecret,
  ObjectMeta,
  OwnerReference,
  PodFailurePolicyRule,
  ResourceRequirements,
  Volume,
  VolumeMountSpec,
} from './kube-objects';
import { configMapName, inputsChunkName, itemKey, kubeJobName, secretKey, secretName } from './launch-names';

/** Annotations job-launcher writes on Jobs and pods (values are facts, never secrets). */
export const LaunchAnnotations = {
  jobId: 'wharf.dev/job-id',
  run: 'wharf.dev/run',
  tenant: 'wharf.dev/tenant',
  specHash: 'wharf.dev/spec-hash',
  workflowId: 'wharf.dev/workflow-id',
  task: 'wharf.dev/task',
  /** Inputs of a run without a ConfigMap ("{}"), projected as /var/run/wharf/inputs.json. */
  inputs: 'wharf.dev/inputs',
  /** Why a cancel deleted the Job; the watcher reports it, so both reports of the fact agree. */
  cancelReason: 'wharf.dev/cancel-reason',
  /** Kubernetes' own: the index of a pod of an Indexed Job. */
  completionIndex: 'batch.kubernetes.io/job-completion-index',
} as const;

/** Paths and variables the container contract promises (docs/job-launcher.md). */
export const ContainerContract = {
  containerName: 'main',
  dir: '/var/run/wharf',
  inputsFile: '/var/run/wharf/inputs.json',
  itemFile: '/var/run/wharf/item',
  inputsKey: 'inputs.json',
  env: {
    inputs: 'WHARF_INPUTS',
    item: 'WHARF_ITEM',
    index: 'WHARF_INDEX',
    jobId: 'WHARF_JOB_ID',
    run: 'WHARF_RUN',
  },
} as const;

export interface RenderOptions {
  /** Put the log-archiver finalizer on every Job. @default true */
  readonly archiveFinalizer: boolean;
  /** Pod lifetime when the spec gives none; 0 = none. */
  readonly defaultActiveDeadlineSeconds: number;
  /** ttlSecondsAfterFinished; 0 = unset (log-archiver deletes finished Jobs). */
  readonly ttlSecondsAfterFinished: number;
  /** UID/GID pods run as when the image would run as root (restricted profile). */
  readonly runAsUser: number;
  readonly runAsGroup: number;
  /** `shell`: wrap the command in `/bin/sh -c` to export WHARF_ITEM from the item file
   * (needs a shell in the image); `off`: the item is only a file. */
  readonly itemEnv: 'shell' | 'off';
  /** Extended resource name of spec.resources.gpu. @default nvidia.com/gpu */
  readonly gpuResource: string;
  readonly imagePullPolicy: 'IfNotPresent' | 'Always' | 'Never';
  /**
   * Most bytes of one owned inputs ConfigMap ("chunk"), counted by {@link inputsEntryBytes}
   * (key + value + 16 per entry). Items that do not fit go to further chunks, all projected
   * into the one `wharf-inputs` volume. Kubernetes refuses ConfigMap data over 1 MiB and etcd
   * a stored object over ~1.5 MiB (its managedFields name every key once more), so keep it well
   * below 1 MiB. @default 900_000
   */
  readonly inputsChunkBytes: number;
}

export const defaultRenderOptions: RenderOptions = {
  archiveFinalizer: true,
  defaultActiveDeadlineSeconds: 0,
  ttlSecondsAfterFinished: 0,
  runAsUser: 65532,
  runAsGroup: 65532,
  itemEnv: 'shell',
  gpuResource: 'nvidia.com/gpu',
  imagePullPolicy: 'IfNotPresent',
  inputsChunkBytes: 900_000,
};

/** Bytes counted per entry of an inputs ConfigMap on top of its key and value. */
export const inputsEntryOverhead = 16;

/** What one entry (`inputs.json` or `item-<i>`) counts against {@link RenderOptions.inputsChunkBytes}. */
export function inputsEntryBytes(key: string, value: string): number {
  return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(value, 'utf8') + inputsEntryOverhead;
}

/** What one LaunchRun becomes. Secret and ConfigMaps exist only when needed. */
export interface RenderedRun {
  readonly job: KubeJob;
  /** Owned objects: created after the Job, with the Job as owner (see {@link ownedBy}). */
  readonly secret?: KubeSecret;
  /**
   * The owned inputs ConfigMaps ("chunks"), in order: chunk 0 (`<job>-inputs`) holds
   * `inputs.json` and the first items, each further one (`<job>-inputs-<n>`) the next items,
   * each at most `inputsChunkBytes` (unless one entry alone is larger: see
   * {@link inputsChunkViolations}). Empty when the run has neither items nor inputs; one
   * chunk for all but large fan-outs.
   */
  readonly configMaps: readonly KubeConfigMap[];
}

/** The shell step that turns the item file into WHARF_ITEM, then execs the real command. */
export const itemShellScript = `${ContainerContract.env.item}="$(cat ${ContainerContract.itemFile})" && export ${ContainerContract.env.item} && exec "$@"`;

/**
 * `inputs.json` then `item-0`, `item-1`… packed in order into chunks of at most `budget` bytes
 * ({@link inputsEntryBytes}); a new chunk starts when the next entry does not fit. An entry
 * larger than the budget gets a chunk of its own (which policy refuses).
 */
function chunkInputs(inputsJson: string, items: readonly string[], budget: number): Record<string, string>[] {
  const chunks: Record<string, string>[] = [];
  let data: Record<string, string> = { [ContainerContract.inputsKey]: inputsJson };
  let bytes = inputsEntryBytes(ContainerContract.inputsKey, inputsJson);
  items.forEach((item, i) => {
    const key = itemKey(i);
    const cost = inputsEntryBytes(key, item);
    if (bytes > 0 && bytes + cost > budget) {
      chunks.push(data);
      data = {};
      bytes = 0;
    }
    data[key] = item;
    bytes += cost;
  });
  chunks.push(data);
  return chunks;
}

/** Bytes of a chunk as {@link RenderOptions.inputsChunkBytes} counts them. */
export function inputsChunkBytes(configMap: KubeConfigMap): number {
  return Object.entries(configMap.data).reduce((n, [k, v]) => n + inputsEntryBytes(k, v), 0);
}

/**
 * The entries too large for any chunk: a chunk over the budget holds a single entry (chunks are
 * packed so), the inputs or one item. Field paths are into the LaunchRun, like the policy's.
 */
export function inputsChunkViolations(rendered: RenderedRun, options: RenderOptions = defaultRenderOptions): Violation[] {
  const out: Violation[] = [];
  for (const configMap of rendered.configMaps) {
    if (inputsChunkBytes(configMap) <= options.inputsChunkBytes) continue;
    for (const key of Object.keys(configMap.data)) {
      const field = key === ContainerContract.inputsKey ? 'spec.inputs' : `spec.items[${key.slice('item-'.length)}]`;
      out.push({ field, description: `larger than one inputs ConfigMap (render.inputsChunkBytes ${options.inputsChunkBytes} bytes); pass a reference instead` });
    }
  }
  return out;
}

function sortedEntries(map: Record<string, string>): [string, string][] {
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Labels every object of a run carries; watches and cleanup select on them. */
export function runLabels(command: LaunchRun): Record<string, string> {
  return {
    [KubeLabels.managedBy]: KubeLabels.managedByValue,
    [KubeLabels.jobId]: command.jobId,
    [KubeLabels.run]: String(command.run),
    ...(command.workflowId ? { [KubeLabels.workflowId]: command.workflowId } : {}),
  };
}

function runAnnotations(command: LaunchRun): Record<string, string> {
  return {
    [LaunchAnnotations.jobId]: command.jobId,
    [LaunchAnnotations.run]: String(command.run),
    [LaunchAnnotations.tenant]: command.tenant,
    ...(command.specHash ? { [LaunchAnnotations.specHash]: command.specHash } : {}),
    ...(command.workflowId ? { [LaunchAnnotations.workflowId]: command.workflowId } : {}),
    ...(command.taskName ? { [LaunchAnnotations.task]: command.taskName } : {}),
  };
}

/** exit-code rules → podFailurePolicy rules; disruptions (eviction, preemption) never count. */
export function podFailurePolicyRules(command: LaunchRun): PodFailurePolicyRule[] {
  const actions = {
    [ExitCodeRule_Action.ACTION_FAIL_JOB]: 'FailJob',
    [ExitCodeRule_Action.ACTION_IGNORE]: 'Ignore',
    [ExitCodeRule_Action.ACTION_FAIL_INDEX]: 'FailIndex',
  } as const;
  const rules: PodFailurePolicyRule[] = [];
  for (const rule of command.spec?.retry?.exitCodeRules ?? []) {
    const action = actions[rule.action as keyof typeof actions];
    if (!action) continue; // validated before rendering
    rules.push({
      action,
      onExitCodes: {
        containerName: ContainerContract.containerName,
        operator: 'In',
        values: [...new Set(rule.exitCodes)].sort((a, b) => a - b),
      },
    });
  }
  rules.push({ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] });
  return rules;
}

function resourcesOf(command: LaunchRun, options: RenderOptions): ResourceRequirements | undefined {
  const r = command.spec?.resources;
  if (!r) return undefined;
  const requests: Record<string, string> = {};
  const limits: Record<string, string> = {};
  if (r.cpu) requests.cpu = r.cpu;
  if (r.memory) {
    requests.memory = r.memory;
    // Memory is not compressible: a limit equal to the request keeps a job from starving others.
    limits.memory = r.memory;
  }
  if (r.gpu > 0) {
    requests[options.gpuResource] = String(r.gpu);
    limits[options.gpuResource] = String(r.gpu);
  }
  if (Object.keys(requests).length === 0) return undefined;
  return Object.keys(limits).length ? { requests, limits } : { requests };
}

/**
 * LaunchRun → Job (+ owned Secret and inputs ConfigMaps). Pure and deterministic: the same command
 * renders the same objects, byte for byte. The command must have passed validateLaunchRun.
 *
 * Every Job is Indexed (completions = number of items, or 1), so per-index retries
 * (backoffLimitPerIndex) and the FailIndex exit-code action mean the same thing for a
 * single-pod job as for a fan-out. Jobs with owned objects are created suspended and resumed
 * once those exist, so no pod ever starts without its inputs or secrets.
 */
export function renderRun(command: LaunchRun, options: RenderOptions = defaultRenderOptions): RenderedRun {
  const spec = command.spec;
  if (!spec) throw new TypeError('renderRun needs a validated LaunchRun with a spec');
  const name = kubeJobName(command.jobId, command.run);
  const namespace = spec.namespace;
  const labels = { ...Object.fromEntries(sortedEntries(spec.labels)), ...runLabels(command) };
  const annotations = runAnnotations(command);
  const items = spec.items;
  const completions = Math.max(1, items.length);
  const inputsJson = JSON.stringify(spec.inputs ?? {});
  const needsConfigMap = items.length > 0 || inputsJson !== '{}';
  const chunks = needsConfigMap ? chunkInputs(inputsJson, items, options.inputsChunkBytes) : [];
  const inlineSecrets = spec.secrets.filter((s) => s.value !== undefined);
  const needsSecret = inlineSecrets.length > 0;
  const cmName = configMapName(name);
  const scName = secretName(name);
  const { env: contract } = ContainerContract;

  const env: EnvVar[] = [
    ...sortedEntries(spec.env).map(([k, v]) => ({ name: k, value: v })),
    { name: contract.jobId, value: command.jobId },
    { name: contract.run, value: String(command.run) },
    { name: contract.index, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${LaunchAnnotations.completionIndex}']` } } },
    needsConfigMap
      ? { name: contract.inputs, valueFrom: { configMapKeyRef: { name: cmName, key: ContainerContract.inputsKey } } }
      : { name: contract.inputs, value: inputsJson },
    ...spec.secrets.map((s): EnvVar =>
      s.value !== undefined
        ? { name: s.env, valueFrom: { secretKeyRef: { name: scName, key: secretKey(s.env) } } }
        : { name: s.env, valueFrom: { secretKeyRef: { name: s.secretRef?.name ?? '', key: s.secretRef?.key ?? '' } } },
    ),
  ];

  const volumes: Volume[] = [];
  const mounts: VolumeMountSpec[] = [];
  if (needsConfigMap) {
    // One chunk: a plain configMap volume (as runs always had). More: one projected volume of
    // every chunk, so the keys (unique across chunks) are files of one directory as before.
    volumes.push(
      chunks.length === 1
        ? { name: 'wharf-inputs', configMap: { name: cmName, defaultMode: 0o444 } }
        : { name: 'wharf-inputs', projected: { defaultMode: 0o444, sources: chunks.map((_, c) => ({ configMap: { name: inputsChunkName(name, c) } })) } },
    );
    mounts.push({ name: 'wharf-inputs', mountPath: ContainerContract.inputsFile, subPath: ContainerContract.inputsKey, readOnly: true });
    if (items.length > 0) {
      // subPathExpr picks this pod's own item: the kubelet expands $(WHARF_INDEX) per pod.
      mounts.push({ name: 'wharf-inputs', mountPath: ContainerContract.itemFile, subPathExpr: `item-$(${contract.index})`, readOnly: true });
    }
  } else {
    volumes.push({
      name: 'wharf-inputs',
      downwardAPI: { items: [{ path: ContainerContract.inputsKey, fieldRef: { fieldPath: `metadata.annotations['${LaunchAnnotations.inputs}']` } }] },
    });
    mounts.push({ name: 'wharf-inputs', mountPath: ContainerContract.inputsFile, subPath: ContainerContract.inputsKey, readOnly: true });
  }
  spec.volumes.forEach((v, i) => {
    volumes.push({ name: `data-${i}`, persistentVolumeClaim: { claimName: v.claimName, readOnly: v.readOnly } });
    mounts.push({ name: `data-${i}`, mountPath: v.mountPath, readOnly: v.readOnly });
  });

  const wrapItem = items.length > 0 && options.itemEnv === 'shell' && spec.command.length > 0;
  const container: Container = {
    name: ContainerContract.containerName,
    image: spec.image,
    imagePullPolicy: options.imagePullPolicy,
    ...(wrapItem
      ? { command: ['/bin/sh', '-c', itemShellScript, 'wharf-item', ...spec.command] }
      : spec.command.length > 0
        ? { command: [...spec.command] }
        : {}),
    ...(spec.args.length > 0 ? { args: [...spec.args] } : {}),
    env,
    volumeMounts: mounts,
    securityContext: {
      privileged: false,
      allowPrivilegeEscalation: false,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
  };
  const resources = resourcesOf(command, options);
  if (resources) container.resources = resources;

  const podAnnotations: Record<string, string> = {
    ...Object.fromEntries(sortedEntries(spec.annotations)),
    ...annotations,
    ...(needsConfigMap ? {} : { [LaunchAnnotations.inputs]: inputsJson }),
  };
  const deadline = spec.activeDeadlineSeconds || options.defaultActiveDeadlineSeconds;
  const job: KubeJob = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name,
      namespace,
      labels,
      annotations,
      ...(options.archiveFinalizer ? { finalizers: [ArchiveFinalizer] } : {}),
    },
    spec: {
      completionMode: 'Indexed',
      completions,
      parallelism: Math.min(Math.max(1, spec.parallelism || 1), completions),
      backoffLimitPerIndex: spec.retry?.backoffLimitPerIndex ?? 0,
      podFailurePolicy: { rules: podFailurePolicyRules(command) },
      ...(deadline > 0 ? { activeDeadlineSeconds: deadline } : {}),
      ...(options.ttlSecondsAfterFinished > 0 ? { ttlSecondsAfterFinished: options.ttlSecondsAfterFinished } : {}),
      ...(needsConfigMap || needsSecret ? { suspend: true } : {}),
      template: {
        metadata: { labels, annotations: podAnnotations },
        spec: {
          restartPolicy: 'Never',
          ...(spec.serviceAccount ? { serviceAccountName: spec.serviceAccount } : {}),
          automountServiceAccountToken: Boolean(spec.serviceAccount),
          enableServiceLinks: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: options.runAsUser,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [container],
          volumes,
        },
      },
    },
  };

  const ownedMeta = (objectName: string): ObjectMeta => ({ name: objectName, namespace, labels: runLabels(command), annotations });
  const configMaps = chunks.map(
    (data, c): KubeConfigMap => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: ownedMeta(inputsChunkName(name, c)), data, immutable: true }),
  );
  const rendered: { job: KubeJob; secret?: KubeSecret; configMaps: KubeConfigMap[] } = { job, configMaps };
  if (needsSecret) {
    const data: Record<string, string> = {};
    for (const s of inlineSecrets) data[secretKey(s.env)] = Buffer.from(s.value ?? '', 'utf8').toString('base64');
    rendered.secret = { apiVersion: 'v1', kind: 'Secret', metadata: ownedMeta(scName), type: 'Opaque', data, immutable: true };
  }
  return rendered;
}

/** `object` owned by the created Job: the garbage collector deletes it with the Job. */
export function ownedBy<T extends { metadata: ObjectMeta }>(object: T, job: { name: string; uid: string }): T {
  const owner: OwnerReference = {
    apiVersion: 'batch/v1',
    kind: 'Job',
    name: job.name,
    uid: job.uid,
    controller: true,
    blockOwnerDeletion: false,
  };
  return { ...object, metadata: { ...object.metadata, ownerReferences: [owner] } };
}
