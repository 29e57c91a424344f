import { stringify as toYaml } from 'yaml';

export type OutputFormat = 'table' | 'json' | 'yaml';

/** A plain-text table: a header row, then one row per item; columns padded to fit. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** JSON (2-space indent) or YAML of an already proto3-JSON value. */
export function formatData(format: Exclude<OutputFormat, 'table'>, value: unknown): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value);
}

/** "JOB_STATE_RUNNING" → "RUNNING". */
export function shortEnum(name: string, prefix: string): string {
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/** "3m12s" for a duration between two instants (or until now). */
export function formatDuration(from: Date | undefined, to: Date | undefined, now: Date): string {
  if (!from) return '-';
  const seconds = Math.max(0, Math.round(((to ?? now).getTime() - from.getTime()) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d`;
}

/** "5m ago" style age of an instant. */
export function formatAge(at: Date | undefined, now: Date): string {
  return at ? formatDuration(at, now, now) : '-';
}
