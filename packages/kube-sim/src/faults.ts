/** Fault injection for the reliability tests. */
export interface FaultOptions {
  /** Probability (0..1) that a request fails with 500, keyed `verb resource` (`list pods`), `verb`, `resource` or `*`. */
  errorRate?: Record<string, number>;
  /** Status code of an injected error (500 by default; 429 and 503 also make sense). */
  errorCode?: number;
  /** Status codes an injected error picks from at random (e.g. [500, 503]); wins over errorCode. */
  errorCodes?: number[];
  /**
   * Probability (0..1) that a write (create, update, patch, apply, delete) is refused with 409 Conflict, as an API
   * server does when another writer changed the object in between.
   */
  conflictRate?: number;
  /** Milliseconds added to every request (a number) or a range. */
  latencyMs?: number | { min: number; max: number };
  /** Every watch is closed by the server after this many milliseconds. */
  dropWatchesAfterMs?: number;
  /** Dropped watches are cut (connection reset) instead of ended cleanly by the server. */
  dropWatchesAbruptly?: boolean;
  /** Random source, so tests can make injection deterministic. */
  random?: () => number;
}

export interface RequestStats {
  total: number;
  byVerb: Record<string, number>;
  byResource: Record<string, number>;
  /** `verb resource` → count, e.g. `create pods`, `patch deployments`. */
  byVerbResource: Record<string, number>;
}

export function emptyStats(): RequestStats {
  return { total: 0, byVerb: {}, byResource: {}, byVerbResource: {} };
}

export function countRequest(stats: RequestStats, verb: string, resource: string): void {
  stats.total++;
  stats.byVerb[verb] = (stats.byVerb[verb] ?? 0) + 1;
  stats.byResource[resource] = (stats.byResource[resource] ?? 0) + 1;
  const key = `${verb} ${resource}`;
  stats.byVerbResource[key] = (stats.byVerbResource[key] ?? 0) + 1;
}

export function shouldFail(faults: FaultOptions, verb: string, resource: string): boolean {
  const rates = faults.errorRate;
  if (!rates) return false;
  const rate = rates[`${verb} ${resource}`] ?? rates[verb] ?? rates[resource] ?? rates['*'] ?? 0;
  return rate > 0 && (faults.random ?? Math.random)() < rate;
}

export function latencyOf(faults: FaultOptions): number {
  const latency = faults.latencyMs;
  if (latency === undefined) return 0;
  if (typeof latency === 'number') return latency;
  return latency.min + (faults.random ?? Math.random)() * (latency.max - latency.min);
}

/** The status code of an injected error: one of errorCodes at random, else errorCode, else 500. */
export function errorCodeOf(faults: FaultOptions): number {
  const codes = faults.errorCodes;
  if (codes && codes.length > 0) return codes[Math.floor((faults.random ?? Math.random)() * codes.length)] ?? 500;
  return faults.errorCode ?? 500;
}

const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Whether this write is refused with an injected 409 Conflict. */
export function shouldConflict(faults: FaultOptions, verb: string): boolean {
  const rate = faults.conflictRate ?? 0;
  return rate > 0 && WRITE_VERBS.has(verb) && (faults.random ?? Math.random)() < rate;
}
