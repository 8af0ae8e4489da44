import { describe, expect, it } from 'vitest';
import { type LabCommand, parseLabCommand } from './commands.js';

describe('parseLabCommand: accepted commands', () => {
  const table: [string, LabCommand][] = [
    ['/lab start docker-vs-kubernetes', { kind: 'start', lessonId: 'docker-vs-kubernetes' }],
    ['start docker-vs-kubernetes', { kind: 'start', lessonId: 'docker-vs-kubernetes' }],
    ['/lab start docker-vs-kubernetes exits', { kind: 'start', lessonId: 'docker-vs-kubernetes', variant: 'exits' }],
    ['  /LAB   START   docker-vs-kubernetes  ', { kind: 'start', lessonId: 'docker-vs-kubernetes' }],
    ['/lab status', { kind: 'status' }],
    ['/lab status docker-vs-kubernetes', { kind: 'status', lessonId: 'docker-vs-kubernetes' }],
    ['/lab stop', { kind: 'stop' }],
    ['/lab stop intro', { kind: 'stop', lessonId: 'intro' }],
    ['/lab reset', { kind: 'reset' }],
    ['/lab check intro', { kind: 'check', lessonId: 'intro' }],
    ['/lab list', { kind: 'list' }],
    ['/lab lessons', { kind: 'lessons' }],
    ['/lab help', { kind: 'help' }],
    ['/lab help kubectl', { kind: 'help', topic: 'kubectl' }],
    ['/lab class start intro', { kind: 'class-start', lessonId: 'intro' }],
    ['/lab class status', { kind: 'class-status' }],
    ['/lab class end', { kind: 'class-end' }],
    ['/lab class export', { kind: 'class-export' }],
    [
      '/lab kubectl get pods',
      { kind: 'kubectl', kubectl: { verb: 'get', resource: 'pods', wide: false }, args: ['get', 'pods'] },
    ],
    [
      '/lab kubectl scale deployment/hello --replicas=5',
      {
        kind: 'kubectl',
        kubectl: { verb: 'scale', deployment: 'hello', replicas: 5 },
        args: ['scale', 'deployment/hello', '--replicas=5'],
      },
    ],
  ];
  it.each(table)('%j', (text, expected) => {
    expect(parseLabCommand(text)).toEqual({ ok: true, command: expected });
  });
});

describe('parseLabCommand: refusals are one clear sentence', () => {
  const table: [string, RegExp][] = [
    ['/lab frob', /^Unknown subcommand "frob"\. Try: start, status, stop, reset, check, list, lessons, help\.$/],
    ['', /^Type a command after \/lab\. Try: start/],
    ['   ', /^Type a command after \/lab/],
    ['/lab', /^Type a command after \/lab/],
    [`/lab start ${'a'.repeat(600)}`, /^That command is too long \(611 characters\); the limit is 500\.$/],
    ['/lab start', /^Say which lesson to start, e\.g\. "\/lab start docker-vs-kubernetes"\.$/],
    ['/lab start Bad_Lesson', /^"Bad_Lesson" is not a valid lesson id: use lowercase letters, digits and dashes/],
    ['/lab start ../../etc', /^"\.\.\/\.\.\/etc" is not a valid lesson id/],
    ['/lab start a b c', /^"start" takes one lesson id/],
    ['/lab start a B', /^"B" is not a variant name/],
    ['/lab stop a b', /^"stop" takes at most one lesson id/],
    ['/lab list everything', /^"list" takes no arguments\.$/],
    ['/lab help frob', /^There is no help on "frob"/],
    ['/lab class', /^Say what to do with the class/],
    ['/lab class start', /^Say which lesson the class runs/],
    ['/lab class dance', /^Unknown class command "dance"/],
    ['/lab class end now', /"now" is not a class id/],
    ['/lab kubectl exec -it pod sh', /^Running commands inside containers \(kubectl exec\) is not available/],
    ['/lab kubectl get pods -n kube-system', /-n\/--namespace is not allowed/],
    ['/lab start intro\u0000', /control characters/],
  ];
  it.each(table)('%j', (text, expected) => {
    const result = parseLabCommand(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error).toMatch(expected);
      expect(result.error.length).toBeLessThan(200);
    }
  });

  it('accepts exactly 500 characters and refuses 501', () => {
    const padded = (n: number) => `/lab list${' '.repeat(n - 9)}`;
    expect(parseLabCommand(padded(500)).ok).toBe(true);
    expect(parseLabCommand(padded(501)).ok).toBe(false);
  });

  it('cuts a long unknown word in the error sentence', () => {
    const result = parseLabCommand(`/lab ${'z'.repeat(300)}`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.length).toBeLessThan(150);
  });
});
