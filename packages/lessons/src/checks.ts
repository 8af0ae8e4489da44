import type { PodSummary } from '@labbot/core';
import {
  type LearnerStepFacts,
  learnerBuilt,
  learnerBuiltTitle,
  learnerDeployed,
  learnerDeployedTitle,
  manifestGenerated,
  manifestGeneratedTitle,
} from './checks/learner-steps.js';
import { rolledBackTitle, rolledBackTo } from './checks/rolled-back.js';
import { rolledOutOnce, rolledOutTitle } from './checks/rolled-out.js';
import type { Lesson } from './loader.js';
import type { LessonCheck } from './schema.js';

/** What labbot knows about a lab when the learner runs `/lab check`. */
export interface CheckFacts {
  /** The pods of the lesson's Deployment, as last observed. */
  pods: readonly PodSummary[];
  /** The output of the Docker step's one-off container. */
  containerOutput?: string | undefined;
  /** The one-off container is queued or running (its output is not in yet): its checks cannot tell yet. */
  containerRunning?: boolean | undefined;
  /** The replicas the Deployment asks for now (after any `kubectl scale`). */
  desiredReplicas?: number | undefined;
  /** Names of pods the learner deleted with `/lab kubectl delete pod` in this lab. */
  deletedPods?: readonly string[] | undefined;
  /** The lab's images: `<lesson>:<name>` → built tag. */
  images?: Readonly<Record<string, string>> | undefined;
  /** How many `rollout undo` the learner ran in this lab (after their last apply). */
  rollbacks?: number | undefined;
  /** Image tags whose rollout had finished when the learner undid it. */
  undoneRollouts?: readonly string[] | undefined;
  /** What the learner did themselves (their builds, generated manifests, applies), in lessons with learnerBuild. */
  learner?: LearnerStepFacts | undefined;
}

/** One line of `/lab check`: the same shape as the `lab.check-results` event's results. */
export interface CheckResult {
  name: string;
  passed: boolean;
  /** Not decided yet (what it checks is still coming): not passed, and its hint says to check again. */
  pending?: boolean;
  hint?: string;
}

/** The hint of a check that waits for the one-off container's output. */
export const CONTAINER_RUNNING_HINT = 'The container is still running; check again in a moment.';

/** The title of a check: its own name, or one made from what it checks. */
export function checkTitle(check: LessonCheck, lesson?: Lesson): string {
  if (check.name) return check.name;
  const title = defaultTitle(check, lesson);
  return title.charAt(0).toUpperCase() + title.slice(1);
}

function defaultTitle(check: LessonCheck, lesson?: Lesson): string {
  const deployment =
    ('deployment' in check ? check.deployment : undefined) ?? lesson?.spec.deployment.name ?? 'the deployment';
  switch (check.kind) {
    case 'podsReady':
      return `${check.count} pods of ${deployment} are ready`;
    case 'containerOutput':
      return `The container printed "${check.contains}"`;
    case 'selfHeals':
      return `Kubernetes replaced a deleted pod of ${deployment}`;
    case 'replicas':
      return `${deployment} runs ${check.count} replicas`;
    case 'rolledOut':
      return rolledOutTitle(check.image, deployment);
    case 'rolledBack':
      return rolledBackTitle(check.image, deployment);
    case 'learnerBuilt':
      return learnerBuiltTitle();
    case 'manifestGenerated':
      return manifestGeneratedTitle(deployment);
    case 'learnerDeployed':
      return learnerDeployedTitle(check.count, deployment);
  }
}

function readyCount(pods: readonly PodSummary[]): number {
  return pods.filter((pod) => pod.ready).length;
}

/** Whether one check passes on these facts (`deploymentName`: the lesson's Deployment, for checks that name none). */
export function checkPasses(check: LessonCheck, facts: CheckFacts, lessonId = '', deploymentName?: string): boolean {
  switch (check.kind) {
    case 'podsReady':
      return readyCount(facts.pods) >= check.count;
    case 'containerOutput':
      return (facts.containerOutput ?? '').includes(check.contains);
    case 'selfHeals': {
      // Healed: a pod was deleted, it is gone, and as many ready pods run as the Deployment asks for.
      const deleted = facts.deletedPods ?? [];
      if (deleted.length === 0) return false;
      const current = new Set(facts.pods.map((pod) => pod.name));
      const wanted = facts.desiredReplicas ?? 1;
      return deleted.some((name) => !current.has(name)) && wanted > 0 && readyCount(facts.pods) >= wanted;
    }
    case 'replicas':
      return facts.desiredReplicas === check.count && readyCount(facts.pods) === check.count;
    case 'rolledOut':
      return rolledOutOnce({ ...facts, lessonId }, check.image);
    case 'rolledBack':
      return rolledBackTo({ ...facts, lessonId }, check.image);
    case 'learnerBuilt':
      return learnerBuilt(facts);
    case 'manifestGenerated':
      return manifestGenerated(facts, check.deployment ?? deploymentName);
    case 'learnerDeployed':
      return learnerDeployed(facts, check.count);
  }
}

/** Runs every check of a lesson: ✅/❌ lines with the hint on each failure, ⏳ for one that cannot tell yet. */
export function evaluateChecks(lesson: Lesson, facts: CheckFacts): CheckResult[] {
  return lesson.spec.checks.map((check) => {
    // The lab can be ready before its container's output is in: not a failure, and not the lesson's hint.
    if (check.kind === 'containerOutput' && facts.containerOutput === undefined && facts.containerRunning) {
      return { name: checkTitle(check, lesson), passed: false, pending: true, hint: CONTAINER_RUNNING_HINT };
    }
    const passed = checkPasses(check, facts, lesson.id, lesson.spec.deployment.name);
    return passed
      ? { name: checkTitle(check, lesson), passed }
      : { name: checkTitle(check, lesson), passed, hint: check.hint };
  });
}
