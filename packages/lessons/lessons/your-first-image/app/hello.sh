echo "Hello from my first image!"
exec httpd -f -p 8080 -h /tmp
