"""Bad input, table-driven: every case through the CLI or the Python API must give exit status 2
(or one of the project's error types), a one-line message naming the field or file, no
traceback, and leave the runs folder exactly as it was.

The cases are the hostile and careless inputs of issue 17: files that are not YAML text,
values that are NaN, infinite, negative or huge, names that are paths or terminal escapes,
run folders with garbled files. `outcome()` classifies one case; the test asks for "clear".
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodyn import tasks
from neurodyn.analysis import avalanche_statistics
from neurodyn.cli import main
from neurodyn.errors import NeurodynError
from neurodyn.models import NetworkSpec
from neurodyn.runs import Run, list_runs, load_config, parse_config, train_run
from neurodyn.runs.analyze import analyze_run, load_analyses
from neurodyn.runs.sweep import load_sweep
from neurodyn.train import TrainOptions

BASE = {
    "task": "pdm",
    "model": {"n_hidden": 16, "seeds": [1]},
    "train": {"steps": 2, "batch_size": 4, "eval_batch_size": 8, "log_every": 1},
}


def config(**sections) -> str:
    """The base config's YAML with `sections` ({"train": {"lr": ...}}) merged into it."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in BASE.items()}
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return yaml.safe_dump(data)


def write(relative: str, content: str | bytes) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        path = tmp / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    return setup


def pickled_npz(relative: str) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        with (tmp / relative).open("wb") as fh:
            np.savez(fh, __json__=np.array([{"x": 1}], dtype=object))

    return setup


def chain(*setups: Callable[[Path], None]) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        for s in setups:
            s(tmp)

    return setup


@dataclass(frozen=True)
class Case:
    """One bad input: `argv` for the CLI (with {tmp}, {runs}, {run}, {cfg} filled in) or `api`
    (called with the case's folder); `setup` prepares the folder; `names` must be in the
    message (the field or file at fault)."""

    id: str
    names: str
    argv: tuple[str, ...] = ()
    api: Callable[[Path], object] | None = None
    setup: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


def train_with(text: str | bytes, names: str, id: str) -> Case:
    return Case(
        id, names, ("train", "{cfg}", "--runs", "{runs}", "--quiet"), setup=write("c.yaml", text)
    )


ALIAS_BOMB = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)
# the same bomb as the one value of a valid field (its error message once took repr() of it all)
TASK_BOMB = "task:\n" + "".join(
    "  - " + line.split(": ", 1)[1] + "\n" for line in ALIAS_BOMB.splitlines()
)
RUN = "runs/r"


def recording(relative: str, *, truth: bool) -> Callable[[Path], None]:
    """The trained run's network recorded as rates on 8 trials, saved with its truth or
    as a plain recording."""

    def setup(tmp: Path) -> None:
        from neurodyn.data import synthesize

        run = Run.open(tmp / RUN)
        synth = synthesize(
            run.load_model(), run.task.sample(8, seed=0).x, observation="gaussian", seed=0
        )
        (synth if truth else synth.recording).save(tmp / relative)

    return setup


def fit_args(data: str, *extra: str) -> tuple[str, ...]:
    return ("fit", "{tmp}/" + data, "--rates", *extra, "--runs", "{runs}", "--quiet")


CASES = [
    # config files that are not YAML text, or not a config
    train_with(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "c.yaml", "binary config"),
    train_with("task: d\xe9j\xe0-vu\n".encode("latin-1"), "c.yaml", "latin-1 config"),
    train_with(b"task: pdm\x00\n", "c.yaml", "NUL in config"),
    train_with("- task: pdm\n- task: dlygo\n", "mapping", "config is a list"),
    train_with("task: [pdm\n", "c.yaml", "unclosed bracket"),
    train_with(ALIAS_BOMB + "task: pdm\n", "alias", "alias bomb"),
    train_with(TASK_BOMB, "alias", "alias bomb in task"),
    train_with("task: pdm\ntask: flipflop\n", "task", "duplicate key"),
    train_with(
        "model: {n_hidden: 4, n_hidden: 8}\ntask: pdm\n", "n_hidden", "duplicate nested key"
    ),
    train_with("x" * 1_100_000, "c.yaml", "config over a megabyte"),
    Case("missing config", "nope.yaml", ("train", "{tmp}/nope.yaml", "--runs", "{runs}")),
    Case(
        "config is a folder",
        "cfgdir",
        ("train", "{tmp}/cfgdir", "--runs", "{runs}"),
        setup=lambda tmp: (tmp / "cfgdir").mkdir(),
    ),
    # values: NaN, infinite, negative, out of range, of the wrong type
    train_with(config(train={"lr": float("nan")}), "train.lr", "NaN lr"),
    train_with(config(train={"lr": float("inf")}), "train.lr", "inf lr"),
    train_with(config(train={"lr": -0.1}), "train.lr", "negative lr"),
    train_with(config(train={"lr": "fast"}), "train.lr", "string lr"),
    train_with(config(train={"clip_grad": float("nan")}), "train.clip_grad", "NaN clip_grad"),
    train_with(config(train={"clip_grad": float("inf")}), "train.clip_grad", "inf clip_grad"),
    train_with(config(train={"steps": 0}), "train.steps", "zero steps"),
    train_with(config(train={"steps": True}), "train.steps", "boolean steps"),
    train_with(config(train={"batch_size": 10**12}), "train.batch_size", "huge batch"),
    train_with(
        config(train={"eval_batch_size": 10**12}), "train.eval_batch_size", "huge eval batch"
    ),
    train_with(config(train={"log_every": 0}), "train.log_every", "zero log_every"),
    train_with(config(train={"l2_rate": -1.0}), "train.l2_rate", "negative l2_rate"),
    train_with(config(train={"l2_weight": float("nan")}), "train.l2_weight", "NaN l2_weight"),
    train_with(config(train={"target_performance": 2.0}), "target_performance", "target over 1"),
    train_with(config(train={"stepz": 3}), "train.stepz", "unknown train field"),
    # spiking neurons (issue 25): thresholds at or below reset, negative time constants, a
    # step longer than the refractory period
    train_with(
        config(model={"cell": "lif", "threshold": 0.5, "reset": 0.5}),
        "threshold",
        "lif threshold at reset",
    ),
    train_with(config(model={"cell": "lif", "tau_ms": -20.0}), "tau_ms", "lif negative tau"),
    train_with(
        config(model={"cell": "lif", "tau_syn_ms": -5.0}), "tau_syn_ms", "lif negative tau_syn"
    ),
    train_with(
        config(model={"cell": "lif", "refractory_ms": 1.0}), "refractory_ms", "lif dt > refractory"
    ),
    Case(
        "criticality study with a negative time constant",
        "tau_ms",
        ("study", "criticality", "--config", "{tmp}/s.yaml", "--runs", "{runs}", "--quiet"),
        setup=write("s.yaml", "network: {tau_ms: -20.0}\n"),
    ),
    Case(
        "avalanches of a silent network",
        "silent",
        api=lambda tmp: avalanche_statistics(np.zeros((200, 2))),
    ),
    train_with(config(model={"seeds": [-1]}), "seeds", "seed -1"),
    train_with(config(model={"seeds": [2**70]}), "seeds", "seed 2**70"),
    train_with(config(model={"seeds": [3, 3]}), "seeds", "duplicate seeds"),
    train_with(config(model={"seeds": []}), "seeds", "no seeds"),
    train_with(config(model={"n_hidden": 0}), "n_hidden", "zero units"),
    train_with(config(model={"n_hidden": 3_000_000}), "n_hidden", "16 TB network"),
    train_with(config(model={"sigma_rec": -0.1}), "sigma_rec", "negative noise"),
    train_with(config(model={"sigma_rec": float("inf")}), "sigma_rec", "inf noise"),
    train_with(config(model={"sigma_in": float("nan")}), "sigma_in", "NaN input noise"),
    train_with(config(model={"rec_gain": float("inf")}), "rec_gain", "inf gain"),
    train_with(config(model={"tau_ms": float("nan")}), "tau_ms", "NaN tau"),
    train_with(config(model={"tau_ms": float("inf")}), "tau_ms", "inf tau"),
    train_with(config(model={"activation": "sigmoidz"}), "activation", "unknown activation"),
    train_with(
        config(model={"areas": [2, 2], "area_connections": [[1, 0.5], [2, 1]]}),
        "area_connections",
        "non-0/1 area connections",
    ),
    train_with(config(task={"name": "pdm", "params": [1, 2]}), "params", "task params a list"),
    train_with(
        config(task={"name": "dlygo", "params": {"delay_ms": "long"}}), "delay", "string duration"
    ),
    train_with(config(task={"name": "pdm", "params": {"dt_ms": float("nan")}}), "dt_ms", "NaN dt"),
    train_with(
        config(task={"name": "flipflop", "params": {"trial_ms": 0}}),
        "flipflop",
        "zero-length trials",
    ),
    train_with(config(task="pdmz"), "pdmz", "unknown task"),
    train_with(config(task=[]), "task", "empty task list"),
    train_with(config(task=7), "task", "task a number"),
    train_with(config(task={"neurogym": "os:system"}), "neurogym", "neurogym module import"),
    train_with(config(name="x" * 300), "name", "300-character name"),
    train_with(config(name="a\nb"), "name", "newline in name"),
    train_with(config(name="\x1b[31mred"), "name", "terminal escape in name"),
    train_with(config(name="../../escape"), "name", "name with a path"),
    # command-line options
    Case(
        "--name of 300 characters",
        "--name",
        ("train", "{tmp}/ok.yaml", "--runs", "{runs}", "--name", "n" * 300),
        setup=write("ok.yaml", config()),
    ),
    Case(
        "--name a path",
        "--name",
        ("train", "{tmp}/ok.yaml", "--runs", "{runs}", "--name", "../../x"),
        setup=write("ok.yaml", config()),
    ),
    Case(
        "--name with escapes",
        "--name",
        ("train", "{tmp}/ok.yaml", "--runs", "{runs}", "--name", "a\x1b[2Jb"),
        setup=write("ok.yaml", config()),
    ),
    Case(
        "--stop-at -5",
        "--stop-at",
        ("train", "{tmp}/ok.yaml", "--runs", "{runs}", "--stop-at", "-5"),
        setup=write("ok.yaml", config()),
    ),
    Case(
        "--runs a file",
        "--runs",
        ("train", "{tmp}/ok.yaml", "--runs", "{tmp}/ok.yaml"),
        setup=write("ok.yaml", config()),
    ),
    Case(
        "--runs empty",
        "--runs",
        ("train", "{tmp}/ok.yaml", "--runs", ""),
        setup=write("ok.yaml", config()),
    ),
    Case(
        "runs --runs a file", "--runs", ("runs", "--runs", "{tmp}/afile"), setup=write("afile", "x")
    ),
    Case("runs --runs empty", "--runs", ("runs", "--runs", "")),
    Case("resume a missing run", "nothing", ("train", "--resume", "{runs}/nothing")),
    Case("resume --steps -1", "--steps", ("train", "--resume", "{run}", "--steps", "-1")),
    Case("unknown option", "--frobnicate", ("train", "--frobnicate")),
    Case("unknown command", "frob", ("frob",)),
    Case("--stop-at not a number", "--stop-at", ("train", "x.yaml", "--stop-at", "five")),
    Case(
        "unknown NEURODYN_ENGINE",
        "NEURODYN_ENGINE",
        ("train", "{tmp}/ok.yaml", "--runs", "{runs}", "--quiet"),
        setup=write("ok.yaml", config()),
        env={"NEURODYN_ENGINE": "warp"},
    ),
    Case("analyze a missing run", "nothing", ("analyze", "{runs}/nothing")),
    Case("analyze --member 5", "member", ("analyze", "{run}", "--member", "5")),
    Case("analyze --member -1", "--member", ("analyze", "{run}", "--member", "-1")),
    Case("fixedpoints --noise nan", "--noise", ("fixedpoints", "{run}", "--noise", "nan")),
    Case("fixedpoints --noise inf", "--noise", ("fixedpoints", "{run}", "--noise", "inf")),
    Case("fixedpoints --noise -1", "--noise", ("fixedpoints", "{run}", "--noise", "-1")),
    Case(
        "fixedpoints --initial-states 0",
        "--initial-states",
        ("fixedpoints", "{run}", "--initial-states", "0"),
    ),
    Case("fixedpoints unknown task", "flipflop", ("fixedpoints", "{run}", "--task", "flipflop")),
    Case("fixedpoints unknown epoch", "dream", ("fixedpoints", "{run}", "--epoch", "dream")),
    Case(
        "compare --name a path",
        "--name",
        ("compare", "{run}", "--runs", "{runs}", "--name", "../../../x"),
    ),
    Case(
        "compare unknown metric",
        "cka2",
        ("compare", "{run}", "--runs", "{runs}", "--metric", "cka2"),
    ),
    Case(
        "compare --trials 0", "--trials", ("compare", "{run}", "--runs", "{runs}", "--trials", "0")
    ),
    Case(
        "sweep file a list",
        "sweep",
        ("sweep", "{tmp}/s.yaml", "--runs", "{runs}"),
        setup=write("s.yaml", "- a\n- b\n"),
    ),
    Case(
        "sweep name a path",
        "name",
        ("sweep", "{tmp}/s.yaml", "--runs", "{runs}"),
        setup=write("s.yaml", "name: ../up\nconfig: {task: pdm}\ngrid: {train.lr: [0.1]}\n"),
    ),
    Case(
        "sweep base missing",
        "gone.yaml",
        ("sweep", "{tmp}/s.yaml", "--runs", "{runs}"),
        setup=write("s.yaml", "name: s\nbase: gone.yaml\ngrid: {train.lr: [0.1]}\n"),
    ),
    Case(
        "sweep --workers 0",
        "--workers",
        ("sweep", "{tmp}/s.yaml", "--runs", "{runs}", "--workers", "0"),
        setup=write("s.yaml", "name: s\nconfig: {task: pdm}\ngrid: {train.lr: [0.1]}\n"),
    ),
    Case(
        "sweep whose runs cannot start",
        "NEURODYN_ENGINE",
        ("sweep", "{tmp}/s.yaml", "--runs", "{runs}", "--quiet"),
        setup=write(
            "s.yaml", "name: s\nconfig: " + json.dumps(BASE) + "\ngrid: {train.lr: [0.1]}\n"
        ),
        env={"NEURODYN_ENGINE": "warp"},
    ),
    Case("unknown sweep", "nosuch", ("runs", "--runs", "{runs}", "--sweep", "nosuch")),
    Case(
        "garbled sweep manifest",
        "sweep-s.json",
        ("runs", "--runs", "{runs}", "--sweep", "s"),
        setup=write("runs/sweep-s.json", '{"name": "s", "runs": ['),
    ),
    Case(
        "garbled sweep manifest report",
        "sweep-s.json",
        ("report", "--runs", "{runs}", "--sweep", "s"),
        setup=write("runs/sweep-s.json", "\x00\x01garbage"),
    ),
    # options that would be dropped: --runs names a sweep's folder, a RUN beside --sweep
    Case("report RUN --runs", "--runs", ("report", "{run}", "--runs", "{runs}")),
    Case("report RUN --sweep", "--sweep s", ("report", "{run}", "--sweep", "s")),
    # fit: the truth's options without a truth were dropped; a wrong truth member or a
    # recording without its truth was refused only after the fit, leaving its run behind
    Case(
        "fit --truth-member without --truth",
        "--truth-member 1",
        fit_args("rec.npz", "--truth-member", "1"),
        setup=recording("rec.npz", truth=True),
    ),
    Case(
        "fit --starts without a truth",
        "--starts 16",
        fit_args("rec.npz", "--starts", "16"),
        setup=recording("rec.npz", truth=True),
    ),
    Case(
        "fit --truth-member 3 of one network",
        "member 3",
        fit_args("rec.npz", "--truth", "{run}", "--truth-member", "3"),
        setup=recording("rec.npz", truth=True),
    ),
    Case(
        "fit --starts 0",
        "--starts",
        fit_args("rec.npz", "--truth", "{run}", "--starts", "0"),
        setup=recording("rec.npz", truth=True),
    ),
    Case(
        "fit truth member not a number",
        "member",
        ("fit", "{tmp}/rec.npz", "--config", "{cfg}", "--runs", "{runs}", "--quiet"),
        setup=chain(
            recording("rec.npz", truth=True),
            write("c.yaml", "method: rates\ntruth: {run: runs/r, member: one}\n"),
        ),
    ),
    Case(
        "fit --truth of a plain recording",
        "holds no truth",
        fit_args("plain.npz", "--truth", "{run}"),
        setup=recording("plain.npz", truth=False),
    ),
    # a mistyped --runs was read as an empty folder: "no run belongs to sweep s"
    Case(
        "compare --sweep, --runs missing",
        "--runs '",
        ("compare", "--sweep", "r", "--runs", "{tmp}/nowhere"),
    ),
    Case(
        "report --sweep, --runs missing",
        "does not exist",
        ("report", "--sweep", "s", "--runs", "{tmp}/nowhere"),
    ),
    Case("unknown study", "nostudy", ("study", "nostudy", "--runs", "{runs}")),
    Case(
        "study unknown variant",
        "variant",
        ("study", "yang19", "--variant", "nosuch", "--runs", "{runs}"),
    ),
    # the zoo: an unknown network, a study not shipped, a garbled manifest, a name that is a path
    Case("unknown zoo network", "flipflip", ("zoo", "get", "flipflip", "--runs", "{runs}")),
    Case(
        "study not in the zoo",
        "zoo add --study yang19",
        ("study", "yang19", "--pretrained", "--runs", "{runs}", "--zoo", "{tmp}/zoo"),
    ),
    Case(
        "garbled zoo manifest",
        "manifest.jsonl",
        ("zoo", "list", "--zoo", "{tmp}/zoo"),
        setup=write("zoo/manifest.jsonl", "{not json\n"),
    ),
    Case("zoo name is a path", "zoo name", ("zoo", "add", "{run}", "../x", "--zoo", "{tmp}/zoo")),
    # run folders with garbled files
    Case(
        "garbage index.sqlite",
        "index.sqlite",
        ("runs", "--runs", "{runs}"),
        setup=write("runs/index.sqlite", b"this is not a database" * 50),
    ),
    Case(
        "garbled metrics.csv",
        "metrics.csv",
        ("report", "{run}"),
        setup=write(f"{RUN}/metrics.csv", "step,member,loss\n1,0,abc\n"),
    ),
    Case(
        "truncated metrics.csv",
        "metrics.csv",
        ("report", "{run}"),
        setup=write(f"{RUN}/metrics.csv", "step,member,loss\n1,0,0.5\n2,0"),
    ),
    Case(
        "garbled run.json",
        "run.json",
        ("report", "{run}"),
        setup=write(f"{RUN}/run.json", '{"status": '),
    ),
    Case(
        "run.json a list", "run.json", ("report", "{run}"), setup=write(f"{RUN}/run.json", "[1, 2]")
    ),
    Case(
        "garbled settings.json",
        "settings.json",
        ("report", "{run}"),
        setup=write(f"{RUN}/analysis/settings.json", "{member: zero"),
    ),
    Case(
        "pickled npz",
        "pdm.pca.npz",
        ("report", "{run}"),
        setup=pickled_npz(f"{RUN}/analysis/pdm.pca.npz"),
    ),
    Case(
        "truncated weights",
        "model.safetensors",
        ("analyze", "{run}"),
        setup=write(f"{RUN}/model.safetensors", b'\x10\x00\x00\x00\x00\x00\x00\x00{"a"'),
    ),
    Case(
        "run config garbled",
        "config.yaml",
        ("analyze", "{run}"),
        setup=write(f"{RUN}/config.yaml", "task: [pdm\n"),
    ),
    # the Python API
    Case(
        "api: NaN lr",
        "train.lr",
        api=lambda tmp: parse_config(yaml.safe_load(config(train={"lr": float("nan")}))),
    ),
    Case("api: config not a mapping", "mapping", api=lambda tmp: parse_config([1, 2])),
    Case("api: missing config", "nope", api=lambda tmp: load_config(tmp / "nope.yaml")),
    Case(
        "api: neurogym module",
        "neurogym",
        api=lambda tmp: tasks.make({"neurogym": "subprocess:Popen"}),
    ),
    Case(
        "api: task params a list",
        "params",
        api=lambda tmp: tasks.make({"name": "pdm", "params": [1]}),
    ),
    Case(
        "api: seed -1",
        "seeds",
        api=lambda tmp: NetworkSpec(n_inputs=1, n_hidden=2, n_outputs=1, seeds=(-1,)),
    ),
    Case("api: inf lr", "train.lr", api=lambda tmp: TrainOptions(lr=math.inf)),
    Case("api: missing run", "nothing", api=lambda tmp: Run.open(tmp / "runs" / "nothing")),
    Case(
        "api: garbled metrics",
        "metrics.csv",
        api=lambda tmp: Run.open(tmp / RUN).metrics(),
        setup=write(f"{RUN}/metrics.csv", "step,loss\nx,y\n"),
    ),
    Case(
        "api: garbage index",
        "index.sqlite",
        api=lambda tmp: list_runs(tmp / "runs"),
        setup=write("runs/index.sqlite", b"\xff" * 2048),
    ),
    Case(
        "api: pickled npz",
        "pdm.pca.npz",
        api=lambda tmp: load_analyses(Run.open(tmp / RUN)),
        setup=pickled_npz(f"{RUN}/analysis/pdm.pca.npz"),
    ),
    Case(
        "api: sweep a list",
        "sweep",
        api=lambda tmp: load_sweep(tmp / "s.yaml"),
        setup=write("s.yaml", "[1, 2]\n"),
    ),
    Case(
        "api: train with a bad name",
        "run name",
        api=lambda tmp: train_run(parse_config(BASE), tmp / "runs", run_id="a/b", progress=False),
    ),
    Case(
        "api: analyze member 9",
        "member",
        api=lambda tmp: analyze_run(Run.open(tmp / RUN), member=9),
    ),
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A tiny finished run with its analyses: the run folder every case starts from."""
    root = tmp_path_factory.mktemp("trained")
    run = train_run(parse_config(BASE), root, run_id="r", progress=False)
    analyze_run(run, batch_size=32)
    return run.path


def snapshot(folder: Path) -> dict[str, str]:
    """Every path under `folder` with a hash of its content (folders and links too)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            out[key] = "link:" + str(path.readlink())
        elif path.is_dir():
            out[key] = "dir"
        else:
            out[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def outcome(case: Case, tmp: Path, trained: Path) -> tuple[str, str]:
    """('clear', message) when the case fails as it should; otherwise what went wrong:
    'traceback', 'silent' (accepted), 'unclear' (a message that is not one line or does not
    name the field), or 'changed disk'."""
    shutil.copytree(trained, tmp / RUN)
    if case.setup is not None:
        case.setup(tmp)
    before = snapshot(tmp)
    fill = {
        "tmp": str(tmp),
        "runs": str(tmp / "runs"),
        "run": str(tmp / RUN),
        "cfg": str(tmp / "c.yaml"),
    }
    stderr = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in case.env.items():
            mp.setenv(key, value)
        try:
            if case.api is not None:
                try:
                    case.api(tmp)
                except NeurodynError as err:
                    message, status = str(err), 2
                else:
                    return "silent", "accepted"
            else:
                with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
                    try:
                        status = main([a.format(**fill) for a in case.argv])
                    except SystemExit as err:  # argparse's own exit, before it became one line
                        status = err.code if isinstance(err.code, int) else 1
                # one error line; notices (e.g. on memory) may come before it
                output = stderr.getvalue()
                errors = [
                    line for line in output.splitlines() if line.startswith("neurodyn: error: ")
                ]
                message = (
                    errors[0][len("neurodyn: error: ") :] if len(errors) == 1 else output.strip()
                )
                if "Traceback" in output:
                    return "traceback", output[-300:]
        except Exception as err:
            return "traceback", f"{type(err).__name__}: {str(err)[:200]}"
    if status == 0:
        return "silent", "exit 0"
    if status != 2 or "\n" in message or "Traceback" in message or case.names not in message:
        return "unclear", f"exit {status}: {message[:300]}"
    if snapshot(tmp) != before:
        return "changed disk", message
    return "clear", message


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_clear_line_and_changes_nothing(case, tmp_path, trained):
    kind, message = outcome(case, tmp_path, trained)
    assert kind == "clear", message
    assert message.isprintable()


def test_the_table_holds_at_least_sixty_cases():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)
