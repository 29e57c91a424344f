/**
 * The few Kubernetes shapes job-launcher renders and reads, typed here so the pure parts
 * (renderer, policy, status interpreter) need no Kubernetes client. Field names and meanings
 * are Kubernetes' own (batch/v1 Job, core/v1 Pod, Secret, ConfigMap); only what we use is
 * declared. Objects coming back from the apiserver carry more; we ignore the rest.
 */

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
  deletionTimestamp?: string | Date;
  creationTimestamp?: string | Date;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface VolumeMountSpec {
  name: string;
  mountPath: string;
  subPath?: string;
  subPathExpr?: string;
  readOnly?: boolean;
}

export interface Capabilities {
  add?: string[];
  drop?: string[];
}

export interface SecurityContext {
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  runAsNonRoot?: boolean;
  runAsUser?: number;
  readOnlyRootFilesystem?: boolean;
  capabilities?: Capabilities;
  seccompProfile?: { type: string; localhostProfile?: string };
}

export interface PodSecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  seccompProfile?: { type: string; localhostProfile?: string };
}

export interface ResourceRequirements {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  volumeMounts?: VolumeMountSpec[];
  resources?: ResourceRequirements;
  securityContext?: SecurityContext;
  imagePullPolicy?: string;
}

export interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[]; defaultMode?: number };
  secret?: { secretName: string };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  emptyDir?: Record<string, never>;
  downwardAPI?: { items: { path: string; fieldRef: { fieldPath: string } }[] };
  /** Several sources merged into one directory (the inputs chunks of a large fan-out). */
  projected?: { sources: VolumeProjection[]; defaultMode?: number };
  hostPath?: { path: string; type?: string };
}

/** One source of a projected volume; exactly one field is set. */
export interface VolumeProjection {
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { name: string };
  downwardAPI?: { items: { path: string; fieldRef: { fieldPath: string } }[] };
  serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number };
}

export interface PodSpec {
  restartPolicy?: string;
  containers: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: PodSecurityContext;
  nodeName?: string;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  enableServiceLinks?: boolean;
}

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec: PodSpec;
}

export interface PodFailurePolicyRule {
  action: 'FailJob' | 'FailIndex' | 'Ignore' | 'Count';
  onExitCodes?: { containerName?: string; operator: 'In' | 'NotIn'; values: number[] };
  onPodConditions?: { type: string; status?: string }[];
}

export interface JobCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string | Date;
}

export interface JobStatus {
  active?: number;
  succeeded?: number;
  failed?: number;
  ready?: number;
  startTime?: string | Date;
  completionTime?: string | Date;
  completedIndexes?: string;
  failedIndexes?: string;
  conditions?: JobCondition[];
}

export interface KubeJob {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: {
    completions?: number;
    parallelism?: number;
    completionMode?: 'Indexed' | 'NonIndexed';
    backoffLimit?: number;
    backoffLimitPerIndex?: number;
    activeDeadlineSeconds?: number;
    ttlSecondsAfterFinished?: number;
    suspend?: boolean;
    podFailurePolicy?: { rules: PodFailurePolicyRule[] };
    template: PodTemplateSpec;
  };
  status?: JobStatus;
}

export interface ContainerStatus {
  name: string;
  state?: {
    running?: { startedAt?: string | Date };
    terminated?: { exitCode: number; reason?: string; message?: string };
    waiting?: { reason?: string; message?: string };
  };
}

export interface KubePod {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: PodSpec;
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    containerStatuses?: ContainerStatus[];
    conditions?: { type: string; status: string; reason?: string }[];
  };
}

export interface KubeSecret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type: 'Opaque';
  /** base64 values; `stringData` is avoided so nothing echoes plain values back. */
  data: Record<string, string>;
  immutable?: boolean;
}

export interface KubeConfigMap {
  apiVersion: 'v1';
  kind: 'ConfigMap';
  metadata: ObjectMeta;
  data: Record<string, string>;
  immutable?: boolean;
}
