import type { Violation } from '@wharf/platform';

/**
 * The proto3 JSON shape of LaunchCommand, field by field, so a JSON command carrying anything
 * else is refused rather than silently trimmed by the generated decoder. The commands topic is
 * an attack surface: a record asking for `hostNetwork`, `privileged` or a `hostPath` volume
 * must be rejected *as such*, with the path of the offending field, never half-applied.
 *
 * Kept by hand on purpose: a field the launcher does not know is a field it does not
 * validate. command-schema.spec.ts checks this table against the generated codec, so adding a
 * proto field fails the test until the field is listed (and validated) here.
 */
type FieldShape =
  | 'scalar'
  | 'timestamp'
  /** map<string, string> */
  | 'string-map'
  /** google.protobuf.Struct: any JSON object */
  | 'struct'
  | { readonly message: MessageShape }
  | { readonly repeated: 'scalar' | MessageShape };

interface MessageShape {
  readonly name: string;
  /** lowerCamel JSON name → shape; the snake_case proto name is accepted too. */
  readonly fields: Readonly<Record<string, FieldShape>>;
}

const resources: MessageShape = { name: 'Resources', fields: { cpu: 'scalar', memory: 'scalar', gpu: 'scalar' } };
const secretKeyRef: MessageShape = { name: 'SecretKeyRef', fields: { name: 'scalar', key: 'scalar' } };
const secretSource: MessageShape = {
  name: 'SecretSource',
  fields: { env: 'scalar', value: 'scalar', secretRef: { message: secretKeyRef } },
};
const exitCodeRule: MessageShape = { name: 'ExitCodeRule', fields: { action: 'scalar', exitCodes: { repeated: 'scalar' } } };
const retryPolicy: MessageShape = {
  name: 'RetryPolicy',
  fields: {
    backoffLimitPerIndex: 'scalar',
    exitCodeRules: { repeated: exitCodeRule },
    maxAttempts: 'scalar',
    backoffSeconds: 'scalar',
  },
};
const volumeMount: MessageShape = {
  name: 'VolumeMount',
  fields: { claimName: 'scalar', mountPath: 'scalar', readOnly: 'scalar' },
};
export const jobSpecShape: MessageShape = {
  name: 'JobSpec',
  fields: {
    name: 'scalar',
    namespace: 'scalar',
    queue: 'scalar',
    priority: 'scalar',
    labels: 'string-map',
    image: 'scalar',
    command: { repeated: 'scalar' },
    args: { repeated: 'scalar' },
    env: 'string-map',
    inputs: 'struct',
    items: { repeated: 'scalar' },
    secrets: { repeated: secretSource },
    resources: { message: resources },
    parallelism: 'scalar',
    activeDeadlineSeconds: 'scalar',
    retry: { message: retryPolicy },
    volumes: { repeated: volumeMount },
    serviceAccount: 'scalar',
    annotations: 'string-map',
  },
};
const launchRun: MessageShape = {
  name: 'LaunchRun',
  fields: {
    jobId: 'scalar',
    run: 'scalar',
    tenant: 'scalar',
    spec: { message: jobSpecShape },
    specHash: 'scalar',
    admittedAt: 'timestamp',
    workflowId: 'scalar',
    taskName: 'scalar',
  },
};
const cancelRun: MessageShape = { name: 'CancelRun', fields: { jobId: 'scalar', run: 'scalar', reason: 'scalar' } };
export const launchCommandShape: MessageShape = {
  name: 'LaunchCommand',
  fields: { launch: { message: launchRun }, cancel: { message: cancelRun } },
};

/**
 * Pod-spec fields an attacker would try, with the reason each is refused. Matched on the last
 * path segment of an unknown field, wherever it appears.
 */
const hostileFields: Readonly<Record<string, string>> = {
  privileged: 'privileged containers are refused',
  allowPrivilegeEscalation: 'privilege escalation is refused; the launcher sets it to false',
  capabilities: 'added capabilities are refused; the launcher drops all',
  securityContext: 'the security context is set by the launcher (restricted profile), not by commands',
  runAsUser: 'the user is set by the launcher (runAsNonRoot)',
  runAsNonRoot: 'the user is set by the launcher (runAsNonRoot)',
  hostPath: 'hostPath volumes are refused',
  hostNetwork: 'host namespaces are refused',
  hostPID: 'host namespaces are refused',
  hostIPC: 'host namespaces are refused',
  hostPort: 'host ports are refused',
  nodeName: 'nodeName is refused: pods are placed by the scheduler',
  nodeSelector: 'node placement is set by the platform, not by commands',
  tolerations: 'tolerations are set by the platform, not by commands',
  podSpec: 'raw pod specs are refused; only the JobSpec contract is accepted',
  template: 'raw pod templates are refused; only the JobSpec contract is accepted',
  containers: 'raw containers are refused; only the JobSpec contract is accepted',
  initContainers: 'raw containers are refused; only the JobSpec contract is accepted',
  seccompProfile: 'the seccomp profile is set by the launcher (RuntimeDefault)',
};

function snakeToCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Every field of a JSON LaunchCommand that is not part of the contract (or has the wrong JSON
 * type), with its path, e.g. `launch.spec.hostNetwork: host namespaces are refused`.
 */
export function unknownJsonFields(value: unknown): Violation[] {
  const violations: Violation[] = [];
  if (!isPlainObject(value)) {
    return [{ field: '', description: 'a LaunchCommand must be a JSON object' }];
  }
  checkMessage(value, launchCommandShape, '', violations);
  return violations;
}

function checkMessage(value: Record<string, unknown>, shape: MessageShape, path: string, out: Violation[]): void {
  for (const [rawName, child] of Object.entries(value)) {
    const name = snakeToCamel(rawName);
    const field = path ? `${path}.${rawName}` : rawName;
    const fieldShape = shape.fields[name];
    if (fieldShape === undefined) {
      out.push({ field, description: hostileFields[name] ?? `unknown field of ${shape.name}` });
      // Look inside, so `{"spec":{"pod":{"hostNetwork":true}}}` names hostNetwork too.
      scanHostile(child, field, out);
      continue;
    }
    if (child === null) continue; // proto3 JSON: null means the default
    checkField(child, fieldShape, field, out);
  }
}

function checkField(value: unknown, shape: FieldShape, field: string, out: Violation[]): void {
  if (shape === 'scalar') {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      out.push({ field, description: 'expected a string, number or boolean' });
      scanHostile(value, field, out);
    }
    return;
  }
  if (shape === 'timestamp') {
    if (typeof value !== 'string') out.push({ field, description: 'expected an RFC 3339 timestamp string' });
    return;
  }
  if (shape === 'string-map') {
    if (!isPlainObject(value)) {
      out.push({ field, description: 'expected an object of strings' });
      return;
    }
    for (const [key, entry] of Object.entries(value)) {
      if (typeof entry !== 'string' && typeof entry !== 'number' && typeof entry !== 'boolean') {
        out.push({ field: `${field}[${JSON.stringify(key)}]`, description: 'expected a string' });
      }
    }
    return;
  }
  if (shape === 'struct') {
    if (!isPlainObject(value)) out.push({ field, description: 'expected a JSON object' });
    return;
  }
  if ('message' in shape) {
    if (!isPlainObject(value)) {
      out.push({ field, description: `expected a ${shape.message.name} object` });
      return;
    }
    checkMessage(value, shape.message, field, out);
    return;
  }
  if (!Array.isArray(value)) {
    out.push({ field, description: 'expected a list' });
    return;
  }
  value.forEach((element, i) => {
    const elementField = `${field}[${i}]`;
    if (shape.repeated === 'scalar') checkField(element, 'scalar', elementField, out);
    else checkField(element, { message: shape.repeated }, elementField, out);
  });
}

/** Names hostile keys nested anywhere inside an unknown or mistyped value. */
function scanHostile(value: unknown, path: string, out: Violation[], depth = 0): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  const entries: [string, unknown][] = Array.isArray(value)
    ? value.map((v, i) => [`[${i}]`, v])
    : Object.entries(value as Record<string, unknown>);
  for (const [key, child] of entries) {
    const field = key.startsWith('[') ? `${path}${key}` : `${path}.${key}`;
    const reason = key.startsWith('[') ? undefined : hostileFields[snakeToCamel(key)];
    if (reason) out.push({ field, description: reason });
    scanHostile(child, field, out, depth + 1);
  }
}
