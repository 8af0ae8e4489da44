#!/bin/sh
# Say which version this is (it shows in `kubectl logs`), then serve the page on port 8080.
echo "web app version 2"
exec httpd -f -p 8080 -h /app/www
