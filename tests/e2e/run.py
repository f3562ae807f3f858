"""Plays each e2e scenario with `podman kube play`, waits with a hard deadline, reads every
container's exit code, asserts, and tears everything down (volumes included, so a stale
sentinel never leaks into the next scenario; a persistentVolumeClaim's named volume too,
before the play and after the scenario). A Job or CronJob is played as its pod
template, as the Job controller would create it. One line per scenario, then
'N passed, N failed'.

The PostgreSQL scenarios need an image built from Debian packages (tests/e2e/pg-image,
cached between runs); building it is a step of its own with its own line, and a failed
build fails every scenario that needs it, with the build log's tail: never a skip.

Arguments, if any, select the scenarios whose manifest name contains one of them."""

import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import yaml

SCENARIOS = Path("examples/kubernetes/e2e")
# guillotine's log line when the main side ended without writing the sentinel.
ABANDONED = "the main container ended without writing the sentinel"


def podman(*args, check=True, timeout=120, stdin=None):
    result = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=timeout, input=stdin)
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
        self.file = SCENARIOS / file
        self.load(yaml.safe_load(self.file.read_text()))

    def load(self, manifest):
        self.pod = as_pod(manifest)
        self.name = self.pod["metadata"]["name"]
        self.containers = [c["name"] for c in self.pod["spec"]["containers"]]
        self.played = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        yaml.safe_dump(self.pod, self.played)
        self.played.close()

    def inject(self, *options):
        """From now on, the pod as `kubectl-guillotine inject` (built beside guillotine by
        .ci/build-static) wires it with OPTIONS, with guillotine from the e2e image."""
        wired = subprocess.run(
            ["target/static/kubectl-guillotine", "inject", "--image", "localhost/guillotine-e2e:test", *options, "-f", str(self.file)],
            capture_output=True, text=True, timeout=30)
        expect(wired.returncode == 0, f"kubectl-guillotine inject: exit {wired.returncode}: {wired.stderr.strip()}")
        self.load(yaml.safe_load(wired.stdout))

    def container(self, name):
        return f"{self.name}-{name}"

    def claims(self):
        """The names of the pod's persistentVolumeClaims: podman kube play makes each a
        named volume of that name, which outlives the pod."""
        return [v["persistentVolumeClaim"]["claimName"] for v in self.pod["spec"].get("volumes", []) if "persistentVolumeClaim" in v]

    def tear_down(self):
        podman("kube", "down", self.played.name, check=False)
        podman("pod", "rm", "--force", "--ignore", self.name, check=False)
        for claim in self.claims():
            podman("volume", "rm", "--force", claim, check=False)
        podman("volume", "prune", "--force", check=False)

    def play(self):
        self.tear_down()
        self.started = time.monotonic()
        podman("kube", "play", "--network", "none", self.played.name)

    def wait(self, deadline, *containers):
        """True when every container (or every one of CONTAINERS) exited before the deadline."""
        names = [self.container(c) for c in containers or self.containers]
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

    def volume_path(self, volume, path):
        """PATH on the pod's emptyDir VOLUME, as the host sees it after the containers ended
        (podman 4.3 keeps an emptyDir as a named volume until teardown)."""
        mounts = podman("inspect", self.container(self.containers[0]), "--format",
                        "{{range .Mounts}}{{.Name}}={{.Source}}\n{{end}}").stdout.split()
        wanted = [m.split("=", 1)[1] for m in mounts if m.split("=", 1)[0].endswith(volume)]
        expect(len(wanted) == 1, f"no single volume named like {volume!r} in {mounts}")
        return Path(wanted[0]) / path

    def volume_file(self, volume, path):
        """The content of PATH on the pod's emptyDir VOLUME (see volume_path)."""
        return self.volume_path(volume, path).read_text()

    def kill(self, container):
        """SIGKILLs CONTAINER's PID 1 (the kernel then kills the rest of its PID namespace),
        as an OOM kill of the whole container does on cgroup v2. Remembers when (wall clock,
        taken just before `podman kill` runs, in self.killed_at) and returns time.monotonic()
        once it was sent."""
        self.killed_at = time.time()
        podman("kill", "--signal", "KILL", self.container(container))
        return time.monotonic()

    def abandoned_after_kill(self, container):
        """How many milliseconds after `podman kill` began CONTAINER's guillotine logged that
        the main side was abandoned (its log's UTC timestamp; one host clock for all)."""
        stamp = logged_at(self.logs(container), ABANDONED)
        expect(stamp, f"{container} never logged {ABANDONED!r}")
        at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
        return f"{(at - self.killed_at) * 1000:.0f} ms"


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def exits(pod, codes, deadline=60, at_least=0.0):
    """Plays the pod and expects every container to end with CODES within DEADLINE seconds
    of the play (init containers and pulling nothing included), and not before AT_LEAST."""
    pod.play()
    remaining = deadline - (time.monotonic() - pod.started)
    expect(remaining > 0 and pod.wait(remaining), f"containers still running {deadline}s after the play")
    elapsed = pod.elapsed = time.monotonic() - pod.started
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


def term_delay(pod):
    """The kubelet's TERM to every container at once: the proxy outlives the main
    container's drain and serves its last request, then stops."""
    pod.play()
    for container in ("proxy", "main"):
        pod.wait_for_log(container, "child started")
    podman("pod", "stop", "--time", "30", pod.name, timeout=60)
    codes = pod.exit_codes()
    expect(codes == {"proxy": 0, "main": 0}, f"exit codes {codes}, expected 0 and 0")
    proxy = pod.logs("proxy")
    expect("the child runs on until the main side is done" in proxy, f"no term delay: {proxy}")
    last = pod.volume_file("lifecycle", "last")
    expect(last == "served\n", f"the main container's last request after TERM got {last!r}")
    return codes


def no_guillotine_control(pod):
    pod.play()
    expect(not pod.wait(5), "the pod without guillotine completed: the harness cannot see a hang")
    return {"sidecar": "still running at the 5s deadline"}


def inject_completes(pod):
    """The plain pod (the one the control plays as it is), wired by kubectl-guillotine,
    completes."""
    pod.inject()
    return exits(pod, {"sidecar": 0, "main": 0}, deadline=60)


def timeout_drop_in(pod):
    return exits(pod, {"export": 124}, deadline=30, at_least=1.0)


def killed(pod, victim, after, codes, deadline):
    """Plays the pod, waits until a container logged a text (AFTER: container, text),
    SIGKILLs VICTIM and expects every container to end with CODES within DEADLINE seconds of
    the play. Returns the codes and how long after the kill the pod ended."""
    pod.play()
    pod.wait_for_log(*after, deadline=deadline)
    killed_at = pod.kill(victim)
    remaining = deadline - (time.monotonic() - pod.started)
    expect(remaining > 0 and pod.wait(remaining), f"containers still running {deadline}s after the play, with {victim} killed")
    ended = time.monotonic() - killed_at
    found = pod.exit_codes()
    expect(found == codes, f"exit codes {found}, expected {codes}")
    return {**found, "ended": f"{ended:.1f}s after the kill"}


def main_killed(pod):
    """The main container SIGKILLed: its dead-man's lock stops the sidecar (abandoned=3)."""
    codes = killed(pod, "main", ("main", "working"), {"sidecar": 3, "main": 137}, deadline=30)
    sidecar = pod.logs("sidecar")
    expect(ABANDONED in sidecar and 'cause="abandoned"' in sidecar, f"the sidecar did not stop as abandoned: {sidecar}")
    expect(not pod.volume_path("lifecycle", "done").exists(), "a sentinel was written by a killed main container")
    return {**codes, "abandoned seen": pod.abandoned_after_kill("sidecar") + " after the kill"}


def order(pod):
    """The lines of /lifecycle/order (each 'WHO WHAT MICROSECONDS', appended by the
    containers' commands), checked to be in time order, as a list of ('WHO WHAT', µs)."""
    lines = [line.rsplit(" ", 1) for line in pod.volume_file("lifecycle", "order").splitlines()]
    events = [(what, int(at)) for what, at in lines]
    expect(all(a[1] <= b[1] for a, b in zip(events, events[1:])), f"order lines out of time order: {events}")
    return events


def before(events, first, then):
    """FIRST happened, then THEN, according to EVENTS; returns the gap in milliseconds."""
    at = dict(events)
    expect(first in at and then in at, f"no {first!r} or no {then!r} in {events}")
    expect(at[first] < at[then], f"{then!r} before {first!r}: {events}")
    return (at[then] - at[first]) / 1000


def chain(pod):
    """Three links stopping in order: app, then shipper (a second to flush), then proxy
    only after the shipper's child ended and its guillotine wrote /lifecycle/shipper."""
    codes = exits(pod, {"proxy": 0, "shipper": 0, "app": 0}, deadline=30)
    events = order(pod)
    before(events, "app exited", "shipper stopping")
    before(events, "shipper stopping", "shipper exited")
    gap = before(events, "shipper exited", "proxy stopping")
    # The same in guillotine's own logs: the proxy was signalled after the shipper's
    # guillotine saw its child end (both UTC timestamps from the host's one clock).
    shipper_child, proxy_stop = logged_at(pod.logs("shipper"), "child exited"), logged_at(pod.logs("proxy"), "stopping")
    expect(shipper_child and proxy_stop and proxy_stop > shipper_child,
           f"the proxy's stop at {proxy_stop}, the shipper's child ended at {shipper_child}")
    expect(pod.volume_file("lifecycle", "app").strip() == "0", "the app's sentinel does not hold 0")
    expect(pod.volume_file("lifecycle", "shipper").strip() == "0", "the shipper's --done file does not hold 0")
    return {**codes, "proxy stopped": f"{gap:.0f} ms after the shipper exited"}


def chain_link_killed(pod):
    """The shipper SIGKILLed while the app works: the proxy stops at once (abandoned=3),
    while the app still works (it ends only once it sees the proxy's stop line)."""
    codes = killed(pod, "shipper", ("app", "working"), {"proxy": 3, "shipper": 137, "app": 0}, deadline=30)
    proxy = pod.logs("proxy")
    expect(ABANDONED in proxy and 'cause="abandoned"' in proxy, f"the proxy did not stop as abandoned: {proxy}")
    events = order(pod)
    gap = before(events, "proxy stopping", "app exited")
    expect(not any(what.startswith("shipper stopping") for what, _ in events), f"the killed shipper was signalled: {events}")
    expect(not pod.volume_path("lifecycle", "shipper").exists(), "the killed shipper's --done file was written")
    expect(pod.volume_file("lifecycle", "app").strip() == "0", "the app's sentinel does not hold 0")
    return {**codes, "abandoned seen": pod.abandoned_after_kill("proxy") + " after the kill",
            "proxy stopped": f"{gap:.0f} ms before the app ended"}


class PostgresImage:
    """localhost/guillotine-pg:test, built by tests/e2e/pg-image (mmdebstrap from the
    machine's apt sources; the rootfs is cached). The build is a step with its own line;
    the scenarios that need the image fail, naming the step, if it failed."""

    log = Path("target/e2e-pg-image.log")
    error = "not built: the PostgreSQL image step did not run"

    @classmethod
    def build(cls):
        cls.log.parent.mkdir(parents=True, exist_ok=True)
        cls.error = "the PostgreSQL image step failed (see its line)"
        with cls.log.open("w") as log:
            try:
                result = subprocess.run(["bash", "tests/e2e/pg-image"], stdout=log, stderr=subprocess.STDOUT, timeout=600)
                status = result.returncode
            except subprocess.TimeoutExpired:
                status = "timed out after 600s"
        text = cls.log.read_text(errors="replace")
        if status != 0:
            tail = "\n".join(text.splitlines()[-30:])
            print(f"  --- tests/e2e/pg-image (exit {status}), last lines of {cls.log}:\n{tail}", file=sys.stderr)
            last = text.strip().splitlines()[-1] if text.strip() else "no output"
            raise AssertionError(f"tests/e2e/pg-image: exit {status}: {last}")
        cls.error = None
        # Its own account of what it did: cached or built, and how long each part took.
        built = re.search(r"rootfs built in (\d+s \(\d+ MiB\))", text)
        imported = re.search(r"imported \S+ in (\d+s)", text)
        return {
            "rootfs": f"built in {built.group(1)}" if built else "cached",
            "import": imported.group(1) if imported else "already in podman",
        }

    @classmethod
    def require(cls):
        expect(cls.error is None, cls.error)


def postgres_image(_pod):
    return PostgresImage.build()


def logged_at(logs, message):
    """The timestamp of guillotine's first log line with MESSAGE (sortable text), or None."""
    found = re.search(r"^(\d{4}-\d\d-\d\dT[\d:.]+Z) +\w+ +" + re.escape(message), logs, re.M)
    return found.group(1) if found else None


def postgres_job(pod, main_code):
    """The PostgreSQL + pgbouncer Job pod: both sidecars end 0 through the sentinel and the
    main container with MAIN_CODE, well within 15 s (pgbouncer's default login retry alone
    would take 15 s); postgres stopped by its fast shutdown, cleanly; pgbouncer never
    had to retry a failed server login. Returns the exit codes and psql's output."""
    PostgresImage.require()
    codes = exits(pod, {"database": 0, "pgbouncer": 0, "main": main_code}, deadline=15)
    database = pod.logs("database")
    expect("received fast shutdown request" in database, f"postgres was not stopped by INT's fast shutdown: {database}")
    expect("database system is shut down" in database, f"postgres did not shut down cleanly: {database}")
    pgbouncer = pod.logs("pgbouncer")
    expect("server login failed" not in pgbouncer and "server login has been failing" not in pgbouncer,
           f"pgbouncer reached postgres before it accepted logins: the gate did not mean ready: {pgbouncer}")
    # The gate held: psql started after postgres' guillotine found it ready (both log
    # lines carry guillotine's UTC timestamps; the containers share the host's clock).
    ready, started = logged_at(database, "child is ready"), logged_at(pod.logs("main"), "child started")
    expect(ready and started and started >= ready, f"psql started at {started}, postgres was ready at {ready}")
    sentinel = pod.volume_file("lifecycle", "done")
    expect(sentinel.strip() == str(main_code), f"the sentinel holds {sentinel!r}, expected {main_code}")
    return {**codes, "sentinel": sentinel.strip(), "ended": f"{pod.elapsed:.1f}s after the play"}, pod.logs("main")


def postgres_succeeds(pod):
    codes, psql = postgres_job(pod, 0)
    expect("rows: one,two,three via server port 5432" in psql, f"the rows were not read back through pgbouncer: {psql}")
    return codes


def postgres_fails(pod):
    codes, psql = postgres_job(pod, 1)
    expect("relation \"no_such_table\" does not exist" in psql, f"psql did not fail on the bad SQL: {psql}")
    expect("rows: one" not in psql, f"psql went on after the error (no ON_ERROR_STOP): {psql}")
    return codes


def postgres_main_killed(pod):
    """psql SIGKILLed mid-query (its pg_sleep shown in postgres' statement log): both
    sidecars stop through the dead-man's lock (abandoned, status 0), postgres by its fast
    shutdown, cleanly, exiting 0 itself; no sentinel."""
    PostgresImage.require()
    codes = killed(pod, "main", ("database", "statement: SELECT pg_sleep(600)"),
                   {"database": 0, "pgbouncer": 0, "main": 137}, deadline=20)
    for sidecar in ("database", "pgbouncer"):
        logs = pod.logs(sidecar)
        expect(ABANDONED in logs and 'cause="abandoned"' in logs, f"{sidecar} did not stop as abandoned: {logs}")
    database = pod.logs("database")
    expect("received fast shutdown request" in database, f"postgres was not stopped by INT's fast shutdown: {database}")
    expect("database system is shut down" in database, f"postgres did not shut down cleanly: {database}")
    expect(re.search(r"child exited pid=\d+ code=0$", database, re.M), f"postgres itself did not exit 0: {database}")
    expect(not pod.volume_path("lifecycle", "done").exists(), "a sentinel was written by a killed main container")
    seen = {sidecar: pod.abandoned_after_kill(sidecar) for sidecar in ("database", "pgbouncer")}
    return {**codes, "abandoned seen": "/".join(seen.values()) + " after the kill"}


# postgres' start-up lines after a stop that wrote no shutdown checkpoint (SIGKILL, a
# crash), when the next start replays the WAL: "database system was interrupted; last known
# up at" after a SIGKILL while it ran, "database system shutdown was interrupted; …" after
# one during its shutdown, then both of the others.
CRASH_RECOVERY = ("was interrupted", "not properly shut down", "automatic recovery in progress")


def deleted_mid_query(pod):
    """Plays the PostgreSQL pod with its cluster on a claim, waits until psql's pg_sleep runs
    (its rows committed before it) and deletes the pod as the kubelet does: `podman pod stop
    --time GRACE`, GRACE the manifest's terminationGracePeriodSeconds (TERM to every
    container at once, SIGKILL after GRACE). Sets pod.stopped_at (wall clock, just before
    the stop) and returns the exit codes, how long the stop took and GRACE."""
    PostgresImage.require()
    expect(len(pod.claims()) == 1, f"the pod has claims {pod.claims()}, not the one of its cluster")
    pod.play()
    pod.wait_for_log("database", "statement: SELECT pg_sleep(600)", deadline=30)
    grace = pod.pod["spec"]["terminationGracePeriodSeconds"]
    pod.stopped_at = time.time()
    began = time.monotonic()
    podman("pod", "stop", "--time", str(grace), pod.name, timeout=grace + 30)
    return pod.exit_codes(), time.monotonic() - began, grace


def finished_at(pod, container):
    """When CONTAINER ended (wall clock, seconds)."""
    return int(podman("inspect", pod.container(container), "--format", "{{.State.FinishedAt.UnixNano}}").stdout) / 1e9


def postgres_logged_at(logs, message):
    """When postgres first logged MESSAGE (its own UTC timestamps), or None."""
    found = re.search(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) UTC \[\d+\] \w+: +" + re.escape(message), logs, re.M)
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=timezone.utc).timestamp() if found else None


def restarted(pod):
    """postgres started again on the deleted pod's claim, in a container of its own, and
    asked for the rows psql committed. Returns its output, log included. The deleted pod's
    stopped containers still hold the volume, so no prune can take it meanwhile.

    postgres runs as the container's PID 1, in single-user mode (its query on stdin, its
    log on stderr, where it reports a clean start as a NOTICE, hence log_min_messages; it
    writes a shutdown checkpoint at the end of its input). PID 1, because after a SIGKILL
    the data directory keeps a stale postmaster.pid, and a postgres that is not PID 1 may
    find that PID alive in its fresh PID namespace (a supervisor's thread, a readiness
    probe) and refuse to start. Seen under guillotine: "lock file "postmaster.pid" already
    exists ... Is another postmaster (PID 7) running"."""
    result = podman("run", "--rm", "--interactive", "--network", "none", "--user", "999:999",
                    "--volume", f"{pod.claims()[0]}:/pgdata", "localhost/guillotine-pg:test",
                    "postgres", "--single", "-D", "/pgdata/cluster", "-c", "log_min_messages=notice", "postgres", check=False, timeout=60,
                    stdin="SELECT 'rows: ' || string_agg(word, ',' ORDER BY n) FROM job_rows\n")
    output = result.stdout + result.stderr
    expect(result.returncode == 0, f"the restarted postgres exited {result.returncode}: {output}")
    expect('"rows: one,two,three"' in output, f"the committed rows were not read back after the restart: {output}")
    return output


def postgres_pod_deleted(pod):
    """The pod deleted while psql sleeps in a query (psql ignores TERM: it ends only when its
    database goes). Both sidecars run their own stop sequence on TERM (--on-term stop):
    postgres gets INT, its fast shutdown, and exits 0 itself; every container ends within
    seconds, nothing SIGKILLed. Then postgres on the same claim starts without crash
    recovery and the rows are there."""
    codes, took, grace = deleted_mid_query(pod)
    database, pgbouncer = pod.logs("database"), pod.logs("pgbouncer")
    # The sentinel comes only after postgres ended psql's backend, which only the database
    # container's own TERM can start: its cause is always 'terminated'. pgbouncer's TERM may
    # come after the sentinel (the containers are signalled in parallel): then its cause is
    # the sentinel, status 0.
    pgbouncer_cause = re.search(r'exiting status=\d+ cause="([a-z-]+)"', pgbouncer)
    pgbouncer_cause = pgbouncer_cause.group(1) if pgbouncer_cause else None
    expect(pgbouncer_cause in ("terminated", "sentinel"), f"pgbouncer did not stop on its TERM or the sentinel: {pgbouncer}")
    expected = {"database": 143, "pgbouncer": 143 if pgbouncer_cause == "terminated" else 0, "main": 2}
    expect(codes == expected, f"exit codes {codes}, expected {expected} (pgbouncer's cause: {pgbouncer_cause})")
    expect(took < 10, f"podman pod stop took {took:.1f}s of its {grace}s: a container waited for the SIGKILL")
    for container in pod.containers:
        logs = pod.logs(container)
        expect("the grace period ran out" not in logs and 'signal="KILL"' not in logs, f"{container}: guillotine needed SIGKILL: {logs}")
    expect('stopping signal="INT" cause="terminated"' in database, f"postgres' guillotine did not stop it on its own TERM: {database}")
    expect('stopping signal="INT"' in pgbouncer, f"pgbouncer was not stopped by INT, its safe shutdown: {pgbouncer}")
    expect("received fast shutdown request" in database, f"postgres was not stopped by INT's fast shutdown: {database}")
    expect("received smart shutdown request" not in database, f"postgres got TERM, its smart shutdown: {database}")
    expect("database system is shut down" in database, f"postgres did not shut down cleanly: {database}")
    expect(re.search(r"child exited pid=\d+ code=0$", database, re.M), f"postgres itself did not exit 0: {database}")
    sentinel = pod.volume_file("lifecycle", "done")
    expect(sentinel.strip() == "2", f"the sentinel holds {sentinel!r}, expected psql's 2 (its server went away)")

    checkpoint = postgres_logged_at(database, "checkpoint starting: shutdown")
    shut_down = postgres_logged_at(database, "database system is shut down")
    restart = restarted(pod)
    # The clean state the restart finds is this shutdown's (postgres prints the control
    # file's time, to the second), not the one initdb left.
    clean = re.search(r"database system was shut down at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC", restart)
    expect(clean, f"the restarted postgres did not find a clean shutdown: {restart}")
    at = datetime.strptime(clean.group(1), "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    expect(checkpoint and int(checkpoint) <= at <= shut_down,
           f"the restart found a shutdown at {clean.group(1)}, not the deleted pod's ({checkpoint} to {shut_down}): {restart}")
    recovered = [line for line in CRASH_RECOVERY if line in restart]
    expect(not recovered, f"the restarted postgres ran crash recovery ({recovered}): {restart}")
    return {**codes, "pgbouncer's cause": pgbouncer_cause, "sentinel": sentinel.strip(), "pod stop": f"{took:.1f}s of {grace}s",
            "restart": "clean, rows read back"}


def postgres_pod_deleted_control(pod):
    """The same pod with the database container under guillotine's defaults (TERM forwarded,
    TERM as the stop signal): postgres' smart shutdown waits for pgbouncer's connection,
    pgbouncer for the query, psql for its answer: no container ends before the SIGKILL at
    the grace. postgres, killed, wrote no shutdown checkpoint: the next start runs crash
    recovery (the rows come back from the WAL)."""
    codes, took, grace = deleted_mid_query(pod)
    ended = {container: round(finished_at(pod, container) - pod.stopped_at, 1) for container in pod.containers}
    expect(all(at >= grace for at in ended.values()),
           f"containers ended {ended} seconds after the stop began, before its {grace}s grace: the control is broken")
    # Once one container is SIGKILLed the others may end of it first (psql 2 when its server
    # goes, pgbouncer 143 when its query does); postgres can only be killed.
    expect(codes["database"] == 137, f"exit codes {codes}, expected SIGKILL's 137 from the database")
    database = pod.logs("database")
    expect('forwarding signal signal="TERM"' in database, f"postgres' guillotine did not forward TERM: {database}")
    expect("received smart shutdown request" in database, f"postgres did not get TERM's smart shutdown: {database}")
    expect("received fast shutdown request" not in database, f"postgres got a fast shutdown: the control is broken: {database}")
    restart = restarted(pod)
    recovered = [line for line in CRASH_RECOVERY if line in restart]
    expect(len(recovered) == len(CRASH_RECOVERY), f"the restarted postgres did not run crash recovery (saw {recovered}): {restart}")
    return {**codes, "pod stop": f"{took:.1f}s of {grace}s", "restart": "crash recovery, rows read back"}


def postgres_injected(pod):
    """The plain PostgreSQL Job wired by kubectl-guillotine inject: as postgres_succeeds."""
    pod.inject("--stop-signal", "INT", "--grace", "10s", "--wait-timeout", "30s",
               "--wait-for", "database=exec:pg_isready -h 127.0.0.1 -p 5432",
               "--wait-for", "pgbouncer=exec:pg_isready -h 127.0.0.1 -p 6432")
    return postgres_succeeds(pod)


IMAGE_STEP = "tests/e2e/pg-image"  # a step of CASES that plays no manifest

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
    ("pod deleted: the proxy outlives the main container's drain (--on-term stop --term-delay)", "term-delay.yaml", term_delay),
    ("kubectl-guillotine inject wires a plain Job: it completes", "inject-plain.yaml", inject_completes),
    ("control: the same plain Job, not injected, hangs", "inject-plain.yaml", no_guillotine_control),
    ("main SIGKILLed: its dead-man's lock stops the sidecar", "main-killed.yaml", main_killed),
    ("a chain of three stops in order", "chain.yaml", chain),
    ("a chain's middle link SIGKILLed: the last stops at once", "chain-link-killed.yaml", chain_link_killed),
    # The PostgreSQL family: the image step first.
    ("PostgreSQL image from Debian packages", IMAGE_STEP, postgres_image),
    ("PostgreSQL + pgbouncer Job succeeds", "postgres-succeeds.yaml", postgres_succeeds),
    ("PostgreSQL + pgbouncer Job fails on bad SQL", "postgres-fails.yaml", postgres_fails),
    ("PostgreSQL + pgbouncer: psql SIGKILLed mid-query, both sidecars stop", "postgres-main-killed.yaml", postgres_main_killed),
    ("PostgreSQL + pgbouncer pod deleted mid-query (--on-term stop): clean, no crash recovery on restart", "postgres-pod-deleted.yaml", postgres_pod_deleted),
    ("control: the same pod, its database under guillotine's defaults (TERM forwarded): SIGKILL at the grace, crash recovery", "postgres-pod-deleted-control.yaml",
     postgres_pod_deleted_control),
    ("PostgreSQL + pgbouncer plain Job wired by kubectl-guillotine inject succeeds", "postgres-plain.yaml", postgres_injected),
]


def chosen(words):
    """The cases whose manifest name contains one of WORDS (all without any), with the image
    step wherever a chosen scenario needs the PostgreSQL image."""
    if not words:
        return CASES
    needs_image = any(file.startswith("postgres-") and any(word in file for word in words) for _, file, _ in CASES)
    return [case for case in CASES if any(word in case[1] for word in words) or (case[1] == IMAGE_STEP and needs_image)]


def main(words):
    passed = failed = 0
    for title, file, scenario in chosen(words):
        pod = Pod(file) if file != IMAGE_STEP else None
        began = time.monotonic()
        try:
            codes = scenario(pod)
            passed += 1
            verdict = "ok"
        except Exception as error:  # one failing scenario must not stop the others
            failed += 1
            codes = {}
            verdict = f"FAILED: {error}"
            # Only a pod that was played has logs (podman removes init containers once run).
            for container in pod.containers if pod and hasattr(pod, "started") else []:
                print(f"  --- {container} logs:\n{pod.logs(container)}", file=sys.stderr)
        finally:
            if pod:
                pod.tear_down()
        shown = " ".join(f"{name}={code}" for name, code in codes.items())
        print(f"e2e {title} ({file}): {shown} [{time.monotonic() - began:.1f}s] {verdict}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
