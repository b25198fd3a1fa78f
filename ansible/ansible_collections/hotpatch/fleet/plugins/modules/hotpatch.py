#!/usr/bin/python
# SPDX-License-Identifier: MIT
# The hotpatch.fleet.hotpatch module: apply or revert a live patch through the hotpatch CLI's --json.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: hotpatch
short_description: Apply or revert a hotpatch live patch in running processes
description:
  - Drives the C(hotpatch) command of the host through its C(--json) output.
  - With I(state=present), applies I(patch) to every selected process that does not
    have it yet; with I(state=absent), reverts it from every selected process that has it.
    What a process has is read from the process itself (C(hotpatch list)), so the module
    is idempotent, C(changed) only when a patch was applied or reverted (or registered).
  - In check mode, runs C(hotpatch check) on every process that would be patched, and
    stops no process.
  - Processes are handled one by one; a process that fails does not stop the others,
    but the task fails on that host (the play goes on with the other hosts, per
    C(max_fail_percentage) and C(serial)).
options:
  patch:
    description: The patch shared object (on the managed host).
    type: path
    required: true
  state:
    description: C(present) applies the patch, C(absent) reverts it.
    type: str
    choices: [present, absent]
    default: present
  pid:
    description: One process.
    type: int
  all_of:
    description: Every process whose executable is this file.
    type: path
  build_id:
    description: Every process whose executable has this GNU build-id.
    type: str
  install:
    description:
      - Also register the patch with C(hotpatch install) (I(state=present)) or
        remove it with C(hotpatch uninstall) (I(state=absent)), so that C(hotpatchd)
        applies it to processes started later.
      - The target binary is the patch's C(HOTPATCH_BUILD_ID) pin, else I(build_id),
        else I(all_of), else the executable of I(pid).
    type: bool
    default: false
  timeout:
    description: Bound in milliseconds of each apply/revert (C(--timeout)).
    type: int
    default: 5000
  patch_dir:
    description: The patch directory (C(--dir)); default C(/var/lib/hotpatch).
    type: path
  hotpatch:
    description: The hotpatch command.
    type: path
    default: hotpatch
notes:
  - Needs root (or the same user as the processes, with ptrace allowed).
"""

EXAMPLES = r"""
- name: Fix CVE-2026-1234 in every nginx worker, now and after restarts
  hotpatch.fleet.hotpatch:
    patch: /srv/patches/ngx-cve-2026-1234.so
    all_of: /usr/sbin/nginx
    install: true

- name: Take it out again
  hotpatch.fleet.hotpatch:
    patch: /srv/patches/ngx-cve-2026-1234.so
    all_of: /usr/sbin/nginx
    state: absent
    install: true
"""

RETURN = r"""
patch_id:
  description: The patch's build-id (how processes and the patch directory know it).
  type: str
  returned: always
processes:
  description: One entry per selected process.
  type: list
  elements: dict
  returned: always
  contains:
    pid: {description: The process, type: int}
    action:
      description: >-
        applied, reverted, unchanged, would_apply, would_revert (check mode) or failed.
      type: str
    patch:
      description: The patch id inside the process (C(hotpatch list)).
      type: int
    error: {description: The one-line reason of a failure, type: str}
installed:
  description: >-
    What happened to the registration when I(install) is set: installed, uninstalled,
    unchanged, would_install, would_uninstall, or skipped (some process failed to apply).
  type: str
  returned: when install is true
succeeded: {description: Processes that ended as wanted, type: int, returned: always}
failed_processes: {description: Processes that failed, type: int, returned: always}
"""

import json

from ansible.module_utils.basic import AnsibleModule


class Cli(object):
    def __init__(self, module):
        self.m = module
        self.hp = module.params["hotpatch"]
        self.calls = []

    def run(self, *args):
        """Run hotpatch ARGS --json; returns (rc, document or None, stderr)."""
        cmd = [self.hp] + [str(a) for a in args] + ["--json"]
        rc, out, err = self.m.run_command(cmd)
        self.calls.append({"cmd": cmd, "rc": rc})
        doc = None
        try:
            doc = json.loads(out) if out.strip() else None
        except ValueError:
            doc = None
        return rc, doc, err.strip()


def err_msg(doc, stderr):
    if doc and isinstance(doc.get("error"), dict):
        return doc["error"].get("message") or stderr
    return stderr or "hotpatch failed without a message"


def target_args(p):
    if p["pid"] is not None:
        return [str(p["pid"])]
    if p["all_of"]:
        return ["--all-of", p["all_of"]]
    return ["--build-id", p["build_id"]]


def processes(cli, p):
    """[(pid, patches or None, error)] of the selected processes; [] when none runs."""
    rc, doc, err = cli.run("list", *target_args(p))
    if doc is None:
        cli.m.fail_json(msg="hotpatch list: %s" % (err or "no JSON output"), calls=cli.calls)
    if p["pid"] is not None:
        if doc.get("ok"):
            return [(p["pid"], doc.get("patches", []), None)]
        return [(p["pid"], None, err_msg(doc, err))]
    procs = doc.get("processes", [])
    if not procs and not doc.get("ok") and doc.get("error", {}).get("code") != "NOPROC":
        cli.m.fail_json(msg="hotpatch list: %s" % err_msg(doc, err), calls=cli.calls)
    out = []
    for e in procs:
        if e.get("ok"):
            out.append((e["pid"], e.get("patches", []), None))
        else:
            out.append((e["pid"], None, err_msg(e, "")))
    return out


def registration(cli, p, patch_id, pin):
    """Install or uninstall; returns the action."""
    dirargs = ["--dir", p["patch_dir"]] if p["patch_dir"] else []
    rc, doc, err = cli.run("installed", *dirargs)
    if not doc or not doc.get("ok"):
        cli.m.fail_json(msg="hotpatch installed: %s" % err_msg(doc, err), calls=cli.calls)
    mine = [e for e in doc.get("patches", []) if e.get("id") == patch_id]
    if p["state"] == "absent":
        if not mine:
            return "unchanged"
        if cli.m.check_mode:
            return "would_uninstall"
        rc, doc, err = cli.run("uninstall", *(dirargs + [patch_id]))
        if rc != 0:
            cli.m.fail_json(msg="hotpatch uninstall: %s" % err_msg(doc, err), calls=cli.calls)
        return "uninstalled"
    if pin:
        key = []
    elif p["build_id"]:
        key = ["--build-id", p["build_id"]]
    elif p["all_of"]:
        key = ["--binary", p["all_of"]]
    else:
        key = ["--binary", "/proc/%d/exe" % p["pid"]]
    if cli.m.check_mode:
        return "unchanged" if mine else "would_install"
    rc, doc, err = cli.run("install", *(dirargs + key + [p["patch"]]))
    if rc != 0 or not doc or not doc.get("ok"):
        cli.m.fail_json(msg="hotpatch install: %s" % err_msg(doc, err), calls=cli.calls)
    return "installed" if doc.get("changed") else "unchanged"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            patch=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            pid=dict(type="int"),
            all_of=dict(type="path"),
            build_id=dict(type="str"),
            install=dict(type="bool", default=False),
            timeout=dict(type="int", default=5000),
            patch_dir=dict(type="path"),
            hotpatch=dict(type="path", default="hotpatch"),
        ),
        mutually_exclusive=[["pid", "all_of", "build_id"]],
        required_one_of=[["pid", "all_of", "build_id"]],
        supports_check_mode=True,
    )
    p = module.params
    cli = Cli(module)
    present = p["state"] == "present"

    rc, info, err = cli.run("info", p["patch"])
    if not info or not info.get("ok"):
        module.fail_json(msg="hotpatch info: %s" % err_msg(info, err), calls=cli.calls)
    patch_id = info["patch"]["build_id"]
    pin = info["patch"].get("pin") or ""

    results = []
    changed = False
    for pid, patches, error in processes(cli, p):
        if error is not None:
            results.append({"pid": pid, "action": "failed", "error": error})
            continue
        have = [x for x in patches if x.get("build_id") == patch_id]
        if present == bool(have):
            r = {"pid": pid, "action": "unchanged"}
            if have:
                r["patch"] = have[-1]["id"]
            results.append(r)
            continue
        if module.check_mode:
            if present:
                rc, doc, err = cli.run("check", pid, p["patch"])
                if rc == 0 and doc and doc.get("ok"):
                    results.append({"pid": pid, "action": "would_apply"})
                    changed = True
                else:
                    results.append({"pid": pid, "action": "failed", "error": err_msg(doc, err)})
            else:
                results.append({"pid": pid, "action": "would_revert", "patch": have[-1]["id"]})
                changed = True
            continue
        if present:
            rc, doc, err = cli.run("apply", "--timeout", p["timeout"], pid, p["patch"])
            if rc == 0 and doc and doc.get("ok"):
                results.append({"pid": pid, "action": "applied", "patch": doc["patch"]["id"],
                                "timing": doc.get("timing")})
                changed = True
            else:
                results.append({"pid": pid, "action": "failed", "error": err_msg(doc, err)})
        else:
            rc, doc, err = cli.run("revert", "--timeout", p["timeout"], pid, have[-1]["id"])
            if rc == 0 and doc and doc.get("ok"):
                results.append({"pid": pid, "action": "reverted", "patch": have[-1]["id"]})
                changed = True
            else:
                results.append({"pid": pid, "action": "failed", "error": err_msg(doc, err)})

    ret = {"patch_id": patch_id, "processes": results}
    nfail = sum(1 for r in results if r["action"] == "failed")
    ret["failed_processes"] = nfail
    ret["succeeded"] = len(results) - nfail
    if p["install"] and present and nfail:
        ret["installed"] = "skipped"  # a patch that fails here is not made persistent
    elif p["install"]:
        ret["installed"] = registration(cli, p, patch_id, pin)
        changed = changed or ret["installed"] != "unchanged"
    if nfail:
        def why(r):
            # the CLI's messages already start with "pid N: "
            e = r["error"]
            return e if e.startswith("pid %d:" % r["pid"]) else "pid %d: %s" % (r["pid"], e)
        module.fail_json(msg="%d of %d processes failed: %s" % (
            nfail, len(results), "; ".join(why(r) for r in results if r["action"] == "failed")),
            changed=changed, **ret)
    module.exit_json(changed=changed, **ret)


if __name__ == "__main__":
    main()
