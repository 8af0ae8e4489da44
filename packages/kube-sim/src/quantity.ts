const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = {
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

/** Parses a Kubernetes quantity (`100m`, `0.5`, `128Mi`, `1e3`) into a plain number of units. */
export function parseQuantity(value: unknown): number {
  if (typeof value === 'number') return value;
  const text = String(value ?? '').trim();
  const match = /^([+-]?[0-9.]+(?:[eE][+-]?\d+)?)([a-zA-Z]*)$/.exec(text);
  if (!match?.[1]) return Number.NaN;
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  const factor = binary[suffix] ?? decimal[suffix];
  return factor === undefined ? Number.NaN : number * factor;
}

/** Renders CPU the way the API server canonicalizes it: `2`, `500m`. */
export function formatCpu(cores: number): string {
  const milli = Math.round(cores * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Renders bytes as the largest binary suffix that divides them: `128Mi`, `1Gi`. */
export function formatMemory(bytes: number): string {
  const rounded = Math.round(bytes);
  for (const suffix of ['Ei', 'Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const factor = binary[suffix] ?? 1;
    if (rounded >= factor && rounded % factor === 0) return `${rounded / factor}${suffix}`;
  }
  return String(rounded);
}

export function formatResource(resource: string, amount: number): string {
  if (resource.endsWith('cpu')) return formatCpu(amount);
  if (resource.endsWith('memory') || resource.endsWith('storage')) return formatMemory(amount);
  return String(Math.round(amount));
}
