import type { JobSpec, SubmitJobRequest, WorkflowSpec } from '@wharf/contracts';
import type { SecretSealer } from '@wharf/platform';

/**
 * Inline secret values sealed before they are hashed and stored (see @wharf/platform's
 * SecretSealer): the changelogs and `wharf.launch` carry only sealed text, and job-launcher
 * opens it. Without a sealer, specs are returned unchanged.
 */
export function sealJobSpec(spec: JobSpec, sealer: SecretSealer | undefined): JobSpec {
  if (!sealer || !spec.secrets.some((s) => s.value !== undefined)) return spec;
  return {
    ...spec,
    secrets: spec.secrets.map((s) => (s.value !== undefined ? { ...s, value: sealer.seal(s.env, s.value) } : s)),
  };
}

export function sealSubmit(request: SubmitJobRequest, sealer: SecretSealer | undefined): SubmitJobRequest {
  return request.spec ? { ...request, spec: sealJobSpec(request.spec, sealer) } : request;
}

/**
 * A workflow's task templates with their literal secret values sealed. A value with a
 * `{{ … }}` expression stays as written (it is rendered per task, then sealed in the task's job).
 */
export function sealWorkflowSpec(spec: WorkflowSpec, sealer: SecretSealer | undefined): WorkflowSpec {
  if (!sealer) return spec;
  const sealTemplate = (template: JobSpec | undefined): JobSpec | undefined =>
    template && {
      ...template,
      secrets: template.secrets.map((s) =>
        s.value !== undefined && !s.value.includes('{{') ? { ...s, value: sealer.seal(s.env, s.value) } : s,
      ),
    };
  return {
    ...spec,
    tasks: spec.tasks.map((t) => ({ ...t, template: sealTemplate(t.template) })),
    finally: spec.finally.map((t) => ({ ...t, template: sealTemplate(t.template) })),
  };
}
