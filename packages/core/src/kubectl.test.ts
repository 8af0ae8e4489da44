import { describe, expect, it } from 'vitest';
import { formatKubectlCommand, type KubectlCommand, parseKubectlArgs } from './kubectl.js';

const args = (line: string) => line.split(' ');

describe('parseKubectlArgs: the allowed subset', () => {
  const table: [string, KubectlCommand][] = [
    ['get pods', { verb: 'get', resource: 'pods', wide: false }],
    ['get po', { verb: 'get', resource: 'pods', wide: false }],
    ['get pods -o wide', { verb: 'get', resource: 'pods', wide: true }],
    ['get pods -o=wide', { verb: 'get', resource: 'pods', wide: true }],
    ['get pods -owide', { verb: 'get', resource: 'pods', wide: true }],
    ['get pods --output=wide', { verb: 'get', resource: 'pods', wide: true }],
    ['get pod hello-abc', { verb: 'get', resource: 'pods', name: 'hello-abc', wide: false }],
    ['get deploy', { verb: 'get', resource: 'deployments', wide: false }],
    ['get deployment/hello', { verb: 'get', resource: 'deployments', name: 'hello', wide: false }],
    ['get rs', { verb: 'get', resource: 'replicasets', wide: false }],
    ['get events', { verb: 'get', resource: 'events', wide: false }],
    ['get svc', { verb: 'get', resource: 'services', wide: false }],
    ['get all', { verb: 'get', resource: 'all', wide: false }],
    ['describe pod hello-abc', { verb: 'describe', resource: 'pod', name: 'hello-abc' }],
    ['describe deployment/hello', { verb: 'describe', resource: 'deployment', name: 'hello' }],
    ['logs hello-abc', { verb: 'logs', pod: 'hello-abc', previous: false }],
    ['logs hello-abc --tail 50', { verb: 'logs', pod: 'hello-abc', tail: 50, previous: false }],
    ['logs pod/hello-abc --tail=500 --previous', { verb: 'logs', pod: 'hello-abc', tail: 500, previous: true }],
    ['logs hello-abc -p', { verb: 'logs', pod: 'hello-abc', previous: true }],
    ['scale deployment/hello --replicas=5', { verb: 'scale', deployment: 'hello', replicas: 5 }],
    ['scale deployment hello --replicas 0', { verb: 'scale', deployment: 'hello', replicas: 0 }],
    ['scale deploy/hello --replicas=10', { verb: 'scale', deployment: 'hello', replicas: 10 }],
    ['delete pod hello-abc', { verb: 'delete', resource: 'pod', name: 'hello-abc' }],
    ['delete pod/hello-abc', { verb: 'delete', resource: 'pod', name: 'hello-abc' }],
    ['rollout status deployment/hello', { verb: 'rollout-status', deployment: 'hello' }],
    ['rollout history deployment/web', { verb: 'rollout-history', deployment: 'web' }],
    ['rollout undo deploy/web', { verb: 'rollout-undo', deployment: 'web' }],
    ['rollout undo deployment/web --to-revision=1', { verb: 'rollout-undo', deployment: 'web', toRevision: 1 }],
    ['kubectl get pods', { verb: 'get', resource: 'pods', wide: false }],
  ];
  it.each(table)('%s', (line, expected) => {
    expect(parseKubectlArgs(args(line))).toEqual({ ok: true, command: expected });
  });

  it('formats a parsed command back to a command line that parses the same', () => {
    for (const [line] of table) {
      const parsed = parseKubectlArgs(args(line));
      if (!parsed.ok) throw new Error(parsed.error);
      const again = parseKubectlArgs(args(formatKubectlCommand(parsed.command)));
      expect(again).toEqual(parsed);
    }
  });
});

describe('parseKubectlArgs: refusals', () => {
  const table: [string, RegExp][] = [
    ['get pods -n kube-system', /your own lab namespace, so -n\/--namespace is not allowed/],
    ['get pods -nkube-system', /-n\/--namespace is not allowed/],
    ['get pods --namespace=kube-system', /-n\/--namespace is not allowed/],
    ['get pods --namespace kube-system', /-n\/--namespace is not allowed/],
    ['get pods -A', /-A\/--all-namespaces is not allowed/],
    ['get pods --all-namespaces', /-A\/--all-namespaces is not allowed/],
    ['get pods --kubeconfig=/etc/kube', /--kubeconfig are not allowed/],
    ['get pods --context prod', /--context are not allowed/],
    ['get pods --server https://x', /--server are not allowed/],
    ['get pods -s https://x', /-s\/--server are not allowed/],
    ['get pods --token=abc', /--token are not allowed/],
    ['get pods --as=system:admin', /--as are not allowed/],
    ['get pods --as-group=system:masters', /--as-group are not allowed/],
    ['get pods -w', /Watching is not available/],
    ['exec hello -- sh', /kubectl exec\) is not available/],
    ['apply -f x.yaml', /Use "\/lab apply"/],
    ['edit deployment hello', /kubectl edit is not available/],
    ['create deployment x --image=y', /kubectl create is not available/],
    ['patch deployment x', /Patching objects is not available/],
    ['port-forward pod/x 80', /Port forwarding is not available/],
    [
      'cordon node1',
      /^Unknown kubectl command "cordon"\. You can use: get, describe, logs, scale, delete pod, rollout status\|history\|undo\.$/,
    ],
    ['', /^Say what kubectl should do/],
    ['--help', /^Start with the command/],
    ['get', /^Say what to get/],
    ['get secrets', /kubectl get supports only pods, deployments, replicasets, events, services, all; not "secrets"\./],
    ['get nodes', /not "nodes"/],
    ['get pods -o yaml', /Only "-o wide" is supported/],
    ['get pods -ojson', /Only "-o wide" is supported/],
    ['get pods -o', /The option -o needs a value\./],
    ['get pods a b', /at most one name/],
    ['get all x', /takes no name/],
    ['get pods Hello_World', /"Hello_World" is not a valid Kubernetes name/],
    ['get pods --show-labels', /The option --show-labels is not supported for kubectl get/],
    ['describe secret x', /supports "pod NAME" and "deployment NAME"/],
    ['describe pod', /Say which pod to describe/],
    ['logs', /Say which pod/],
    ['logs x --tail 501', /--tail must be a whole number from 1 to 500/],
    ['logs x --tail=0', /--tail must be a whole number from 1 to 500/],
    ['logs x --tail=abc', /--tail must be a whole number/],
    ['logs x -c other', /The option -c is not supported for kubectl logs/],
    ['logs x y', /one pod name/],
    ['logs deployment/x', /works on one pod/],
    ['scale deployment/hello --replicas=11', /--replicas must be a whole number from 0 to 10/],
    ['scale deployment/hello --replicas=-1', /--replicas must be a whole number from 0 to 10/],
    ['scale deployment/hello', /Say how many replicas/],
    ['scale statefulset/db --replicas=1', /Use "kubectl scale deployment\/NAME --replicas=N"/],
    ['delete deployment hello', /you can only delete pods/],
    ['delete pod', /Say which pod to delete/],
    ['delete pod a b', /Delete one pod at a time/],
    ['delete pod x --force', /The option --force is not supported for kubectl delete/],
    ['delete pod x --grace-period=0', /--grace-period is not supported/],
    ['rollout restart deployment/x', /Use "kubectl rollout status\|history\|undo deployment\/NAME"/],
    ['rollout undo deployment/x --to-revision=abc', /--to-revision must be a revision number/],
    ['rollout history deployment/x --to-revision=1', /--to-revision is not supported for kubectl rollout history/],
    ['rollout status pod/x', /Use "kubectl rollout status deployment\/NAME"/],
    ['get pods -o wide -o wide', /given twice/],
  ];
  it.each(table)('%j', (line, expected) => {
    const result = parseKubectlArgs(line === '' ? [] : args(line));
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(expected);
  });

  it('refuses very long argument lists and long names', () => {
    expect(parseKubectlArgs(Array.from({ length: 30 }, () => 'get')).ok).toBe(false);
    expect(parseKubectlArgs(['get', 'pods', 'a'.repeat(254)]).ok).toBe(false);
    expect(parseKubectlArgs(['get', 'pods', 'a'.repeat(253)]).ok).toBe(true);
  });
});
