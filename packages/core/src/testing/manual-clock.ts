/** A clock a test moves by hand: pass `clock.now` wherever a `() => Date` clock is taken. */
export interface ManualClock {
  now(): Date;
  /** Moves the clock forward. */
  advance(ms: number): void;
  set(at: Date | string): void;
}

export function createManualClock(start: Date | string = '2026-11-25T12:00:00.000Z'): ManualClock {
  let current = new Date(start).getTime();
  return {
    now: () => new Date(current),
    advance: (ms) => {
      current += ms;
    },
    set: (at) => {
      current = new Date(at).getTime();
    },
  };
}
