// Kubernetes resource quantities, only as far as the guard rails need them: CPU in millicores, memory in bytes.

const binarySuffixes: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const decimalSuffixes: Record<string, number> = { m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

function parse(quantity: string | number): number {
  if (typeof quantity === 'number') return quantity;
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|m|k|M|G|T)?$/.exec(quantity.trim());
  if (!match?.[1]) throw new Error(`not a resource quantity: "${quantity}"`);
  const suffix = match[2] ?? '';
  const factor = binarySuffixes[suffix] ?? decimalSuffixes[suffix];
  if (factor === undefined) throw new Error(`not a resource quantity: "${quantity}"`);
  return Number(match[1]) * factor;
}

/** "250m" → 250, "1" → 1000, "0.5" → 500. */
export function cpuToMillicores(quantity: string | number): number {
  return Math.round(parse(quantity) * 1000);
}

/** "64Mi" → 67108864, "1G" → 1e9. */
export function memoryToBytes(quantity: string | number): number {
  return Math.round(parse(quantity));
}

export function formatCpu(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

export function formatMemory(bytes: number): string {
  for (const suffix of ['Gi', 'Mi', 'Ki'] as const) {
    const factor = binarySuffixes[suffix] as number;
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${suffix}`;
  }
  return String(bytes);
}
