#!/usr/bin/env python3
# Validate hotpatch --json documents against docs/schema/*.json (python3-jsonschema).
#   json_validate.py [--expect-fail] FILE...   each FILE holds one document (one line)
# The schema is chosen by the document's "command" (usage.json when there is none).
# Prints one line per document; exits 1 if any document is invalid (with --expect-fail:
# if any is valid, to show that the schemas can reject).
import json, os, sys
import warnings
import jsonschema
warnings.filterwarnings("ignore", category=DeprecationWarning)

here = os.path.dirname(os.path.abspath(__file__))
sdir = os.path.join(here, "..", "docs", "schema")
store = {}
for name in os.listdir(sdir):
    if name.endswith(".json"):
        with open(os.path.join(sdir, name)) as f:
            s = json.load(f)
        jsonschema.Draft7Validator.check_schema(s)
        store[s["$id"]] = s

def validator(cmd):
    uri = "https://hotpatch.invalid/schema/%s.json" % cmd
    if uri not in store:
        raise SystemExit("no schema for command %r" % cmd)
    s = store[uri]
    return jsonschema.Draft7Validator(s, resolver=jsonschema.RefResolver(uri, s, store=store))

args = sys.argv[1:]
expect_fail = bool(args) and args[0] == "--expect-fail"
if expect_fail:
    args = args[1:]
bad = good = 0
for path in args:
    with open(path) as f:
        text = f.read()
    lines = text.splitlines()
    if len(lines) != 1 or not text.endswith("\n"):
        print("%s: not exactly one line: %r" % (path, text[:200]))
        bad += 1
        continue
    doc = json.loads(lines[0])
    errs = sorted(validator(doc.get("command", "usage")).iter_errors(doc), key=lambda e: list(e.path))
    if errs:
        bad += 1
        e = errs[0]
        print("%s: INVALID (%s): at /%s: %s" % (path, doc.get("command", "usage"),
              "/".join(map(str, e.absolute_path)), e.message[:300]))
    else:
        good += 1
        print("%s: valid (%s)" % (path, doc.get("command", "usage")))
if expect_fail:
    sys.exit(1 if good else 0)
sys.exit(1 if bad else 0)
