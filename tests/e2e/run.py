"""Plays each e2e scenario with `podman kube play`, waits with a hard deadline, reads every
container's exit code, asserts, and tears everything down (volumes included, so a stale
sentinel never leaks into the next scenario). A Job or CronJob is played as its pod
template, as the Job controller would create it. One line per scenario, then
'N passed, N failed'."""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

SCENARIOS = Path("examples/kubernetes/e2e")


def podman(*args, check=True, timeout=120):
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"podman {' '.join(args)}: {result.stderr.strip()}")
    return result


def as_pod(manifest):
    """The Pod the Job controller would create from a Job or CronJob."""
    kind = manifest["kind"]
    if kind == "Pod":
        return manifest
    template = manifest["spec"]["template"] if kind == "Job" else manifest["spec"]["jobTemplate"]["spec"]["template"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": manifest["metadata"]["name"]}, "spec": template["spec"]}


class Pod:
    def __init__(self, file):
        self.pod = as_pod(yaml.safe_load((SCENARIOS / file).read_text()))
        self.name = self.pod["metadata"]["name"]
        self.containers = [c["name"] for c in self.pod["spec"]["containers"]]
        self.played = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        yaml.safe_dump(self.pod, self.played)
        self.played.close()

    def container(self, name):
        return f"{self.name}-{name}"

    def tear_down(self):
        podman("kube", "down", self.played.name, check=False)
        podman("pod", "rm", "--force", "--ignore", self.name, check=False)
        podman("volume", "prune", "--force", check=False)

    def play(self):
        self.tear_down()
        self.started = time.monotonic()
        podman("kube", "play", "--network", "none", self.played.name)

    def wait(self, deadline):
        """True when every container exited before the deadline."""
        names = [self.container(c) for c in self.containers]
        try:
            result = podman("wait", *names, check=False, timeout=deadline)
        except subprocess.TimeoutExpired:
            return False
        return result.returncode == 0

    def wait_for_log(self, container, text, deadline=30):
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if text in self.logs(container):
                return
            time.sleep(0.1)
        raise AssertionError(f"{container}: no log line with {text!r} within {deadline}s")

    def exit_codes(self):
        return {c: int(podman("inspect", self.container(c), "--format", "{{.State.ExitCode}}").stdout) for c in self.containers}

    def logs(self, container):
        result = podman("logs", self.container(container), check=False)
        return result.stdout + result.stderr


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def exits(pod, codes, deadline=60, at_least=0.0):
    pod.play()
    expect(pod.wait(deadline), f"containers still running after {deadline}s")
    elapsed = time.monotonic() - pod.started
    found = pod.exit_codes()
    expect(found == codes, f"exit codes {found}, expected {codes}")
    expect(elapsed >= at_least, f"ended after {elapsed:.1f}s, before {at_least}s")
    return found


def main_succeeds(pod):
    return exits(pod, {"sidecar": 0, "main": 0})


def main_fails(pod):
    return exits(pod, {"sidecar": 0, "main": 3})


def sidecar_ignores_term(pod):
    codes = exits(pod, {"sidecar": 0, "main": 0}, deadline=30, at_least=2.0)
    expect('signal="KILL"' in pod.logs("sidecar"), "no SIGKILL after the grace period")
    return codes


def sentinel_present(pod):
    codes = exits(pod, {"sidecar": 0})
    logs = pod.logs("sidecar")
    expect("sentinel already exists" in logs, f"no restart-safety message: {logs}")
    expect("THE COMMAND RAN" not in logs, "the command ran although the sentinel existed")
    return codes


def lifetime(pod):
    return exits(pod, {"server": 0}, deadline=30, at_least=2.0)


def podman_stop(pod):
    pod.play()
    pod.wait_for_log("sidecar", "child started")
    began = time.monotonic()
    podman("stop", "--time", "20", pod.container("sidecar"))
    took = time.monotonic() - began
    codes = pod.exit_codes()
    expect(codes == {"sidecar": 143}, f"exit codes {codes}, expected the forwarded TERM's 143")
    expect(took < 5, f"podman stop took {took:.1f}s of its 20s: the signal was not forwarded")
    return codes


def podman_stop_control(pod):
    pod.play()
    end = time.monotonic() + 30
    while podman("inspect", pod.container("sidecar"), "--format", "{{.State.Running}}").stdout.strip() != "true":
        expect(time.monotonic() < end, "the control container never ran")
        time.sleep(0.1)
    began = time.monotonic()
    podman("stop", "--time", "3", pod.container("sidecar"))
    took = time.monotonic() - began
    codes = pod.exit_codes()
    expect(codes == {"sidecar": 137}, f"exit codes {codes}, expected SIGKILL's 137")
    expect(took >= 2.9, f"PID 1 without a handler stopped after {took:.1f}s: the control is broken")
    return codes


def quit_url(pod):
    codes = exits(pod, {"proxy": 0, "main": 0}, deadline=60)
    logs = pod.logs("proxy")
    expect("asking the child to quit" in logs, f"no quit request: {logs}")
    # Processes the proxy leaves behind (the CGI that stopped it) may get the stop signal,
    # but only after the proxy itself ended: it was never signalled.
    child_ended = logs.find("child exited") if "child exited" in logs else logs.find("child killed")
    stopping = logs.find("stopping")
    expect(child_ended >= 0, f"the proxy never ended: {logs}")
    expect(stopping == -1 or stopping > child_ended, f"the proxy was signalled before it quit: {logs}")
    expect(time.monotonic() - pod.started < 15, "the proxy waited out the grace period")
    expect("hello" in pod.logs("main"), "the main container did not fetch through the proxy")
    return codes


def quit_injected(pod):
    # The main image is distroless-like: no shell to run anything else with.
    shell = podman("run", "--rm", "--network", "none", "localhost/guillotine-distroless:test", "/bin/sh", "-c", "true", check=False)
    expect(shell.returncode != 0, "the distroless main image has a shell")
    codes = exits(pod, {"proxy": 0, "main": 0}, deadline=60)
    expect("quit requested" in pod.logs("proxy"), f"the proxy did not see the POST: {pod.logs('proxy')}")
    main = pod.logs("main")
    expect("the job's work is done" in main, f"COMMAND did not run: {main}")
    expect("could not ask the sidecar to quit" not in main, f"the quit URL failed: {main}")
    return codes


def no_guillotine_control(pod):
    pod.play()
    expect(not pod.wait(5), "the pod without guillotine completed: the harness cannot see a hang")
    return {"sidecar": "still running at the 5s deadline"}


def timeout_drop_in(pod):
    return exits(pod, {"export": 124}, deadline=30, at_least=1.0)


CASES = [
    ("main succeeds, sidecar stopped", "main-succeeds.yaml", main_succeeds),
    ("main fails, sidecar still stopped", "main-fails.yaml", main_fails),
    ("sidecar ignores TERM, killed after grace", "sidecar-ignores-term.yaml", sidecar_ignores_term),
    ("sentinel already present, command never runs", "sentinel-present.yaml", sentinel_present),
    ("lifetime with --exit-map lifetime=0", "lifetime.yaml", lifetime),
    ("podman stop forwarded by PID 1", "podman-stop.yaml", podman_stop),
    ("control: podman stop of a bare PID 1", "podman-stop-control.yaml", podman_stop_control),
    ("readiness gating and HTTP quit", "quit-url.yaml", quit_url),
    ("injected sidecar quit from a distroless main", "quit-injected.yaml", quit_injected),
    ("control: no guillotine hangs", "no-guillotine-control.yaml", no_guillotine_control),
    ("multicall timeout as PID 1", "timeout-drop-in.yaml", timeout_drop_in),
]


def main():
    passed = failed = 0
    for title, file, scenario in CASES:
        pod = Pod(file)
        began = time.monotonic()
        try:
            codes = scenario(pod)
            passed += 1
            verdict = "ok"
        except Exception as error:  # one failing scenario must not stop the others
            failed += 1
            codes = {}
            verdict = f"FAILED: {error}"
            for container in pod.containers:
                print(f"  --- {container} logs:\n{pod.logs(container)}", file=sys.stderr)
        finally:
            pod.tear_down()
        shown = " ".join(f"{name}={code}" for name, code in codes.items())
        print(f"e2e {title} ({file}): {shown} [{time.monotonic() - began:.1f}s] {verdict}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
