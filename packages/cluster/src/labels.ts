import { createHash } from 'node:crypto';
import { LabbotError } from '@labbot/core';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'labbot';
export const LAB_LABEL = 'labbot.dev/lab';
export const OWNER_LABEL = 'labbot.dev/owner';
export const LESSON_LABEL = 'labbot.dev/lesson';
export const CLASS_LABEL = 'labbot.dev/class';
/** On a warm lab's namespace: prepared for the class named here, owned by nobody until a learner joins. */
export const WARM_LABEL = 'labbot.dev/warm';
export const EXPIRES_AT_ANNOTATION = 'labbot.dev/expires-at';
/** The label selector of everything labbot manages. */
export const MANAGED_SELECTOR = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
/**
 * Lab pods made before labbot labelled pods as its own (their Deployment's template named the lab instead): still
 * running after an upgrade, and made again from that template when one is deleted. Disjoint from MANAGED_SELECTOR.
 */
export const LEGACY_POD_SELECTOR = `${LAB_LABEL},!${MANAGED_BY_LABEL}`;

const labelValuePattern = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function isLabelValue(value: string): boolean {
  return value.length <= 63 && labelValuePattern.test(value);
}

export function isDnsLabel(value: string): boolean {
  return value.length > 0 && value.length <= 63 && dnsLabelPattern.test(value);
}

/** A short, stable, label-safe hash (hex), e.g. for owner ids that carry platform prefixes and colons. */
export function labelHash(value: string, length = 20): string {
  return createHash('sha256').update(value).digest('hex').slice(0, length);
}

/** The value itself when it is a valid label value, else `h-<hash>` so any id can be stored and matched. */
export function toLabelValue(value: string): string {
  return isLabelValue(value) ? value : `h-${labelHash(value)}`;
}

/** Throws APPLY_INVALID when a name the driver puts in a URL or label is not a DNS label. */
export function assertDnsLabel(value: string, what: string): void {
  if (!isDnsLabel(value)) {
    throw new LabbotError('APPLY_INVALID', `${what} "${value}" is not a valid Kubernetes name`, {
      userMessage: `"${value.slice(0, 80)}" is not a valid Kubernetes name (lowercase letters, digits and "-", at most 63).`,
      context: { what },
    });
  }
}

/** Throws APPLY_INVALID when a lab id cannot be a label value (it is matched by the shared pod watch). */
export function assertLabId(labId: string): void {
  if (!labId || !isLabelValue(labId)) {
    throw new LabbotError('APPLY_INVALID', `lab id "${labId}" is not a valid label value`, { context: { labId } });
  }
}
