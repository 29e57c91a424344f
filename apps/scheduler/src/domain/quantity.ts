/**
 * Kubernetes resource quantities ("500m", "2", "1.5", "512Mi", "1G") as plain numbers: CPU in
 * cores, memory in bytes. Returns undefined when the text is not a quantity.
 */
const binarySuffixes: Readonly<Record<string, number>> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
const decimalSuffixes: Readonly<Record<string, number>> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const quantityPattern = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE]([-+]?[0-9]+))?([a-zA-Z]{0,2})$/;

export function parseQuantity(text: string): number | undefined {
  const match = quantityPattern.exec(text.trim());
  if (!match) return undefined;
  const [, digits = '', exponent, suffix = ''] = match;
  const multiplier = binarySuffixes[suffix] ?? decimalSuffixes[suffix];
  if (multiplier === undefined) return undefined;
  if (exponent !== undefined && suffix !== '') return undefined;
  const value = Number(digits) * (exponent !== undefined ? 10 ** Number(exponent) : 1) * multiplier;
  return Number.isFinite(value) ? value : undefined;
}

/** Cores, e.g. "500m" → 0.5. Empty → 0. */
export function parseCpu(text: string): number | undefined {
  return text === '' ? 0 : parseQuantity(text);
}

/** Bytes, e.g. "1Gi" → 1073741824. Empty → 0. */
export function parseMemory(text: string): number | undefined {
  if (text === '') return 0;
  const value = parseQuantity(text);
  return value === undefined ? undefined : Math.ceil(value);
}

/** "1.5 CPU", "512 MiB" — for messages people read. */
export function formatCpu(cores: number): string {
  return `${Number(cores.toFixed(3))} CPU`;
}

export function formatMemory(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number(value.toFixed(2))} ${units[unit]}`;
}
