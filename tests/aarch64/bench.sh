#!/bin/sh
# The cost of a call through each jump form, three runs (TCG: ratios only). Not in the default list.
for i in 1 2 3; do ./codegen bench || exit 1; done
