import type { KubeConfig } from '@kubernetes/client-node';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;

/** The shared Agents of each kubeconfig made to share them, by cluster and user. */
const agentsOf = new WeakMap<KubeConfig, Map<string, Dispatcher>>();

/**
 * client-node 2 gives every API request (and every watch) a new undici Agent, so each request opens its own TLS
 * connection with a new SecureContext: under a class burst that was a quarter of the runner's CPU. This makes the
 * kubeconfig hand every request of one cluster and user the same keep-alive Agent (its pool reuses connections).
 * Watches get an Agent of their own: a watch holds its connection for minutes, and requests never queue behind it.
 * The kubeconfig is changed in place (its own subclass behaviour stays) and returned; applying it twice is harmless.
 * `from`: a kubeconfig whose Agents this one uses too (a copy that only adds headers, e.g. impersonation).
 */
export function shareConnections(kubeConfig: KubeConfig, from?: KubeConfig): KubeConfig {
  if (agentsOf.has(kubeConfig)) return kubeConfig;
  const agents = (from && agentsOf.get(from)) ?? new Map<string, Dispatcher>();
  agentsOf.set(kubeConfig, agents);
  const authenticate = kubeConfig.applySecurityAuthentication.bind(kubeConfig);
  kubeConfig.applySecurityAuthentication = async (context: RequestContext) => {
    // The TLS material comes from the current cluster and user; tokens and impersonation are headers.
    const watch = new URL(context.getUrl()).searchParams.get('watch') === 'true';
    const key = JSON.stringify([kubeConfig.getCurrentCluster()?.name, kubeConfig.getCurrentUser()?.name, watch]);
    const setDispatcher = context.setDispatcher.bind(context);
    let made: Dispatcher | undefined;
    context.setDispatcher = (dispatcher) => {
      made = dispatcher;
    };
    try {
      await authenticate(context);
    } finally {
      context.setDispatcher = setDispatcher;
    }
    if (made === undefined) return;
    const agent = agents.get(key) ?? made;
    agents.set(key, agent);
    if (agent !== made) void made.close().catch(() => {});
    setDispatcher(agent);
  };
  return kubeConfig;
}
