#!/bin/sh
# Say hello once (it shows in `kubectl logs`), then stay up as a tiny web server on port 8080.
# `exec` makes httpd the container's main process, so Kubernetes sees it as the running app.
/bin/sh /app/hello.sh
exec httpd -f -p 8080 -h /app/www
