#!/bin/sh
# A kubeconfig mounted at /kube/config (compose) is used unless KUBECONFIG names another one;
# without either the runner uses in-cluster credentials or the embedded kube-sim (and says which).
if [ -z "${KUBECONFIG:-}" ] && [ -s /kube/config ]; then
  export KUBECONFIG=/kube/config
fi
exec node "$@"
