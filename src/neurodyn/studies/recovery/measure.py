"""What the recovery study measures: its config, the truths it reuses, and every fit's scores.

For each truth (a task-trained network: its run) the study samples `trials` trials of its task,
records the network's noise-free states through a fraction of its units as Poisson counts
(`neurodyn.data.synthesize`, saved with the truth under `OUT/recordings/`), fits every model of
`models` to each recording as a run of its own (`neurodyn.fit.fit_recording`: latent networks
with their seeds as one ensemble, or the rate fit with its ridge strengths as members), and
scores every member against the truth (`neurodyn.fit.recovery`): co-smoothing of held-out
neurons in bits per spike (the true rates' beside it), state R^2, fixed points at zero input
(count, matched distance, stability agreement), the slowest timescales of the linearised
dynamics at the matched points and the DSA distance. The truth's fixed points
are searched once per recording and shared by its fits.

Fitted runs are named `recovery-TRUTH-PCT-MODEL` in the runs folder: a finished fit is reused,
an interrupted one resumed, so the study picks up where it stopped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import stage
from neurodyn.analysis import Recovery
from neurodyn.data import load_npz, silent_units, synthesize
from neurodyn.errors import ConfigError
from neurodyn.fit import fit_recording, recovery, true_fixed_points
from neurodyn.runs import Run, resume_run
from neurodyn.studies._study import check_fields

__all__ = ["FitScore", "RecoveryConfig", "measure", "rows", "runs", "summary"]

_FIELDS = (
    "truths",
    "fractions",
    "trials",
    "mean_rate_hz",
    "recording",
    "models",
    "n_starts",
    "seed",
)


@dataclass(frozen=True)
class RecoveryConfig:
    """The study's settings (config.yaml: the defaults and what each field means)."""

    truths: dict[str, dict[str, Any]]
    fractions: tuple[float, ...]
    trials: int
    mean_rate_hz: float
    recording: dict[str, Any]
    models: dict[str, dict[str, Any]]
    n_starts: int
    seed: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecoveryConfig:
        check_fields("recovery", _FIELDS, data)
        fractions = tuple(float(f) for f in data["fractions"])
        if not fractions or any(not 0 < f <= 1 for f in fractions):
            raise ConfigError(f"study recovery: fractions must lie in (0, 1], got {fractions}")
        for name in ("truths", "models", "recording"):
            if not isinstance(data[name], Mapping) or (name != "recording" and not data[name]):
                raise ConfigError(f"study recovery: {name} must be a non-empty mapping")
        for label, fit in data["models"].items():
            if "recording" in fit or "truth" in fit:
                raise ConfigError(
                    f"study recovery: model {label} sets {'recording' if 'recording' in fit else 'truth'}"
                    "; the study gives every fit the same recording section and truth"
                )
        if int(data["trials"]) < 5:
            raise ConfigError(f"study recovery: trials must be at least 5, got {data['trials']}")
        return cls(
            truths={str(k): dict(v) for k, v in data["truths"].items()},
            fractions=fractions,
            trials=int(data["trials"]),
            mean_rate_hz=float(data["mean_rate_hz"]),
            recording=dict(data["recording"]),
            models={str(k): dict(v) for k, v in data["models"].items()},
            n_starts=int(data["n_starts"]),
            seed=int(data["seed"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "truths": self.truths,
            "fractions": list(self.fractions),
            "trials": self.trials,
            "mean_rate_hz": self.mean_rate_hz,
            "recording": self.recording,
            "models": self.models,
            "n_starts": self.n_starts,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class FitScore:
    """One member of one fit of one recording, scored against its truth."""

    truth: str
    fraction: float
    n_observed: int
    model: str
    score: Recovery
    fit_seconds: float = field(default=math.nan)


def runs(config: RecoveryConfig, root: Path) -> dict[str, dict[str, Any]]:
    """The truths: trained (or, once copied from the zoo, reused) before anything is fitted."""
    return dict(config.truths)


def _percent(fraction: float) -> str:
    return f"{100 * fraction:g}pct"


def _fitted(
    path: Path, fit: dict[str, Any], config: RecoveryConfig, root: Path, run_id: str, progress: bool
) -> Run:
    """The fit `run_id` of the recording at `path`: reused when finished, resumed when
    interrupted, made otherwise."""
    where = root / run_id
    if Run.is_run(where):
        run = Run.open(where)
        if run.info().status in ("finished", "fitted"):
            return run
        return resume_run(where, progress=progress)
    return fit_recording(
        path, {**fit, "recording": config.recording}, runs=root, name=run_id, progress=progress
    )


def _check_unchanged(
    path: Path, activity: torch.Tensor, config: RecoveryConfig, root: Path, prefix: str
) -> None:
    """Refuse to score fits made from another recording than the one made now: finished fits
    are reused by name, and a recording that changed (a new `synthesize`, another config)
    would have them scored on data they never saw."""
    if not path.is_file():
        return
    before = load_npz(path).activity
    if before.shape == activity.shape and torch.equal(before, activity):
        return
    fits = [label for label in config.models if Run.is_run(root / f"{prefix}-{label}")]
    if fits:
        raise ConfigError(
            f"study recovery: the recording {path} differs from the one its fits "
            f"({', '.join(fits)}) in {root} were made from; fit into another runs folder "
            "(--runs) or delete those fits"
        )


def measure(
    config: RecoveryConfig, truth_runs: Mapping[str, Run], out: Path, progress: bool
) -> list[FitScore]:
    """Record every truth at every fraction, fit every model, score every member."""
    scores: list[FitScore] = []
    folder = out / "recordings"
    folder.mkdir(parents=True, exist_ok=True)
    for truth_id, truth_run in truth_runs.items():
        network = truth_run.load_model()
        batch = truth_run.task.sample(config.trials, seed=config.seed)
        n_units = network.spec.n_hidden
        with torch.no_grad():
            states = network(batch.x, noise=False).states[:, 0]
        # silent units cannot be recorded (synthesize leaves them out): 100% is all the others
        n_recordable = n_units - len(silent_units(states))
        for fraction in config.fractions:
            n_observed = min(max(2, round(fraction * n_units)), n_recordable)
            synth = synthesize(
                network,
                batch.x,
                n_observed=n_observed,
                mean_rate_hz=config.mean_rate_hz,
                seed=config.seed,
                conditions=batch.trial,
                source=f"run {truth_id}",
            )
            path = folder / f"{truth_id}-{_percent(fraction)}.npz"
            prefix = f"recovery-{truth_id}-{_percent(fraction)}"
            _check_unchanged(path, synth.recording.activity, config, truth_run.root, prefix)
            path = synth.save(path)
            stage(
                f"{truth_id}, {n_observed} of {n_units} units: its fixed points", enabled=progress
            )
            truth_fixed = true_fixed_points(synth, n_starts=config.n_starts, seed=config.seed)
            for label, fit in config.models.items():
                run_id = f"{prefix}-{label}"
                stage(f"fit {run_id}", enabled=progress)
                run = _fitted(path, fit, config, truth_run.root, run_id, progress)
                seconds = float((run.info().seconds or {}).get("fit", math.nan))
                for member in range(len(run.config.model.seeds)):
                    row = recovery(
                        run,
                        synth,
                        member=member,
                        n_starts=config.n_starts,
                        seed=config.seed,
                        true_fixed=truth_fixed,
                    )
                    scores.append(FitScore(truth_id, fraction, n_observed, label, row, seconds))
    return scores


def rows(results: list[FitScore]) -> list[dict[str, Any]]:
    """One row per scored member (measures.csv)."""
    out = []
    for s in results:
        r = s.score
        out.append(
            {
                "truth": s.truth,
                "fraction": s.fraction,
                "n_observed": s.n_observed,
                "model": s.model,
                "member": r.member,
                "bits_per_spike": r.bits_per_spike,
                "true_bits_per_spike": r.true_bits_per_spike,
                "psth_r2": r.psth_r2,
                "state_r2": r.state_r2,
                "n_fixed_true": r.n_fixed_true,
                "n_fixed_fitted": r.n_fixed_fitted,
                "fixed_point_distance": r.fixed_point_distance,
                "stability_agreement": r.stability_agreement,
                "timescale_error": r.timescale_error,
                "slowest_timescale_ms": r.slowest_timescale_ms,
                "true_slowest_timescale_ms": r.true_slowest_timescale_ms,
                "dsa_distance": r.dsa_distance,
                "fit_seconds": s.fit_seconds,
            }
        )
    return out


def _mean_sd(values: list[float], digits: int = 2) -> str:
    kept = [v for v in values if not math.isnan(v)]
    if not kept:
        return "n/a"
    if len(kept) == 1:
        return f"{kept[0]:.{digits}f}"
    return f"{np.mean(kept):.{digits}f} ± {np.std(kept, ddof=1):.{digits}f}"


def groups(results: list[FitScore]) -> dict[tuple[str, float, str], list[FitScore]]:
    """The scores by (truth, fraction, model), in the order they were measured."""
    out: dict[tuple[str, float, str], list[FitScore]] = {}
    for s in results:
        out.setdefault((s.truth, s.fraction, s.model), []).append(s)
    return out


def good_fit_wrong_dynamics(results: list[FitScore], *, share: float = 0.5) -> list[FitScore]:
    """Members whose co-smoothing reaches `share` of the true rates' bits/spike, yet whose
    fixed points differ from the truth's in number or stability: a good data fit with the
    wrong dynamics."""
    return [
        s
        for s in results
        if s.score.true_bits_per_spike > 0
        and s.score.bits_per_spike >= share * s.score.true_bits_per_spike
        and (
            s.score.n_fixed_fitted != s.score.n_fixed_true or not s.score.stability_agreement >= 1.0
        )
    ]


def rank_correlation(x: list[float], y: list[float]) -> float:
    """Spearman's rank correlation of two lists (NaN pairs dropped; ties by average rank)."""
    pairs = [(a, b) for a, b in zip(x, y, strict=True) if not (math.isnan(a) or math.isnan(b))]
    if len(pairs) < 3:
        return math.nan

    def ranks(values: list[float]) -> np.ndarray:
        order = np.argsort(values, kind="stable")
        out = np.empty(len(values))
        out[order] = np.arange(len(values))
        for v in set(values):  # ties share their mean rank
            tied = np.asarray(values) == v
            out[tied] = out[tied].mean()
        return out

    ra, rb = ranks([a for a, _ in pairs]), ranks([b for _, b in pairs])
    if ra.std() == 0 or rb.std() == 0:  # a constant has no ranking to correlate
        return math.nan
    return float(np.corrcoef(ra, rb)[0, 1])


def summary(results: list[FitScore]) -> str:
    """Mean ± SD over members per truth, fraction and model; then the fits that predict the
    data well but get the fixed points wrong, and how bits/spike and DSA go together."""
    lines = [
        "| truth | recorded | model | bits/spike (truth) | state R^2 | fixed points fitted (true) | "
        "same stability | slowest tau ms (truth) | timescales off (decades) | DSA |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (truth, fraction, model), members in groups(results).items():
        rs = [s.score for s in members]
        lines.append(
            f"| {truth} | {members[0].n_observed} ({100 * fraction:g}%) | {model} | "
            f"{_mean_sd([r.bits_per_spike for r in rs], 3)} "
            f"({_mean_sd([r.true_bits_per_spike for r in rs[:1]], 3)}) | "
            f"{_mean_sd([r.state_r2 for r in rs])} | "
            f"{_mean_sd([float(r.n_fixed_fitted) for r in rs], 1)} ({rs[0].n_fixed_true}) | "
            f"{_mean_sd([r.stability_agreement for r in rs])} | "
            f"{_mean_sd([r.slowest_timescale_ms for r in rs], 0)} "
            f"({_mean_sd([r.true_slowest_timescale_ms for r in rs], 0)}) | "
            f"{_mean_sd([r.timescale_error for r in rs])} | "
            f"{_mean_sd([r.dsa_distance for r in rs])} |"
        )
    wrong = good_fit_wrong_dynamics(results)
    rho = rank_correlation(
        [s.score.bits_per_spike for s in results], [s.score.dsa_distance for s in results]
    )
    lines += [
        "",
        f"Members with at least half the true rates' bits/spike but fixed points of another "
        f"number or stability than the truth's: {len(wrong)} of {len(results)}.",
        f"Spearman correlation of bits/spike with DSA distance over all members: {rho:.2f}.",
    ]
    return "\n".join(lines)
