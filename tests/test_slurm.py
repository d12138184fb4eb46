"""The grid and the DFT batch on a real SLURM: a one-node cluster on localhost.

The session fixture installs nothing: where ``munged``, ``slurmctld`` and ``slurmd`` exist
(``bash scripts/setup.sh --slurm``) and we are root, it starts them from a configuration
generated in a temporary folder (own ports, own munge key and socket, no accounting) and
stops exactly those three processes afterwards; elsewhere every test here is skipped with
the reason. The tasks are real ``sbatch --array`` jobs running the repository's code.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import cloudpickle
import pytest
import test_ecd_dft
from test_ecd_dft import _BirchMurnaghanCalculator

from matfusion.cli import main
from matfusion.cluster import Resources
from matfusion.ecd.density import gpaw_available
from matfusion.executors import task_states, wait_for
from matfusion.grid import cell_key, grid_cells, grid_scope
from matfusion.profiles import get_profile
from matfusion.results import ResultsStore

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "scancel", "sinfo")
#: What one test may take at most before it fails instead of hanging CI.
TEST_LIMIT_S = 150
SMOKE = ["--models", "LSTM", "--datasets", "matbench_steels", "--profile", "smoke"]

# the tasks run the fakes below in another process, which cannot import these test modules
cloudpickle.register_pickle_by_value(sys.modules[__name__])
cloudpickle.register_pickle_by_value(test_ecd_dft)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _slurm_conf(root: Path, socket_path: Path) -> str:
    """A one-node cluster: this machine's real CPU layout, memory below what is free."""
    hardware = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True)
    fields = dict(f.split("=", 1) for f in hardware.stdout.split() if "=" in f)
    meminfo = Path("/proc/meminfo").read_text()
    available_mb = int(meminfo.split("MemAvailable:")[1].split()[0]) // 1024
    memory = min(int(fields["RealMemory"]), available_mb) - 1024
    layout = " ".join(
        f"{k}={fields[k]}"
        for k in ("CPUs", "Boards", "SocketsPerBoard", "CoresPerSocket", "ThreadsPerCore")
    )
    return f"""ClusterName=matfusiontest
SlurmctldHost=localhost
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={socket_path}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/slurmctld.pid
SlurmdPidFile={root}/slurmd.pid
SlurmctldLogFile={root}/slurmctld.log
SlurmdLogFile={root}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
KillWait=2
MailProg=/bin/true
NodeName=localhost {layout} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def _stop(processes: list[subprocess.Popen]) -> None:
    """Stop the daemons this fixture started (and only those), newest first."""
    for process in reversed(processes):
        if process.poll() is None:
            process.terminate()
    for process in reversed(processes):
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _cancel_all(env: dict[str, str]) -> None:
    """Cancel every job of the test cluster (all of them are this session's) and wait for
    them to leave the node, so no task outlives the tests."""
    subprocess.run(["scancel", "-u", getpass.getuser()], env=env, capture_output=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        out = subprocess.run(["squeue", "-h"], env=env, capture_output=True, text=True)
        if out.returncode != 0 or not out.stdout.strip():
            return
        time.sleep(0.5)


@pytest.fixture(scope="session")
def slurm() -> Iterator[SimpleNamespace]:
    """A running one-node SLURM (``conf``: its slurm.conf), or a skip saying why not."""
    missing = [name for name in (*DAEMONS, *CLIENTS) if shutil.which(name) is None]
    if missing:
        pytest.skip(f"SLURM is not installed ({', '.join(missing)}): bash scripts/setup.sh --slurm")
    if os.geteuid() != 0:
        pytest.skip("starting slurmctld and slurmd as a test needs root")
    root = Path(tempfile.mkdtemp(prefix="matfusion-slurm-"))
    root.chmod(0o755)  # munged wants its socket folder reachable by everyone
    for sub in ("state", "spool", "munge"):
        (root / sub).mkdir(mode=0o755)
    key = root / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    sock = root / "munge" / "munge.sock"
    conf = root / "slurm.conf"
    conf.write_text(_slurm_conf(root, sock))
    env = {**os.environ, "SLURM_CONF": str(conf)}
    commands = [
        ["munged", "-F", f"--key-file={key}", f"--socket={sock}", f"--pid-file={root}/munged.pid",
         f"--log-file={root}/munged.log", f"--seed-file={root}/munged.seed"],
        ["slurmctld", "-D", "-i"],
        ["slurmd", "-D", "-N", "localhost"],
    ]  # fmt: skip
    processes: list[subprocess.Popen] = []
    try:
        for command in commands:
            log = open(root / f"{command[0]}.out", "w")  # noqa: SIM115 - the daemon's stream
            processes.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
            )
            log.close()
            if command[0] == "munged":
                for _ in range(50):
                    if sock.exists():
                        break
                    time.sleep(0.1)
        deadline = time.monotonic() + 30
        state = ""
        while time.monotonic() < deadline and state != "idle":
            out = subprocess.run(
                ["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True
            )
            state = out.stdout.strip()
            if any(p.poll() is not None for p in processes):
                break
            time.sleep(0.5)
        if state != "idle":
            logs = "; ".join(
                f"{p.name}: {p.read_text().strip().splitlines()[-1:]}"
                for p in sorted(root.glob("*.out"))
                if p.read_text().strip()
            )
            raise RuntimeError(f"the node did not come up (sinfo: {state or 'no answer'}; {logs})")
    except (OSError, RuntimeError, subprocess.CalledProcessError) as err:
        _stop(processes)
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"SLURM could not start here: {err}")
    try:
        yield SimpleNamespace(conf=conf, root=root, env=env)
    finally:
        _cancel_all(env)
        _stop(processes)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture()
def cluster(slurm, tmp_path, monkeypatch) -> Iterator[SimpleNamespace]:
    """This test's view of the cluster: SLURM_CONF, its own results store, jobs folder and
    cluster file (one CPU and 500 MB a task), a time limit, and its jobs cancelled after."""
    monkeypatch.setenv("SLURM_CONF", str(slurm.conf))
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    toml = tmp_path / "matfusion.toml"
    toml.write_text('[defaults]\ncpus = 1\nmem = "500M"\ntime = 10\nmax_running = 2\n')

    def too_slow(signum, frame):
        raise TimeoutError(f"test_slurm: a test ran past {TEST_LIMIT_S} s")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(TEST_LIMIT_S)
    try:
        yield SimpleNamespace(
            toml=toml, jobs=tmp_path / "jobs", results=tmp_path / "results", env=slurm.env
        )
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        _cancel_all(slurm.env)


def _slurm_args(cluster: SimpleNamespace) -> list[str]:
    return ["--executor", "slurm", "--cluster", str(cluster.toml), "--jobs-dir", str(cluster.jobs)]


def test_smoke_grid_through_slurm_lands_the_records_a_local_run_makes(
    cluster, tmp_path, monkeypatch, capsys
) -> None:
    grid = ["grid", *SMOKE, "--folds", "0-2"]
    assert main([*grid, *_slurm_args(cluster), "--wait"]) == 0
    out = capsys.readouterr().out
    assert "3 cells: 0 stored, 3 submitted as job" in out
    assert out.strip().splitlines()[-1] == (
        "3 cells: 3 done, 0 pending, 0 running, 0 failed, 0 unsubmitted (profile smoke)"
    )
    remote = ResultsStore(cluster.results).records("train")
    monkeypatch.setenv("MATFUSION_RESULTS", str(tmp_path / "local"))
    assert main([*grid, "--quiet"]) == 0
    local = ResultsStore(tmp_path / "local").records("train")

    def configs(records):
        return sorted(json.dumps(r["config"], sort_keys=True) for r in records)

    assert len(remote) == 3 and configs(remote) == configs(local)
    # the SLURM tasks ran with the environment they were given: one thread each
    assert {r["provenance"]["hardware"]["torch_threads"] for r in remote} == {1}


def _running_task(env: dict[str, str], suffix: str) -> str:
    """The id of the array task ending in ``suffix`` once SLURM runs it."""
    while True:
        out = subprocess.run(
            ["squeue", "-h", "-r", "-o", "%i %T"], env=env, capture_output=True, text=True
        )
        for line in out.stdout.splitlines():
            job, state = line.split()
            if job.endswith(suffix) and state == "RUNNING":
                return job
        time.sleep(0.1)


def test_a_cancelled_task_is_reported_failed_and_resubmitted_by_the_same_command(
    cluster, capsys
) -> None:
    grid = ["grid", *SMOKE, "--folds", "3-4"]
    assert main([*grid, *_slurm_args(cluster)]) == 0
    assert "2 cells: 0 stored, 2 submitted as job" in capsys.readouterr().out
    killed = _running_task(cluster.env, "_1")
    subprocess.run(["scancel", killed], env=cluster.env, check=True)
    smoke = get_profile("smoke")
    keys = [cell_key(c, smoke, None) for c in grid_cells(["LSTM"], ["matbench_steels"], [3, 4])]
    scope = grid_scope(ResultsStore(cluster.results))
    wait_for(keys, scope=scope, folder=cluster.jobs.resolve(), poll_s=1, timeout_s=100)
    assert main([*grid, "--status", "--jobs-dir", str(cluster.jobs)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "done        LSTM / matbench_steels fold 3"
    assert lines[1] == (
        f"failed      LSTM / matbench_steels fold 4  (job {killed}: ended as CANCELLED; "
        f"log {cluster.jobs.resolve()}/{killed}_0_log.err)"
    )
    assert lines[2] == (
        "2 cells: 1 done, 0 pending, 0 running, 1 failed, 0 unsubmitted (profile smoke)"
    )
    assert main([*grid, *_slurm_args(cluster), "--wait"]) == 0  # the same command again
    out = capsys.readouterr().out
    assert "2 cells: 1 stored, 1 submitted as job" in out
    assert "2 cells: 2 done, 0 pending, 0 running, 0 failed" in out
    assert len(ResultsStore(cluster.results).records("train")) == 2


def _moduli_on_a_fake_curve(structure, label, settings=None, progress=False, gpaw_log=None):
    """compute_moduli in the SLURM task with GPAW's calculator replaced by test_ecd_dft's
    Birch-Murnaghan curve (minimum at the input volume, K0 = 100 GPa, a metal: no C_ij);
    NaCl fails as a GPAW run can, so the failures file is exercised too."""
    import ase.dft.bandgap

    import matfusion.ecd.dft as dft
    from matfusion.ecd.density import DensityError

    if structure.composition.reduced_formula == "NaCl":
        raise DensityError(f"{label}: the SCF did not converge (E-V 2)")
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    volume = SpacegroupAnalyzer(structure, symprec=0.1).get_primitive_standard_structure().volume
    dft.gpaw_available = lambda: True
    dft.gpaw_unsupported = lambda structures: []
    ase.dft.bandgap.bandgap = lambda calc, output=None: (0.0, None, None)
    dft._calculator = lambda settings, kd, txt=None: _BirchMurnaghanCalculator(volume)
    return dft.compute_moduli(structure, label=label, settings=settings, gpaw_log=gpaw_log)


@pytest.mark.skipif(
    not gpaw_available(), reason="compute_moduli imports GPAW's error types (the dft extra)"
)
def test_a_dft_batch_through_slurm_merges_its_rows(cluster, tmp_path, capsys) -> None:
    import matfusion.ecd.dft as dft

    csv = tmp_path / "moduli.csv"
    table = dft.run_batch(
        ("NaCl", "Al"),
        0,
        path=csv,
        progress=False,
        executor="slurm",
        resources=Resources(cpus=1, mem_mb=500, time_min=10),
        jobs_dir=cluster.jobs,
        wait=True,
        poll_s=1,
        compute=_moduli_on_a_fake_curve,
    )
    assert "2 cells: 0 stored or failed before, 2 submitted" in capsys.readouterr().out
    assert table["id"].tolist() == ["mp-134"]  # Al, from its row file
    assert table["K_eos_GPa"].iloc[0] == pytest.approx(100.0, rel=1e-3)
    assert dft.load_failures(csv)["id"].tolist() == ["mp-22862"]  # NaCl's error, stored
    rows = sorted(p.name for p in dft.rows_folder(csv).glob("*.json"))
    assert rows == ["mp-134.json", "mp-22862.json"]  # one file per task
    args = ["dft", "--csv", str(csv), "--check", "NaCl,Al", "--jobs-dir", str(cluster.jobs)]
    assert main([*args, "--status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0].startswith("failed      mp-22862 NaCl  (job ") and "did not converge" in lines[0]
    )
    assert lines[1].startswith("done        mp-134 Al")
    assert main([*args, *_slurm_args(cluster)[:4]]) == 0  # nothing left: nothing submitted
    out = capsys.readouterr().out
    assert "mp-22862: failed before, left out" in out and "0 submitted" in out
    assert (
        task_states(["mp-134"], scope=dft.dft_scope(csv), folder=cluster.jobs.resolve())[
            "mp-134"
        ].state
        == "finished"
    )
