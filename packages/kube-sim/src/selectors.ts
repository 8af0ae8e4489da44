import { badRequest } from './api-error.js';
import { isObject, type KubeObject } from './types.js';

type Requirement =
  | { key: string; op: '=' | '!='; values: [string] }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | '!exists'; values: [] };

export type Selector = (labels: Record<string, string> | undefined) => boolean;

/** Splits on commas that are not inside a `(a,b)` set. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of text) {
    if (char === '(') depth++;
    if (char === ')') depth--;
    if (char === ',' && depth === 0) {
      terms.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim()) terms.push(current.trim());
  return terms;
}

function parseRequirement(term: string): Requirement {
  const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
  if (set?.[1] && set[2] && set[3] !== undefined) {
    return { key: set[1], op: set[2] as 'in' | 'notin', values: set[3].split(',').map((v) => v.trim()) };
  }
  const unequal = /^([^!=\s]+)\s*!=\s*(\S*)$/.exec(term);
  if (unequal?.[1] && unequal[2] !== undefined) return { key: unequal[1], op: '!=', values: [unequal[2]] };
  const equal = /^([^!=\s]+)\s*==?\s*(\S*)$/.exec(term);
  if (equal?.[1] && equal[2] !== undefined) return { key: equal[1], op: '=', values: [equal[2]] };
  if (/^!\S+$/.test(term)) return { key: term.slice(1), op: '!exists', values: [] };
  if (/^[^\s!=(),]+$/.test(term)) return { key: term, op: 'exists', values: [] };
  throw badRequest(`unable to parse requirement: ${term}`);
}

function matches(requirement: Requirement, value: string | undefined): boolean {
  switch (requirement.op) {
    case '=':
      return value === requirement.values[0];
    case '!=':
      return value !== requirement.values[0];
    case 'in':
      return value !== undefined && requirement.values.includes(value);
    case 'notin':
      return value === undefined || !requirement.values.includes(value);
    case 'exists':
      return value !== undefined;
    case '!exists':
      return value === undefined;
  }
}

/** Parses a `labelSelector` query string: equality (`a=b`, `a!=b`) and set-based (`a in (x,y)`, `!a`). */
export function parseLabelSelector(text: string | null | undefined): Selector {
  if (!text) return () => true;
  const requirements = splitTerms(text).map(parseRequirement);
  return (labels) => requirements.every((r) => matches(r, labels?.[r.key]));
}

/** A `metav1.LabelSelector` (matchLabels + matchExpressions), as Deployments and ReplicaSets carry. */
export function labelSelectorFromSpec(selector: unknown): Selector {
  if (!isObject(selector)) return () => false;
  const requirements: Requirement[] = [];
  if (isObject(selector.matchLabels)) {
    for (const [key, value] of Object.entries(selector.matchLabels)) {
      requirements.push({ key, op: '=', values: [String(value)] });
    }
  }
  if (Array.isArray(selector.matchExpressions)) {
    for (const expression of selector.matchExpressions) {
      if (!isObject(expression)) continue;
      const key = String(expression.key);
      const values = Array.isArray(expression.values) ? expression.values.map(String) : [];
      const operator = String(expression.operator);
      if (operator === 'In') requirements.push({ key, op: 'in', values });
      else if (operator === 'NotIn') requirements.push({ key, op: 'notin', values });
      else if (operator === 'Exists') requirements.push({ key, op: 'exists', values: [] });
      else if (operator === 'DoesNotExist') requirements.push({ key, op: '!exists', values: [] });
    }
  }
  if (requirements.length === 0) return () => false;
  return (labels) => requirements.every((r) => matches(r, labels?.[r.key]));
}

/** `matchLabels` rendered as the selector string the scale subresource reports. */
export function selectorToString(selector: unknown): string {
  if (!isObject(selector) || !isObject(selector.matchLabels)) return '';
  return Object.entries(selector.matchLabels)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

function fieldValue(object: KubeObject, path: string): string | undefined {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (!isObject(current)) return undefined;
    current = current[part];
  }
  if (current === undefined || current === null) return path === 'spec.nodeName' ? '' : undefined;
  return String(current);
}

/** Parses a `fieldSelector` (`metadata.name=x`, `involvedObject.uid!=y`) over dotted object paths. */
export function parseFieldSelector(text: string | null | undefined): (object: KubeObject) => boolean {
  if (!text) return () => true;
  const terms = splitTerms(text).map((term) => {
    const match = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (!match?.[1] || !match[2] || match[3] === undefined) throw badRequest(`invalid field selector: ${term}`);
    return { path: match[1].trim(), negate: match[2] === '!=', value: match[3].trim() };
  });
  return (object) =>
    terms.every((term) => {
      const value = fieldValue(object, term.path) ?? '';
      return term.negate ? value !== term.value : value === term.value;
    });
}
