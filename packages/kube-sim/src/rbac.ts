import { ApiError } from './api-error.js';
import { type ResourceType, resourceByKind } from './resources.js';
import type { ObjectStore } from './store.js';
import { isObject, type KubeObject } from './types.js';

/** Who sent a request, after authentication and impersonation (upstream's user.Info). */
export interface UserInfo {
  username: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

/** The authorizer's view of a request (upstream's authorizer.Attributes). */
export interface Attributes {
  user: UserInfo;
  verb: string;
  /** False for non-resource URLs (`/version`, `/apis`); then `path` is set. */
  resourceRequest: boolean;
  path?: string;
  apiGroup?: string;
  resource?: string;
  subresource?: string;
  namespace?: string;
  name?: string;
}

export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface Decision {
  allowed: boolean;
  /** `RBAC: allowed by ...` when allowed; resolution errors when denied (upstream's reason). */
  reason: string;
}

export const SYSTEM_MASTERS = 'system:masters';
export const AUTHENTICATED = 'system:authenticated';
export const UNAUTHENTICATED = 'system:unauthenticated';
const rbacGroup = 'rbac.authorization.k8s.io';

export function serviceAccountUsername(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** `system:serviceaccount:<ns>:<name>` → its parts; undefined for any other user name. */
export function splitServiceAccountUsername(username: string): { namespace: string; name: string } | undefined {
  const match = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(username);
  return match?.[1] && match[2] ? { namespace: match[1], name: match[2] } : undefined;
}

export function serviceAccountGroups(namespace: string): string[] {
  return ['system:serviceaccounts', `system:serviceaccounts:${namespace}`];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export function rulesOf(object: KubeObject | undefined): PolicyRule[] {
  if (!object || !Array.isArray(object.rules)) return [];
  return object.rules.filter(isObject).map((rule) => ({
    verbs: strings(rule.verbs),
    apiGroups: strings(rule.apiGroups),
    resources: strings(rule.resources),
    resourceNames: strings(rule.resourceNames),
    nonResourceURLs: strings(rule.nonResourceURLs),
  }));
}

interface Subject {
  kind?: string;
  name?: string;
  namespace?: string;
}

interface RoleRef {
  kind?: string;
  name?: string;
  apiGroup?: string;
}

function subjectsOf(binding: KubeObject): Subject[] {
  return Array.isArray(binding.subjects) ? (binding.subjects.filter(isObject) as Subject[]) : [];
}

function roleRefOf(binding: KubeObject): RoleRef {
  return isObject(binding.roleRef) ? (binding.roleRef as RoleRef) : {};
}

/** Upstream appliesToUser: User by name, Group by membership, ServiceAccount by its user name. */
function appliesTo(user: UserInfo, subject: Subject, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return user.username === subject.name;
    case 'Group':
      return subject.name !== undefined && user.groups.includes(subject.name);
    case 'ServiceAccount': {
      const namespace = subject.namespace || bindingNamespace;
      if (!namespace || !subject.name) return false;
      return user.username === serviceAccountUsername(namespace, subject.name);
    }
    default:
      return false;
  }
}

function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind === 'ServiceAccount')
    return `${subject.kind} "${subject.name}/${subject.namespace || bindingNamespace}"`;
  return `${subject.kind} "${subject.name}"`;
}

const has = (set: readonly string[] | undefined, value: string) => (set ?? []).includes(value);

/** Upstream RuleAllows (plugin/pkg/auth/authorizer/rbac). */
export function ruleAllows(attributes: Attributes, rule: PolicyRule): boolean {
  const verbMatches = has(rule.verbs, '*') || has(rule.verbs, attributes.verb);
  if (!attributes.resourceRequest) {
    const path = attributes.path ?? '';
    const urlMatches = (rule.nonResourceURLs ?? []).some(
      (url) => url === '*' || url === path || (url.endsWith('*') && path.startsWith(url.slice(0, -1))),
    );
    return verbMatches && urlMatches;
  }
  const group = attributes.apiGroup ?? '';
  const groupMatches = has(rule.apiGroups, '*') || has(rule.apiGroups, group);
  const combined = attributes.subresource
    ? `${attributes.resource}/${attributes.subresource}`
    : (attributes.resource ?? '');
  const resourceMatches = (rule.resources ?? []).some(
    (resource) =>
      resource === '*' ||
      resource === combined ||
      (attributes.subresource !== undefined &&
        attributes.subresource !== '' &&
        resource === `*/${attributes.subresource}`),
  );
  const names = rule.resourceNames ?? [];
  const nameMatches = names.length === 0 || names.includes(attributes.name ?? '');
  return verbMatches && groupMatches && resourceMatches && nameMatches;
}

/** Upstream ruleCovers for one broken-down rule (component-helpers/auth/rbac/validation). */
function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const hasAll = (set: readonly string[] | undefined, wanted: readonly string[] | undefined) =>
    (wanted ?? []).every((value) => has(set, value));
  const verbMatches = has(owner.verbs, '*') || hasAll(owner.verbs, sub.verbs);
  const groupMatches = has(owner.apiGroups, '*') || hasAll(owner.apiGroups, sub.apiGroups);
  const resourceMatches =
    has(owner.resources, '*') ||
    (sub.resources ?? []).every((path) => {
      if (has(owner.resources, path)) return true;
      const slash = path.indexOf('/');
      return slash >= 0 && has(owner.resources, `*/${path.slice(slash + 1)}`);
    });
  const urlMatches = (sub.nonResourceURLs ?? []).every((path) =>
    (owner.nonResourceURLs ?? []).some(
      (url) => url === path || (url.endsWith('*') && path.startsWith(url.replace(/\*+$/, ''))),
    ),
  );
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  const nameMatches =
    subNames.length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, subNames);
  return verbMatches && groupMatches && resourceMatches && urlMatches && nameMatches;
}

/** Upstream BreakdownRule: one rule per group × resource × (name) × verb, and per URL × verb. */
function breakdown(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? [])
    for (const resource of rule.resources ?? [])
      for (const verb of rule.verbs) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        else
          for (const name of names)
            out.push({ apiGroups: [group], resources: [resource], resourceNames: [name], verbs: [verb] });
      }
  for (const url of rule.nonResourceURLs ?? [])
    for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  return out;
}

/** Upstream Covers: the rules of `owner` cover every broken-down rule of `servant`; returns what is missing. */
export function covers(owner: readonly PolicyRule[], servant: readonly PolicyRule[]): PolicyRule[] {
  const missing: PolicyRule[] = [];
  for (const rule of servant)
    for (const sub of breakdown(rule)) if (!owner.some((o) => ruleCovers(o, sub))) missing.push(sub);
  return missing;
}

const goQuote = (values: readonly string[]) => `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;

/** Upstream PolicyRule.CompactString: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get" "list"]}`. */
export function compactString(rule: PolicyRule): string {
  const parts: string[] = [];
  if (rule.apiGroups?.length) parts.push(`APIGroups:${goQuote(rule.apiGroups)}`);
  if (rule.resources?.length) parts.push(`Resources:${goQuote(rule.resources)}`);
  if (rule.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuote(rule.nonResourceURLs)}`);
  if (rule.resourceNames?.length) parts.push(`ResourceNames:${goQuote(rule.resourceNames)}`);
  if (rule.verbs.length) parts.push(`Verbs:${goQuote(rule.verbs)}`);
  return `{${parts.join(', ')}}`;
}

/** Upstream CompactRules: simple rules (one group, one resource, no names) of the same resource merge their verbs. */
function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const out: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const rule of rules) {
    const isSimple =
      rule.apiGroups?.length === 1 &&
      rule.resources?.length === 1 &&
      !rule.resourceNames?.length &&
      !rule.nonResourceURLs?.length;
    if (!isSimple) {
      out.push(rule);
      continue;
    }
    const key = `${rule.apiGroups?.[0]}\u0000${rule.resources?.[0]}`;
    const existing = simple.get(key);
    if (existing) {
      for (const verb of rule.verbs) if (!existing.verbs.includes(verb)) existing.verbs.push(verb);
    } else {
      const copy = {
        apiGroups: [...(rule.apiGroups ?? [])],
        resources: [...(rule.resources ?? [])],
        verbs: [...rule.verbs],
      };
      simple.set(key, copy);
      out.push(copy);
    }
  }
  return out;
}

/** Upstream forbiddenMessage (apiserver endpoints/handlers/responsewriters/errors.go). */
export function forbiddenMessage(attributes: Attributes): string {
  const user = attributes.user.username;
  if (!attributes.resourceRequest) return `User "${user}" cannot ${attributes.verb} path "${attributes.path}"`;
  const resource = attributes.subresource ? `${attributes.resource}/${attributes.subresource}` : attributes.resource;
  if (attributes.namespace)
    return `User "${user}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.apiGroup ?? ''}" in the namespace "${attributes.namespace}"`;
  return `User "${user}" cannot ${attributes.verb} resource "${resource}" in API group "${attributes.apiGroup ?? ''}" at the cluster scope`;
}

/** Upstream apierrors.NewForbidden: `<resource>.<group> "<name>" is forbidden: <why>`. */
export function forbiddenError(group: string, resource: string, name: string, why: string): ApiError {
  const qualified = resource ? (group ? `${resource}.${group}` : resource) : '';
  let message: string;
  if (!qualified) message = `forbidden: ${why}`;
  else if (!name) message = `${qualified} is forbidden: ${why}`;
  else message = `${qualified} "${name}" is forbidden: ${why}`;
  return new ApiError(403, 'Forbidden', message, {
    ...(name ? { name } : {}),
    ...(group ? { group } : {}),
    ...(resource ? { kind: resource } : {}),
  });
}

/** The 403 the authorization filter sends for a denied request. */
export function deniedError(attributes: Attributes, reason: string): ApiError {
  const message = forbiddenMessage(attributes);
  return forbiddenError(
    attributes.resourceRequest ? (attributes.apiGroup ?? '') : '',
    attributes.resourceRequest ? (attributes.resource ?? '') : '',
    attributes.resourceRequest ? (attributes.name ?? '') : '',
    reason ? `${message}: ${reason}` : message,
  );
}

const roleKinds = new Set(['roles', 'clusterroles']);
const bindingKinds = new Set(['rolebindings', 'clusterrolebindings']);

/** RBAC as the API server does it: bindings → roles → rules, system:masters bypass, escalation prevention. */
export class RbacAuthorizer {
  constructor(private readonly store: ObjectStore) {}

  private roleRules(ref: RoleRef, bindingNamespace: string): { rules: PolicyRule[]; error?: string } {
    if (ref.kind === 'ClusterRole') {
      const role = this.store.get(resourceByKind('ClusterRole'), undefined, ref.name ?? '');
      if (!role) return { rules: [], error: `clusterrole.rbac.authorization.k8s.io "${ref.name}" not found` };
      return { rules: rulesOf(role) };
    }
    if (ref.kind === 'Role') {
      const role = this.store.get(resourceByKind('Role'), bindingNamespace, ref.name ?? '');
      if (!role) return { rules: [], error: `role.rbac.authorization.k8s.io "${ref.name}" not found` };
      return { rules: rulesOf(role) };
    }
    return { rules: [], error: `unsupported role reference kind: "${ref.kind}"` };
  }

  /** Upstream VisitRulesFor: ClusterRoleBindings, then the RoleBindings of `namespace`; stops when `visit` returns false. */
  private visitRules(
    user: UserInfo,
    namespace: string | undefined,
    visit: (source: string | undefined, rule: PolicyRule | undefined, error: string | undefined) => boolean,
  ): void {
    for (const binding of this.store.listRaw(resourceByKind('ClusterRoleBinding'), undefined)) {
      const subject = subjectsOf(binding).find((s) => appliesTo(user, s, ''));
      if (!subject) continue;
      const ref = roleRefOf(binding);
      const { rules, error } = this.roleRules(ref, '');
      if (error) {
        if (!visit(undefined, undefined, error)) return;
        continue;
      }
      const source = `ClusterRoleBinding "${binding.metadata.name}" of ${ref.kind} "${ref.name}" to ${describeSubject(subject, '')}`;
      for (const rule of rules) if (!visit(source, rule, undefined)) return;
    }
    if (!namespace) return;
    for (const binding of this.store.listRaw(resourceByKind('RoleBinding'), namespace)) {
      const subject = subjectsOf(binding).find((s) => appliesTo(user, s, namespace));
      if (!subject) continue;
      const ref = roleRefOf(binding);
      const { rules, error } = this.roleRules(ref, namespace);
      if (error) {
        if (!visit(undefined, undefined, error)) return;
        continue;
      }
      const source = `RoleBinding "${binding.metadata.name}/${namespace}" of ${ref.kind} "${ref.name}" to ${describeSubject(subject, namespace)}`;
      for (const rule of rules) if (!visit(source, rule, undefined)) return;
    }
  }

  /** Every rule that applies to `user` in `namespace` (cluster-wide ones when no namespace). */
  rulesFor(user: UserInfo, namespace: string | undefined): { rules: PolicyRule[]; errors: string[] } {
    const rules: PolicyRule[] = [];
    const errors: string[] = [];
    this.visitRules(user, namespace, (_source, rule, error) => {
      if (rule) rules.push(rule);
      if (error) errors.push(error);
      return true;
    });
    return { rules, errors };
  }

  /** The privileged-group authorizer, then RBAC. */
  authorize(attributes: Attributes): Decision {
    if (attributes.user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: '' };
    let allowedBy: string | undefined;
    const errors: string[] = [];
    this.visitRules(attributes.user, attributes.namespace, (source, rule, error) => {
      if (rule && ruleAllows(attributes, rule)) {
        allowedBy = source;
        return false;
      }
      if (error) errors.push(error);
      return true;
    });
    if (allowedBy) return { allowed: true, reason: `RBAC: allowed by ${allowedBy}` };
    return { allowed: false, reason: errors.length ? `RBAC: ${aggregate(errors)}` : '' };
  }

  /** Throws the 403 of a denied request. */
  check(attributes: Attributes): void {
    const decision = this.authorize(attributes);
    if (!decision.allowed) throw deniedError(attributes, decision.reason);
  }

  /** Upstream ConfirmNoEscalation: the message of the refusal, or undefined when the user holds every rule. */
  confirmNoEscalation(user: UserInfo, namespace: string | undefined, rules: readonly PolicyRule[]): string | undefined {
    const owned = this.rulesFor(user, namespace);
    const missing = covers(owned.rules, rules);
    if (missing.length === 0) return undefined;
    const descriptions = [...new Set(compactRules(missing).map(compactString))].sort();
    let message = `user "${user.username}" (groups=${goQuote(user.groups)}) is attempting to grant RBAC permissions not currently held:\n${descriptions.join('\n')}`;
    if (owned.errors.length) message += `; resolution errors: [${owned.errors.join(' ')}]`;
    return message;
  }

  /**
   * Escalation prevention on writes of Roles, ClusterRoles and their bindings (upstream policybased storage):
   * allowed for system:masters, with `escalate` (roles) or `bind` (bindings) on the role, or when the user
   * already holds every rule granted.
   */
  admitWrite(user: UserInfo, resource: ResourceType, namespace: string | undefined, object: KubeObject): void {
    if (resource.group !== rbacGroup) return;
    if (user.groups.includes(SYSTEM_MASTERS)) return;
    const name = object.metadata.name ?? '';
    if (roleKinds.has(resource.plural)) {
      const escalate = this.authorize({
        user,
        verb: 'escalate',
        resourceRequest: true,
        apiGroup: rbacGroup,
        resource: resource.plural,
        ...(namespace ? { namespace } : {}),
        name,
      });
      if (escalate.allowed) return;
      const refusal = this.confirmNoEscalation(user, namespace, rulesOf(object));
      if (refusal) throw forbiddenError(rbacGroup, resource.plural, name, refusal);
      return;
    }
    if (bindingKinds.has(resource.plural)) {
      const ref = roleRefOf(object);
      const bind = this.authorize({
        user,
        verb: 'bind',
        resourceRequest: true,
        apiGroup: ref.apiGroup ?? rbacGroup,
        resource: ref.kind === 'ClusterRole' ? 'clusterroles' : 'roles',
        ...(namespace ? { namespace } : {}),
        name: ref.name ?? '',
      });
      if (bind.allowed) return;
      const { rules, error } = this.roleRules(ref, namespace ?? '');
      if (error) throw forbiddenError(rbacGroup, resource.plural, name, error);
      const refusal = this.confirmNoEscalation(user, namespace, rules);
      if (refusal) throw forbiddenError(rbacGroup, resource.plural, name, refusal);
    }
  }
}

function aggregate(errors: readonly string[]): string {
  return errors.length === 1 ? (errors[0] ?? '') : `[${errors.join(', ')}]`;
}

const bootstrapLabels = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };

/** The default ClusterRoles and bindings every cluster starts with (upstream bootstrappolicy), the ones kubectl needs. */
export function bootstrapPolicy(): { roles: KubeObject[]; bindings: KubeObject[] } {
  const role = (name: string, rules: PolicyRule[]): KubeObject => ({
    apiVersion: `${rbacGroup}/v1`,
    kind: 'ClusterRole',
    metadata: { name, labels: bootstrapLabels, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
    rules,
  });
  const binding = (name: string, roleName: string, groups: string[]): KubeObject => ({
    apiVersion: `${rbacGroup}/v1`,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: bootstrapLabels, annotations: { 'rbac.authorization.kubernetes.io/autoupdate': 'true' } },
    roleRef: { apiGroup: rbacGroup, kind: 'ClusterRole', name: roleName },
    subjects: groups.map((group) => ({ apiGroup: rbacGroup, kind: 'Group', name: group })),
  });
  return {
    roles: [
      role('cluster-admin', [
        { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
        { nonResourceURLs: ['*'], verbs: ['*'] },
      ]),
      role('system:discovery', [
        {
          nonResourceURLs: [
            '/api',
            '/api/*',
            '/apis',
            '/apis/*',
            '/healthz',
            '/livez',
            '/openapi',
            '/openapi/*',
            '/readyz',
            '/version',
            '/version/',
          ],
          verbs: ['get'],
        },
      ]),
      role('system:basic-user', [
        {
          apiGroups: ['authorization.k8s.io'],
          resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
          verbs: ['create'],
        },
        { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
      ]),
      role('system:public-info-viewer', [
        { nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] },
      ]),
    ],
    bindings: [
      binding('cluster-admin', 'cluster-admin', [SYSTEM_MASTERS]),
      binding('system:discovery', 'system:discovery', [AUTHENTICATED]),
      binding('system:basic-user', 'system:basic-user', [AUTHENTICATED]),
      binding('system:public-info-viewer', 'system:public-info-viewer', [AUTHENTICATED, UNAUTHENTICATED]),
    ],
  };
}
