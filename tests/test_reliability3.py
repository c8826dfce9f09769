"""Issue 24 (classes 1, 2, 3, 4, 7): one writer per output directory, workers that die with
their parent, a completion record written last, one-line full-disk errors, Ctrl-C always
honoured. Each test fails when its fix is reverted."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import load_script
from test_reliability import trained_demo_sweep
from test_sweep import sweep_config
from test_train import discs, tiny

import gahr
from gahr.cli import main
from gahr.config import load_config
from gahr.errors import BusyError, CheckpointError
from gahr.locking import LOCK_NAME, claim, claim_file, holding, is_held
from gahr.rundir import RunDir
from gahr.train import run_sweep, train

SRC = str(Path(gahr.__file__).resolve().parents[1])  # the sources under test, for subprocesses
TRAIN = ["--set", "model.arch=bfcnn", "--set", "model.num_kernels=4", "--set",
         "model.num_layers=2", "--set", "train.epochs=1", "--set", "train.samples_per_epoch=16",
         "--set", "train.batch_size=8", "--set", "train.eval_sigmas=[0.2]", "--set",
         "train.eval_images=4", "--set", "data.num_images=40", "--set", "data.size=12",
         "--set", "data.n_test=4", "--set", "train.device=cpu", "--set", "train.threads=1",
         "--quiet"]


def python(code: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def one_line_error(capsys, argv) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err
    return err


# ------------------------------------------------------------ 1. two writers, one directory


@pytest.fixture
def holder(tmp_path):
    """A process that holds the lock of tmp_path/out as `gahr.locking.claim` takes it (flock on
    the lock file, its pid and command recorded there), until killed; plain Python, so that it
    starts in a moment."""
    out = tmp_path / "out"
    out.mkdir()
    proc = python(f"""
        import fcntl, json, os, time
        fd = os.open({str(out / LOCK_NAME)!r}, os.O_RDWR | os.O_CREAT, 0o666)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(fd, json.dumps({{"pid": os.getpid(), "command": "gahr train"}}).encode())
        print("holding", flush=True)
        time.sleep(120)
    """)
    assert proc.stdout.readline().strip() == "holding", proc.stderr.read()
    yield proc
    proc.kill()
    proc.wait()


@pytest.mark.slow
def test_two_simultaneous_trainings_the_second_refused_then_resumed_after_a_kill(tmp_path,
                                                                                  capsys):
    out = tmp_path / "out"
    long = [*TRAIN, "--set", "train.epochs=100000"]
    first = python(f"""
        import sys
        from gahr.cli import main
        sys.exit(main(["train", "--out", {str(out)!r}, *{long!r}]))
    """)
    try:
        deadline = time.monotonic() + 120
        while not (out / "checkpoint.pt").exists():  # training, past its first epoch
            assert first.poll() is None and time.monotonic() < deadline, first.stderr.read()
            time.sleep(0.2)
        err = one_line_error(capsys, ["train", "--out", str(out), *long])
        assert f"pid {first.pid}" in err and "another gahr process" in err, err
        first.send_signal(signal.SIGKILL)  # no clean-up: the OS drops the flock
        first.wait()
    finally:
        first.kill()
    # a new writer proceeds: it resumes the killed run's checkpoint
    config = load_config(None, [s for s in long if s not in ("--set", "--quiet")])

    def stop(epoch, step, loss):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt, match="checkpoint at"):
        train(config, out, callbacks=[stop], progress=False)
    assert not is_held(out)  # the lock ended with the call


def test_a_writer_is_refused_while_another_process_holds_the_directory(tmp_path, holder,
                                                                        capsys):
    out = tmp_path / "out"
    err = one_line_error(capsys, ["train", "--out", str(out), *TRAIN])
    assert f"pid {holder.pid}" in err and "another gahr process" in err
    assert not (out / "config.json").exists()
    holder.send_signal(signal.SIGKILL)  # no clean-up: the OS drops the flock
    holder.wait()
    assert main(["train", "--out", str(out), *TRAIN]) == 0
    assert (out / "model.safetensors").exists() and not is_held(out)


def test_two_sweeps_into_one_directory_cannot_mix(tmp_path, holder):
    with pytest.raises(BusyError, match=f"pid {holder.pid}"):
        run_sweep(sweep_config(), out=tmp_path / "out", images=discs(40, 8), progress=False,
                  log=lambda s: None)
    assert not list((tmp_path / "out").glob("N*")) and not (tmp_path / "out" / "sweep.json"
                                                              ).exists()


def test_a_process_claims_again_and_its_lock_ends_with_the_scope(tmp_path):
    with holding():
        claim(tmp_path / "a")
        claim(tmp_path / "a")  # the same process: no conflict
        assert is_held(tmp_path / "a")
        # a directory that stayed empty is removed with its lock file
    assert not is_held(tmp_path / "a") and not (tmp_path / "a").exists()
    with holding():
        claim(tmp_path / "b")
        (tmp_path / "b" / "x.txt").write_text("x")
    assert not (tmp_path / "b" / LOCK_NAME).exists() and (tmp_path / "b" / "x.txt").exists()
    with holding():
        claim_file(tmp_path / "c" / "s.npz")
        assert is_held(tmp_path / "c" / "s.npz") and (tmp_path / "c" / ".s.npz.lock").exists()
    assert list((tmp_path / "c").iterdir()) == []


# ------------------------------------------------------------ 2. orphans

def _bad_inputs_tool():
    return load_script("tools/bad_inputs.py")


#: tools/bad_inputs.py's tiny experiment (N = 1, 8; S1, S2), as one that trains for long with
#: two worker processes.
SWEEP_TOML = _bad_inputs_tool().SWEEP_TOML
MEMORIZATION_TOML = SWEEP_TOML.replace("epochs = 1\n", "epochs = 1000\n").replace(
    "[sweep]\n", "[sweep]\nworkers = 2\n")
assert "epochs = 1000" in MEMORIZATION_TOML and "workers = 2" in MEMORIZATION_TOML


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits to be read


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("platform", ["linux", "other"])  # prctl, or the watchdog alone
def test_a_worker_ends_with_its_killed_parent(platform):
    """A parent starts a worker that calls `die_with_parent` (workers.py is plain Python: it is
    loaded from its file, no torch), then gets SIGKILL: the worker is gone in a few seconds."""
    workers = Path(gahr.__file__).parent / "train" / "workers.py"
    worker = textwrap.dedent(f"""
        import importlib.util, os, sys, time
        spec = importlib.util.spec_from_file_location("workers", {str(workers)!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.platform = {platform!r}
        module.die_with_parent(os.getppid())
        print("ready", flush=True)
        time.sleep(60)
    """)
    parent = python(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", {worker!r}], stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout.readline().strip() == "ready"
        print(child.pid, flush=True)
        time.sleep(60)
    """, start_new_session=True)
    try:
        pid = int(parent.stdout.readline())
        assert _running(pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 5
        while _running(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(pid)
    finally:
        os.killpg(parent.pid, signal.SIGKILL)


def _memorization_with_two_workers(tmp_path) -> subprocess.Popen:
    """`gahr memorization` of a long experiment with sweep.workers = 2, in its own session,
    returned once both workers are training (both of their first runs have a checkpoint)."""
    (tmp_path / "exp.toml").write_text(MEMORIZATION_TOML)
    proc = python(f"""
        import sys
        from gahr.cli import main
        sys.exit(main(["memorization", {str(tmp_path / 'exp.toml')!r}, "--out",
                       {str(tmp_path / 'sweep')!r}, "--quiet"]))
    """, start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list((tmp_path / "sweep").glob("N*/checkpoint.pt"))) < 2:
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"the workers never started: {proc.stderr.read()}")
        time.sleep(0.2)
    return proc


def _gone(pids: list[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not any(_running(p) for p in pids)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sweep_workers_end_with_a_killed_memorization(tmp_path):
    proc = _memorization_with_two_workers(tmp_path)
    try:
        workers = _children(proc.pid)
        assert len(workers) >= 2
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _gone(workers, 5), "workers kept training"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the session
    # what the workers left resumes: the checkpoints are whole
    assert all((tmp_path / "sweep" / name / "checkpoint.pt").stat().st_size > 0
               for name in ("N1_S1", "N1_S2"))


# ------------------------------------------------------------ 7. Ctrl-C always honoured


def test_ctrl_c_during_the_last_checkpoint_stops_the_sweep(tmp_path, monkeypatch):
    """A SIGINT that arrives after the training loop's last look at the stop request (while
    the last epoch's checkpoint is written) used to be swallowed: the next job started."""
    import gahr.train.loop as loop

    save = loop.save_checkpoint
    sent = []

    def save_then_interrupt(run_dir, **state):
        save(run_dir, **state)
        if state["epoch"] == 1 and not sent:  # the end of the last (only) epoch of job 1
            sent.append(run_dir)
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(loop, "save_checkpoint", save_then_interrupt)
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt, match="end of epoch 1/1.*rerun"):
        run_sweep(sweep_config(), out=tmp_path, images=discs(40, 8), progress=False,
                  log=lambda s: None)
    assert sent == [tmp_path / "N1_S1"]
    assert not (tmp_path / "N1_S2").exists()  # the next job never started
    assert signal.getsignal(signal.SIGINT) is previous
    monkeypatch.setattr(loop, "save_checkpoint", save)
    ran = run_sweep(sweep_config(), out=tmp_path, images=discs(40, 8), progress=False,
                    log=lambda s: None)  # the rerun finishes the interrupted job
    assert [j.name for j in ran] == ["N1_S1", "N1_S2", "N5_S1", "N5_S2"]
    assert (tmp_path / "N1_S1" / "model.safetensors").exists()


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_stop_request_to_the_parent_alone_stops_the_sweep_workers(tmp_path):
    """`kill -INT` of `gahr memorization` (not a Ctrl-C to the whole terminal): the parent
    used to wait for its workers to train to the end; now they checkpoint and stop."""
    proc = _memorization_with_two_workers(tmp_path)
    try:
        workers = _children(proc.pid)
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        assert proc.returncode == 130 and "interrupted" in proc.stderr.read()
        assert _gone(workers, 20)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)


def test_a_stop_request_nothing_looked_at_is_raised_on_leaving(tmp_path):
    from gahr.train.interrupt import StopRequest

    with pytest.raises(KeyboardInterrupt), StopRequest():
        os.kill(os.getpid(), signal.SIGTERM)
    with StopRequest() as stop:
        pass
    assert not stop.requested
    assert train(tiny("train.epochs=1"), tmp_path, images=discs(40, 16),
                 progress=False).metrics


# ------------------------------------------------------------ 3. "finished" too early


def test_a_run_killed_after_its_weights_writes_its_end_again(tmp_path, monkeypatch):
    """Killed between the weights and the figures: the rerun writes model.json, the figures
    and the completion record from the checkpoint (the same weights), instead of skipping."""
    import gahr.train.figures as figures

    images, cfg = discs(40, 16), tiny("train.epochs=1")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(figures, "write_figures", killed)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path, images=images, progress=False)
    monkeypatch.undo()
    weights = (tmp_path / "model.safetensors").read_bytes()
    (tmp_path / "model.json").unlink()  # as if the kill came before it was written
    assert not (tmp_path / "complete.json").exists()
    again = train(cfg, tmp_path, images=images, progress=False)
    assert not again.already_finished
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == ["denoised.png",
                                                                        "psnr.png"]
    assert (tmp_path / "model.json").exists()
    assert (tmp_path / "model.safetensors").read_bytes() == weights
    record = json.loads((tmp_path / "complete.json").read_text())
    assert {"model.safetensors", "model.json", "figures/psnr.png", "checkpoint.pt",
            "config.json", "metrics.csv"} <= set(record["files"])
    assert record["weights_sha256"] == hashlib.sha256(weights).hexdigest()
    assert train(cfg, tmp_path, images=images, progress=False).already_finished
    (tmp_path / "figures" / "psnr.png").unlink()  # a listed file gone: redone
    assert not train(cfg, tmp_path, images=images, progress=False).already_finished
    assert (tmp_path / "figures" / "psnr.png").exists()


def test_damaged_or_swapped_weights_are_refused_and_retrained_on_request(tmp_path, capsys):
    images = discs(40, 8)
    run_sweep(sweep_config(), out=tmp_path, images=images, progress=False, log=lambda s: None)
    mine, other = tmp_path / "N1_S1" / "model.safetensors", tmp_path / "N5_S1" / "model.safetensors"
    mine.write_bytes(other.read_bytes())  # another run's weights: a valid file, the wrong one
    with pytest.raises(CheckpointError, match="not the file this run wrote.*--retrain"):
        run_sweep(sweep_config(), out=tmp_path, images=images, progress=False,
                  log=lambda s: None)
    lines = []
    ran = run_sweep(sweep_config(), out=tmp_path, images=images, progress=False,
                    log=lines.append, retrain=True)
    assert [j.name for j in ran] == ["N1_S1"] and "deleting it" in lines[0]
    assert mine.read_bytes() != other.read_bytes()
    RunDir(tmp_path / "N1_S1").verify_weights()
    # a damaged file, through the command line: one line
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), *TRAIN]) == 0
    damaged = bytearray((run / "model.safetensors").read_bytes())
    damaged[-1] ^= 0xFF
    (run / "model.safetensors").write_bytes(bytes(damaged))
    capsys.readouterr()
    err = one_line_error(capsys, ["train", "--out", str(run), *TRAIN])
    assert "SHA-256" in err and "from the checkpoint" in err
    assert main(["train", "--out", str(run), *TRAIN, "--retrain"]) == 0  # the way out it names
    assert "deleting it to train again" in capsys.readouterr().out
    RunDir(run).verify_weights()


def test_a_demo_killed_in_its_eigen_stage_redoes_it(tmp_path, monkeypatch):
    """The eigen stage writes summary.json before its curves: a kill in between used to leave a
    result the rerun refused as "not written by the demo"."""
    import gahr.workflows.demo as demo

    config = trained_demo_sweep(tmp_path)
    out = tmp_path / "eigen"

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(demo, "effective_dimension_curve", killed)
    with pytest.raises(KeyboardInterrupt):
        demo.eigen_stage(config, out, log=lambda s: None)
    assert (out / "summary.json").exists()
    monkeypatch.undo()
    result = demo.eigen_stage(config, out, log=lambda s: None)
    assert "pending" not in result and set(result["effective_dimension_curves"]) == {
        "N=1", "N=5"}
    assert demo.eigen_stage(config, out, log=lambda s: None) == result  # now reused


# ------------------------------------------------------------ 4. full disk


@pytest.fixture
def full_disk():
    """`full_disk(when)`: from then on until the test ends (or `full_disk(None)`), files whose
    name `when` accepts, opened for writing through Python (every `open` in gahr, numpy,
    matplotlib and PIL), are on a full disk: tools/bad_inputs.py's simulation."""
    tool, active = _bad_inputs_tool(), []

    def install(when=lambda name: True):
        while active:
            active.pop().__exit__(None, None, None)
        if when is not None:
            active.append(tool.full_disk(when))
            active[-1].__enter__()

    yield install
    install(None)


def temporary_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*.tmp")]


@pytest.mark.parametrize("target", ["model.safetensors", "checkpoint.pt", "config.json"])
def test_train_on_a_full_disk_is_one_line_and_the_rerun_finishes(tmp_path, full_disk, capsys,
                                                                  monkeypatch, target):
    out = tmp_path / "run"
    full_disk(lambda name: name.startswith(f".{target}."))  # the temporary file of `target`
    err = one_line_error(capsys, ["train", "--out", str(out), *TRAIN])
    assert "no space left" in err and "rerun" in err, err
    assert not temporary_files(tmp_path) and not (out / target).exists()
    assert not (out / "complete.json").exists()
    full_disk(None)
    assert main(["train", "--out", str(out), *TRAIN]) == 0
    assert (out / "complete.json").exists()


def test_torchs_wrapped_write_error_is_a_full_disk(tmp_path, capsys, monkeypatch):
    """torch's zip writer turns ENOSPC into "unexpected pos A vs B"; that reads as a full
    disk too, in one line."""
    import gahr.train.checkpoint as checkpoint

    def wrapped(obj):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 1262400 "
                           "vs 1262288")

    monkeypatch.setattr(checkpoint, "torch_bytes", wrapped)
    err = one_line_error(capsys, ["train", "--out", str(tmp_path / "run"), *TRAIN])
    assert "no space left" in err and "unexpected pos" not in err


@pytest.mark.parametrize("command", ["data", "demo", "memorization"])
def test_a_full_disk_is_one_line_in_every_command(tmp_path, full_disk, capsys, command):
    (tmp_path / "exp.toml").write_text(SWEEP_TOML)
    argv = {"data": ["data", "make", "discs", "--n", "4", "--out", str(tmp_path / "d.npy")],
            "demo": ["demo", "--quick", "--out", str(tmp_path / "demo")],
            "memorization": ["memorization", str(tmp_path / "exp.toml"), "--out",
                             str(tmp_path / "sweep"), "--quiet"]}[command]
    full_disk()
    err = one_line_error(capsys, argv)
    assert "no space left" in err
    assert not temporary_files(tmp_path) and not (tmp_path / "d.npy").exists()


def test_sample_keeps_its_finished_samples_and_resumes(tmp_path, full_disk, capsys,
                                                       monkeypatch):
    import gahr.workflows.sample_chunks as chunks
    from gahr.nets import UNet, save

    save(UNet(num_kernels=4, num_blocks=1).eval(), tmp_path / "model",
         meta={"mean_intensity": 0.4, "data": {"size": 8}})
    argv = ["sample", str(tmp_path / "model"), "--n", "12", "--batch-size", "4", "--budget",
            "3", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "whole.npz")]) in (0, 1)
    assert "n=0" in one_line_error(capsys, ["sample", str(tmp_path / "model"), "--n", "0",
                                            "--out", str(tmp_path / "none.npz")])
    out = tmp_path / "s.npz"
    full_disk(lambda name: name.startswith(".s.npz."))  # the last write: the whole result
    err = one_line_error(capsys, [*argv, "--out", str(out)])
    assert "no space left" in err and not out.exists() and not temporary_files(tmp_path)
    with np.load(tmp_path / "s.partial.npz") as f:
        assert len(f["samples"]) == 8  # two finished chunks of 4 were kept
    full_disk(None)
    drawn = []
    synthesize = chunks.synthesize
    monkeypatch.setattr(chunks, "synthesize", lambda *a, seeds, **k: drawn.extend(seeds) or
                        synthesize(*a, seeds=seeds, **k))
    assert main([*argv, "--out", str(out)]) in (0, 1)
    assert "resuming: 8 of 12" in capsys.readouterr().out
    assert drawn == [8, 9, 10, 11] and not (tmp_path / "s.partial.npz").exists()
    with np.load(out) as a, np.load(tmp_path / "whole.npz") as b:
        for name in ("samples", "steps", "seeds", "failed", "sigmas"):
            assert np.array_equal(a[name], b[name], equal_nan=True), name
