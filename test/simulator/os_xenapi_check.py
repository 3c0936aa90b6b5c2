#!/usr/bin/python3
"""Acceptance check: Debian's python3-os-xenapi client, unchanged, against fake-xapi.

Usage: os_xenapi_check.py CONTROL_URL USERNAME
The password comes from the FAKE_XAPI_PASSWORD environment variable.
Expects a simulator with standalone hosts xs1, xs2 (no running VMs) and running
guest VMs plus one halted VM on xs1. Prints "OK" and exits 0 on success.
"""
import json
import os
import sys
import time
import urllib.request
import xmlrpc.client

from os_xenapi.client import XenAPI

CONTROL, USER = sys.argv[1], sys.argv[2]
PASSWORD = os.environ["FAKE_XAPI_PASSWORD"]


def control(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(CONTROL + path, data=data, method=method,
                                 headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


def host_state(name):
    return [h for h in control("GET", "/state")["hosts"] if h["name"] == name][0]


def wait_for(what, predicate, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if predicate():
                return
        except (OSError, XenAPI.Failure, xmlrpc.client.Fault):
            pass
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def expect_failure(fn, *details):
    try:
        fn()
    except XenAPI.Failure as e:
        assert e.details[: len(details)] == list(details), e.details
        return e.details
    raise AssertionError("expected Failure %r" % (details,))


xs1, xs2 = host_state("xs1"), host_state("xs2")

# 1. Login to the master; os-xenapi immediately calls pool.get_all, pool.get_master,
#    host.get_API_version_major/minor.
s = XenAPI.Session(xs1["url"])
s.login_with_password(USER, PASSWORD, "2.23", "hostagg-tests")
assert s.API_version == "2.21", s.API_version
pool = s.xenapi.pool.get_all()[0]
master = s.xenapi.pool.get_master(pool)
assert s.xenapi.host.get_address(master) == xs1["address"]

# 2. Wrong password -> SESSION_AUTHENTICATION_FAILED [user, "Authentication failure"].
bad = XenAPI.Session(xs1["url"])
expect_failure(lambda: bad.login_with_password(USER, "wrong"),
               "SESSION_AUTHENTICATION_FAILED", USER, "Authentication failure")

# 3. Join xs2 to xs1: sent to the joining host with its own session.
j = XenAPI.Session(xs2["url"])
j.login_with_password(USER, PASSWORD, "2.23", "hostagg-tests")
assert j.xenapi.pool.join(xs1["address"], USER, PASSWORD) == ""
xs2_ref = s.xenapi.host.get_by_name_label("xs2")[0]
metrics = s.xenapi.host.get_metrics(xs2_ref)
wait_for("xs2 live and enabled on the master",
         lambda: s.xenapi.host_metrics.get_live(metrics) and s.xenapi.host.get_enabled(xs2_ref))
assert int(s.xenapi.host_metrics.get_memory_total(metrics)) > 0

# 4. HOST_IS_SLAVE from the slave, with the master's address.
slave = XenAPI.Session(xs2["url"])
expect_failure(lambda: slave.login_with_password(USER, PASSWORD), "HOST_IS_SLAVE", xs1["address"])

# 5. Synchronous migration.
records = s.xenapi.VM.get_all_records()
running = [r for r, v in records.items() if v["power_state"] == "Running"
           and not v["is_control_domain"] and not v["is_a_template"]]
halted = [r for r, v in records.items() if v["power_state"] == "Halted" and not v["is_a_template"]]
assert running and halted, "fixture needs running and halted VMs on xs1"
vm = running[0]
assert isinstance(records[vm]["memory_static_max"], str)
assert s.xenapi.VM.pool_migrate(vm, xs2_ref, {"live": "true"}) == ""
assert s.xenapi.VM.get_resident_on(vm) == xs2_ref

# 6. Async migration back, polling the task.
task = s.xenapi.Async.VM.pool_migrate(vm, master, {"live": "true"})
assert task.startswith("OpaqueRef:"), task
wait_for("task to finish", lambda: s.xenapi.task.get_status(task) != "pending")
assert s.xenapi.task.get_status(task) == "success", s.xenapi.task.get_record(task)
assert s.xenapi.task.get_result(task) == "<value></value>"
assert isinstance(s.xenapi.task.get_progress(task), float)
s.xenapi.task.destroy(task)
assert s.xenapi.VM.get_resident_on(vm) == master

# 7. A Failure's details.
details = expect_failure(lambda: s.xenapi.VM.pool_migrate(halted[0], xs2_ref, {}),
                         "VM_BAD_POWER_STATE")
assert details[1:] == [halted[0], "running", "halted"], details
expect_failure(lambda: s.xenapi.VM.get_record("OpaqueRef:nope"), "HANDLE_INVALID", "VM", "OpaqueRef:nope")
failed = s.xenapi.Async.VM.pool_migrate(halted[0], xs2_ref, {})
wait_for("failed task", lambda: s.xenapi.task.get_status(failed) == "failure")
assert s.xenapi.task.get_error_info(failed) == ["VM_BAD_POWER_STATE", halted[0], "running", "halted"]

# 8. SESSION_INVALID -> transparent re-login: logout behind the client's back...
old = s._session
xmlrpc.client.ServerProxy(xs1["url"]).session.logout(old)
assert s.xenapi.pool.get_all() == [pool]
assert s._session != old
# ... and a toolstack restart (all sessions dropped).
old = s._session
control("POST", "/hosts/xs1/restart-toolstack")
wait_for("xs1 back", lambda: host_state("xs1")["toolstack"] == "up")
assert s.xenapi.host.get_name_label(master) == "xs1"
assert s._session != old

# 9. host.reboot: refused while enabled; a disabled, empty slave reboots and comes back with a
#    newer other_config:agent_start_time; host.get_servertime is a dateTime.
wait_for("xs2 connected again", lambda: s.xenapi.host_metrics.get_live(metrics) and host_state("xs2")["connected"])
expect_failure(lambda: s.xenapi.host.reboot(xs2_ref), "HOST_NOT_DISABLED")
before = s.xenapi.host.get_other_config(xs2_ref)
assert float(before["boot_time"]) > 1.7e9 and float(before["agent_start_time"]) > 1.7e9, before
assert isinstance(s.xenapi.host.get_servertime(xs2_ref), xmlrpc.client.DateTime)
boots = host_state("xs2")["bootCount"]
s.xenapi.host.disable(xs2_ref)
assert s.xenapi.host.reboot(xs2_ref) == ""
wait_for("xs2 rebooted", lambda: host_state("xs2")["bootCount"] == boots + 1 and host_state("xs2")["connected"])
wait_for("a newer agent_start_time", lambda: float(s.xenapi.host.get_other_config(xs2_ref)["agent_start_time"]) > float(before["agent_start_time"]))
assert float(s.xenapi.host.get_other_config(xs2_ref)["boot_time"]) > float(before["boot_time"])

s.xenapi.session.logout()
print("OK")
