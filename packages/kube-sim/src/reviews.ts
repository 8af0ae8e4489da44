import { badRequest } from './api-error.js';
import { type Attributes, type PolicyRule, type RbacAuthorizer, SYSTEM_MASTERS, type UserInfo } from './rbac.js';
import { groupVersionOf, type ResourceType } from './resources.js';
import { isObject, type JsonObject } from './types.js';

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The authorizer attributes a (Self)SubjectAccessReview spec asks about. */
function attributesOf(spec: JsonObject, user: UserInfo): Attributes {
  if (isObject(spec.resourceAttributes)) {
    const r = spec.resourceAttributes;
    return {
      user,
      verb: text(r.verb),
      resourceRequest: true,
      apiGroup: text(r.group),
      resource: text(r.resource),
      ...(text(r.subresource) ? { subresource: text(r.subresource) } : {}),
      ...(text(r.namespace) ? { namespace: text(r.namespace) } : {}),
      ...(text(r.name) ? { name: text(r.name) } : {}),
    };
  }
  if (isObject(spec.nonResourceAttributes)) {
    const n = spec.nonResourceAttributes;
    return { user, verb: text(n.verb), resourceRequest: false, path: text(n.path) };
  }
  throw badRequest('spec: Invalid value: resourceAttributes or nonResourceAttributes must be set');
}

function ruleStatus(rules: readonly PolicyRule[]) {
  return {
    resourceRules: rules
      .filter((rule) => (rule.resources ?? []).length > 0)
      .map((rule) => ({
        verbs: rule.verbs,
        apiGroups: rule.apiGroups ?? [],
        resources: rule.resources ?? [],
        ...(rule.resourceNames?.length ? { resourceNames: rule.resourceNames } : {}),
      })),
    nonResourceRules: rules
      .filter((rule) => (rule.nonResourceURLs ?? []).length > 0)
      .map((rule) => ({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs ?? [] })),
  };
}

/**
 * Answers the review kinds (never stored): SelfSubjectAccessReview and SubjectAccessReview
 * (`kubectl auth can-i`), SelfSubjectRulesReview (`can-i --list`), SelfSubjectReview (`auth whoami`).
 */
export function answerReview(resource: ResourceType, body: unknown, user: UserInfo, rbac: RbacAuthorizer): JsonObject {
  const request = isObject(body) ? body : {};
  const spec = isObject(request.spec) ? request.spec : {};
  const base = { kind: resource.kind, apiVersion: groupVersionOf(resource), metadata: { creationTimestamp: null } };
  switch (resource.kind) {
    case 'SelfSubjectReview':
      return {
        ...base,
        status: {
          userInfo: {
            username: user.username,
            ...(user.uid ? { uid: user.uid } : {}),
            groups: user.groups,
            ...(user.extra ? { extra: user.extra } : {}),
          },
        },
      };
    case 'SelfSubjectRulesReview': {
      const namespace = text(spec.namespace);
      if (user.groups.includes(SYSTEM_MASTERS)) {
        return {
          ...base,
          spec,
          status: {
            ...ruleStatus([
              { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
              { verbs: ['*'], nonResourceURLs: ['*'] },
            ]),
            incomplete: false,
          },
        };
      }
      const { rules, errors } = rbac.rulesFor(user, namespace || undefined);
      return {
        ...base,
        spec,
        status: {
          ...ruleStatus(rules),
          incomplete: errors.length > 0,
          ...(errors.length ? { evaluationError: errors.join(', ') } : {}),
        },
      };
    }
    case 'SubjectAccessReview': {
      const subject: UserInfo = {
        username: text(spec.user),
        groups: Array.isArray(spec.groups) ? spec.groups.map(String) : [],
        ...(text(spec.uid) ? { uid: text(spec.uid) } : {}),
      };
      if (!subject.username && subject.groups.length === 0)
        throw badRequest('spec.user: Invalid value: "": at least one of user or group must be specified');
      const decision = rbac.authorize(attributesOf(spec, subject));
      return {
        ...base,
        spec,
        status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
      };
    }
    default: {
      const decision = rbac.authorize(attributesOf(spec, user));
      return {
        ...base,
        spec,
        status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
      };
    }
  }
}
