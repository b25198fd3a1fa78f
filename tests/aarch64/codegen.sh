#!/bin/sh
# The backend's generated code executed natively (codegen.c), then the cost of a call through each jump form.
./codegen && ./codegen bench
