import { describe, expect, it } from 'vitest';
import { LabbotError } from './errors.js';
import {
  acceptsLearnerWork,
  allowedMoves,
  awaitsContainerOutput,
  canMovePhase,
  decideReconcile,
  hasLabSettled,
  isLabActive,
  isSettled,
  isTearingDown,
  LAB_PHASES,
  type LabPhase,
  mayHavePods,
  movePhase,
  phaseFromPods,
  progressOf,
} from './lab-machine.js';

const lab = (state: 'running' | 'stopped', generation: number, phase: LabPhase, observedGeneration?: number) => ({
  desired: { state, generation },
  observed: { phase, ...(observedGeneration === undefined ? {} : { generation: observedGeneration }) },
});

describe('the lab state machine', () => {
  it('settles on ready, degraded, failed and stopped only', () => {
    expect(LAB_PHASES.filter(isSettled)).toEqual(['ready', 'degraded', 'failed', 'stopped']);
  });

  it('shows the bring-up in order, degraded where ready would be, the rest off the track', () => {
    expect(LAB_PHASES.map((phase) => [phase, progressOf(phase)])).toEqual([
      ['pending', 0],
      ['provisioning', 1],
      ['building', 2],
      ['running-once', 3],
      ['deploying', 4],
      ['waiting-for-pods', 5],
      ['ready', 6],
      ['degraded', 6],
      ['failed', -1],
      ['stopping', -1],
      ['stopped', -1],
    ]);
  });

  it('counts a lab as active while it runs or is asked to, not once failed or stopped', () => {
    expect(isLabActive(lab('running', 0, 'building', 0))).toBe(true);
    expect(isLabActive(lab('running', 0, 'ready', 0))).toBe(true);
    expect(isLabActive(lab('running', 0, 'failed', 0))).toBe(false);
    expect(isLabActive(lab('stopped', 0, 'ready', 0))).toBe(false);
  });

  it('counts stopping and stopped as the teardown, in which the learner can no longer build', () => {
    expect(LAB_PHASES.filter(isTearingDown)).toEqual(['stopping', 'stopped']);
    expect(acceptsLearnerWork(lab('running', 0, 'ready', 0))).toBe(true);
    expect(acceptsLearnerWork(lab('running', 0, 'failed', 0))).toBe(true);
    expect(acceptsLearnerWork(lab('running', 1, 'stopping', 0))).toBe(false);
    expect(acceptsLearnerWork(lab('stopped', 0, 'ready', 0))).toBe(false);
  });

  it('has settled when it reached what was last asked, in the generation asked', () => {
    expect(hasLabSettled(lab('running', 0, 'ready', 0))).toBe(true);
    expect(hasLabSettled(lab('running', 0, 'failed', 0))).toBe(true);
    expect(hasLabSettled(lab('running', 1, 'ready', 0))).toBe(false);
    expect(hasLabSettled(lab('running', 0, 'building', 0))).toBe(false);
    expect(hasLabSettled(lab('running', 0, 'stopped', 0))).toBe(false);
    expect(hasLabSettled(lab('stopped', 0, 'stopping', 0))).toBe(false);
    expect(hasLabSettled(lab('stopped', 0, 'stopped', 0))).toBe(true);
  });

  it('lets kubectl act once the Deployment is applied or being applied', () => {
    expect(LAB_PHASES.filter(mayHavePods)).toEqual([
      'running-once',
      'deploying',
      'waiting-for-pods',
      'ready',
      'degraded',
    ]);
  });

  it('picks the pod phase from the pods: ready when all desired are ready, degraded on a diagnosis', () => {
    const up = { ready: true };
    const down = { ready: false };
    expect(phaseFromPods([up, up, up], 3, undefined)).toBe('ready');
    expect(phaseFromPods([up, up, down], 3, undefined)).toBe('waiting-for-pods');
    expect(phaseFromPods([up, down], 3, { reason: 'CrashLoopBackOff' })).toBe('degraded');
    expect(phaseFromPods([up, up, up], 3, { reason: 'CrashLoopBackOff' })).toBe('ready');
    expect(phaseFromPods([], 0, undefined)).toBe('waiting-for-pods');
  });
});

describe('who may move observed.phase', () => {
  it('lets the pods move a lab only among the pod phases', () => {
    expect(allowedMoves('pods')).toEqual([
      ['waiting-for-pods', 'waiting-for-pods'],
      ['waiting-for-pods', 'ready'],
      ['waiting-for-pods', 'degraded'],
      ['ready', 'waiting-for-pods'],
      ['ready', 'ready'],
      ['ready', 'degraded'],
      ['degraded', 'waiting-for-pods'],
      ['degraded', 'ready'],
      ['degraded', 'degraded'],
    ]);
  });

  it('lets the janitor only send a deployed lab back to pending', () => {
    expect(allowedMoves('janitor')).toEqual([
      ['waiting-for-pods', 'pending'],
      ['ready', 'pending'],
      ['degraded', 'pending'],
    ]);
  });

  it('lets only the reconciler fail, stop or reset a lab, and not move it out of stopped but by a reset', () => {
    for (const to of ['failed', 'stopping', 'stopped'] as const) {
      expect(canMovePhase('pods', 'ready', to)).toBe(false);
      expect(canMovePhase('janitor', 'ready', to)).toBe(false);
    }
    expect(canMovePhase('reconciler', 'building', 'failed')).toBe(true);
    expect(canMovePhase('reconciler', 'ready', 'stopping')).toBe(true);
    expect(canMovePhase('reconciler', 'stopping', 'stopped')).toBe(true);
    expect(canMovePhase('reconciler', 'ready', 'stopped')).toBe(false);
    expect(canMovePhase('reconciler', 'stopped', 'provisioning')).toBe(false);
    expect(canMovePhase('reconciler', 'stopped', 'pending')).toBe(true);
    expect(canMovePhase('reconciler', 'ready', 'provisioning')).toBe(false);
    expect(canMovePhase('reconciler', 'deploying', 'ready')).toBe(true);
    expect(canMovePhase('reconciler', 'building', 'ready')).toBe(false);
  });

  it('refuses a move outside the table with LAB_PHASE_TRANSITION', () => {
    expect(movePhase('pods', { phase: 'ready', pods: [] }, 'degraded')).toEqual({ phase: 'degraded', pods: [] });
    const bad = () => movePhase('pods', { phase: 'stopping' as LabPhase }, 'ready');
    expect(bad).toThrow(LabbotError);
    expect(bad).toThrow(/pods may not move a lab from stopping to ready/);
  });
});

describe('decideReconcile', () => {
  it.each([
    [lab('stopped', 0, 'ready', 0), 'teardown'],
    [lab('stopped', 0, 'stopping', 0), 'teardown'],
    [lab('stopped', 0, 'stopped', 0), 'none'],
    [lab('running', 1, 'ready', 0), 'restart'],
    [lab('running', 1, 'failed', 0), 'restart'],
    [lab('running', 0, 'stopped', 0), 'restart'],
    [lab('running', 0, 'failed', 0), 'none'],
    [lab('running', 0, 'ready', 0), 'none'],
    [lab('running', 0, 'degraded', 0), 'none'],
    [lab('running', 0, 'waiting-for-pods', 0), 'none'],
    [lab('running', 0, 'pending'), 'continue'],
    [lab('running', 0, 'building', 0), 'continue'],
    [lab('running', 0, 'deploying', 0), 'continue'],
  ] as const)('%j → %s', (record, action) => {
    expect(decideReconcile(record).action).toBe(action);
  });

  it('carries on with a lab whose pods own its phase while its container output never came (its runner died)', () => {
    const built = (phase: LabPhase, fields: { containerOutput?: string } = {}) => {
      const record = lab('running', 0, phase, 0);
      return { ...record, observed: { ...record.observed, imageTag: 'labbot/lesson:abc', ...fields } };
    };
    for (const phase of ['waiting-for-pods', 'ready', 'degraded'] as const) {
      expect(decideReconcile(built(phase)).action).toBe('continue');
      expect(decideReconcile(built(phase, { containerOutput: 'hi' })).action).toBe('none');
    }
    // A failed lab stays failed; a learner-deployed lab has no image before its own build (whose output comes with it).
    expect(decideReconcile(built('failed')).action).toBe('none');
    expect(decideReconcile(lab('running', 0, 'ready', 0)).action).toBe('none');
    // Not settled until the output is in.
    expect(hasLabSettled(built('ready'))).toBe(false);
    expect(hasLabSettled(built('ready', { containerOutput: '' }))).toBe(true);
    expect(awaitsContainerOutput(built('deploying').observed)).toBe(true);
    expect(awaitsContainerOutput(built('building').observed)).toBe(false);
    expect(awaitsContainerOutput(built('stopping').observed)).toBe(false);
  });

  it('adopts the desired generation of a lab never reconciled', () => {
    expect(decideReconcile(lab('running', 2, 'pending'))).toEqual({ action: 'continue', adoptGeneration: 2 });
  });
});
