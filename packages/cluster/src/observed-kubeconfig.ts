import {
  type ApiConstructor,
  type ApiType,
  createConfiguration,
  type HttpLibrary,
  IsomorphicFetchHttpLibrary,
  KubeConfig,
  Observable,
  type RequestContext,
  type ResponseContext,
  ServerConfiguration,
} from '@kubernetes/client-node';

/** Told about every Kubernetes API request the driver makes (metrics); must not throw. */
export interface KubeRequestObserver {
  /**
   * `verb` is the HTTP method (GET, POST, PATCH, PUT, DELETE); failed: no answer, or a status of 400 or more;
   * timing: the request's URL and when it was sent and answered (`performance.now()`).
   */
  kubeRequest(verb: string, failed: boolean, timing: KubeRequestTiming): void;
}

export interface KubeRequestTiming {
  url: string;
  startedAt: number;
  endedAt: number;
}

function observedHttp(inner: HttpLibrary, observer: KubeRequestObserver): HttpLibrary {
  return {
    send(request: RequestContext): Observable<ResponseContext> {
      const verb = request.getHttpMethod().toString();
      const startedAt = performance.now();
      const timing = () => ({ url: request.getUrl(), startedAt, endedAt: performance.now() });
      const answered = inner
        .send(request)
        .toPromise()
        .then(
          (response) => {
            observer.kubeRequest(verb, response.httpStatusCode >= 400, timing());
            return response;
          },
          (error: unknown) => {
            observer.kubeRequest(verb, true, timing());
            throw error;
          },
        );
      return new Observable(answered);
    },
  };
}

/** The same kubeconfig, whose API clients report each request to `observer` (the watch stream is not counted). */
export function observeKubeRequests(kubeConfig: KubeConfig, observer: KubeRequestObserver): KubeConfig {
  class ObservedKubeConfig extends KubeConfig {
    override makeApiClient<T extends ApiType>(apiClientType: ApiConstructor<T>): T {
      const cluster = this.getCurrentCluster();
      if (!cluster) throw new Error('No active cluster!');
      const configuration = createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: this },
        httpApi: observedHttp(new IsomorphicFetchHttpLibrary(), observer),
        promiseMiddleware: [
          {
            pre: async (context) => {
              context.setHeaderParam('User-Agent', 'labbot');
              return context;
            },
            post: async (response) => response,
          },
        ],
      });
      return new apiClientType(configuration);
    }
  }
  const observed = new ObservedKubeConfig();
  observed.loadFromOptions({
    clusters: kubeConfig.clusters,
    users: kubeConfig.users,
    contexts: kubeConfig.contexts,
    currentContext: kubeConfig.currentContext,
  });
  return observed;
}
