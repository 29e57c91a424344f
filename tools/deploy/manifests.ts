/**
 * Shared helpers of the deploy checks: the overlays to validate and rendering them with the
 * Kustomize built into kubectl (>= 1.27; `kustomize` itself is used when kubectl is absent).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoRoot = resolve(__dirname, '../..');
export const deployDir = join(repoRoot, 'deploy');

/** A rendered Kubernetes object, loosely typed: the checks read a few well-known fields. */
export interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
  };
  readonly [field: string]: unknown;
}

/** Every overlay under deploy/overlays (each must build and pass the dry-run). */
export function overlays(): string[] {
  const dir = join(deployDir, 'overlays');
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'kustomization.yaml')))
    .map((d) => d.name)
    .sort();
}

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `kubectl kustomize <dir>` (or `kustomize build <dir>`): the rendered YAML stream. */
export function renderYaml(kustomizationDir: string): string {
  const [command, args] = hasCommand('kubectl')
    ? ['kubectl', ['kustomize', kustomizationDir]]
    : ['kustomize', ['build', kustomizationDir]];
  return execFileSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

export function parseObjects(yamlText: string): KubeObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((o): o is KubeObject => o !== null);
}

export function renderOverlay(overlay: string): KubeObject[] {
  return parseObjects(renderYaml(join(deployDir, 'overlays', overlay)));
}

export function describe(o: KubeObject): string {
  return `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}
