import { z } from 'zod';

/**
 * The one schema of a workflow spec as users write it (YAML or JSON): the proto3 JSON mapping of
 * `wharf.v1.WorkflowSpec` (camelCase field names), so a spec sent as text and the same spec sent
 * as a protobuf message validate alike. `docs/workflow.schema.json` is generated from it
 * (`workflow-schema-generator.ts`); do not edit that file by hand.
 *
 * Strings in task templates may use `{{ … }}` references (see `workflow-template.ts`).
 */

const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Task names: DNS labels of at most 40 characters (they end up in job ids and labels). */
export const maxTaskNameLength = 40;

const taskName = z
  .string()
  .min(1)
  .max(maxTaskNameLength)
  .regex(dnsLabelPattern, 'must be a DNS label: lower-case letters, digits and "-"')
  .meta({ description: 'Unique within the workflow (tasks and finally); a DNS label, ≤ 40 characters.' });

const stringMap = z.record(z.string(), z.string());

const secretSourceSchema = z
  .strictObject({
    env: z.string().min(1).meta({ description: 'Environment variable name in the container.' }),
    value: z.string().optional().meta({ description: 'An inline value; becomes an owned Secret, never logged.' }),
    secretRef: z
      .strictObject({ name: z.string().min(1), key: z.string().min(1) })
      .optional()
      .meta({ description: 'A key of an existing Secret in the task namespace (checked by preflight).' }),
  })
  .refine((s) => (s.value === undefined) !== (s.secretRef === undefined), {
    message: 'set exactly one of value and secretRef',
  });

const exitCodeAction = z.enum(['ACTION_FAIL_JOB', 'ACTION_IGNORE', 'ACTION_FAIL_INDEX']);

const retrySchema = z.strictObject({
  backoffLimitPerIndex: z.number().int().min(0).optional(),
  exitCodeRules: z
    .array(z.strictObject({ action: exitCodeAction, exitCodes: z.array(z.number().int()).min(1) }))
    .optional(),
  maxAttempts: z.number().int().min(0).optional(),
  backoffSeconds: z.number().int().min(0).optional(),
});

const volumeSchema = z.strictObject({
  claimName: z.string().min(1),
  mountPath: z.string().min(1),
  readOnly: z.boolean().optional(),
});

/** A task's job: a `wharf.v1.JobSpec` without `items` (use `withItems` / `withParam`). */
export const jobTemplateSchema = z
  .strictObject({
    name: z.string().optional().meta({ description: 'Default: <workflow name>-<task name>.' }),
    namespace: z.string().optional().meta({ description: 'Default: the workflow namespace.' }),
    queue: z.string().optional().meta({ description: 'Default: the workflow queue.' }),
    priority: z.number().int().optional(),
    labels: stringMap.optional(),
    image: z.string().min(1),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    env: stringMap.optional(),
    inputs: z.record(z.string(), z.unknown()).optional().meta({ description: 'WHARF_INPUTS; string leaves may use templates.' }),
    secrets: z.array(secretSourceSchema).optional(),
    resources: z
      .strictObject({ cpu: z.string().optional(), memory: z.string().optional(), gpu: z.number().int().min(0).optional() })
      .optional(),
    parallelism: z.number().int().min(0).optional().meta({ description: 'Pods at once (fan-outs).' }),
    activeDeadlineSeconds: z.number().int().min(0).optional(),
    retry: retrySchema.optional(),
    volumes: z.array(volumeSchema).optional(),
    serviceAccount: z.string().optional(),
    annotations: stringMap.optional(),
  })
  .meta({ description: 'The job the task runs (wharf.v1.JobSpec, proto3 JSON names, no items).' });

export const taskSchema = z
  .strictObject({
    name: taskName,
    dependsOn: z.array(z.string()).optional().meta({ description: 'Tasks that must finish first.' }),
    when: z
      .string()
      .optional()
      .meta({ description: 'A JSONata condition over { params, tasks, workflow }; false → SKIPPED.' }),
    template: jobTemplateSchema,
    withItems: z
      .array(z.string())
      .optional()
      .meta({ description: 'Fan out over a static list: ONE Indexed Job, index i gets item i.' }),
    withParam: z
      .string()
      .optional()
      .meta({ description: 'Fan out over a JSON list an upstream task emitted: "{{ tasks.list.output }}".' }),
    retries: z.number().int().min(0).optional().meta({ description: 'Retries per pod (index) before the task fails.' }),
    workspaces: z
      .array(z.strictObject({ name: z.string().min(1), mountPath: z.string().min(1) }))
      .optional()
      .meta({ description: 'Workflow workspaces mounted into this task.' }),
  })
  .refine((t) => !(t.withItems !== undefined && t.withParam !== undefined), {
    message: 'set at most one of withItems and withParam',
  });

const parameterValue = z.union([z.string(), z.number(), z.boolean()]);

export const workflowSpecSchema = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(40)
      .regex(dnsLabelPattern, 'must be a DNS label: lower-case letters, digits and "-"'),
    namespace: z.string().min(1).meta({ description: 'Where the tasks run and the workspaces live.' }),
    queue: z.string().optional().meta({ description: 'Default queue of the tasks.' }),
    parameters: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'not a parameter name'), parameterValue)
      .optional()
      .meta({ description: 'Workflow inputs, referenced as {{ params.<name> }}; values are strings.' }),
    tasks: z.array(taskSchema).min(1),
    finally: z
      .array(taskSchema)
      .optional()
      .meta({ description: 'Run after every task finished, whether the workflow succeeded or failed.' }),
    parallelism: z.number().int().min(0).optional().meta({ description: 'Tasks running at once; 0: unlimited.' }),
    timeoutSeconds: z
      .number()
      .int()
      .min(0)
      .optional()
      .meta({ description: 'After this, running tasks are cancelled, the rest skipped, then finally tasks run.' }),
    workspaces: z
      .array(
        z.strictObject({
          name: z.string().min(1),
          claimName: z.string().min(1).meta({ description: 'An existing PVC in the workflow namespace.' }),
        }),
      )
      .optional(),
  })
  .meta({
    title: 'Wharf WorkflowSpec',
    description: 'A DAG of tasks, each a job template (wharf.v1.WorkflowSpec, proto3 JSON mapping).',
  });

export type WorkflowSpecInput = z.input<typeof workflowSpecSchema>;

/** Size limits of a workflow spec, checked before anything runs. */
export interface WorkflowLimits {
  readonly maxSpecBytes: number;
  readonly maxTasks: number;
  readonly maxParameters: number;
  readonly maxParameterBytes: number;
  /** Items of one fan-out (withItems, or a withParam list at run time). */
  readonly maxFanOut: number;
  /** Bytes of one index's output (the marker line's JSON). */
  readonly maxOutputBytes: number;
  /** Bytes of one task's stored output (a fan-out's list of per-index outputs). */
  readonly maxTaskOutputBytes: number;
  readonly maxConditionLength: number;
}

export const defaultWorkflowLimits: WorkflowLimits = {
  maxSpecBytes: 1024 * 1024,
  maxTasks: 200,
  maxParameters: 100,
  maxParameterBytes: 64 * 1024,
  maxFanOut: 100_000,
  maxOutputBytes: 64 * 1024,
  maxTaskOutputBytes: 256 * 1024,
  maxConditionLength: 1024,
};
