#!/bin/sh
./hello | grep -q "hello from aarch64"
