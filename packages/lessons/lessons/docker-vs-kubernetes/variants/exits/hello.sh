#!/bin/sh
# The whole "application" of the lesson: one line on standard output.
echo "Hello from inside the Docker container!"
