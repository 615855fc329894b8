"""Every public function and class of the curated namespaces has a numpy-style docstring, with
Parameters (when it takes any) and Returns sections; the API reference is built from them.

`PENDING` lists by name the public functions whose sections are still to be written; shrink it,
never grow it: a new public function comes with its sections.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

NAMESPACES = (
    "tasks",
    "models",
    "train",
    "analysis",
    "plot",
    "runs",
    "report",
    "studies",
    "zoo",
    "data",
    "fit",
)

PENDING = {
    # names are "namespace.name"; what each lacks is checked below
    "analysis.angular_distance",
    "analysis.as_distance",
    "analysis.cca_distance",
    "analysis.cca_similarity",
    "analysis.class_slow_points",
    "analysis.classical_mds",
    "analysis.connectivity_spectrum",
    "analysis.ctrnn_information",
    "analysis.dmd",
    "analysis.epoch_states",
    "analysis.exact_information",
    "analysis.frozen_copy",
    "analysis.havok_operator",
    "analysis.low_rank_approximation",
    "analysis.mean_curve",
    "analysis.occupancy",
    "analysis.only_fixed",
    "analysis.parameter_effect",
    "analysis.procrustes_distance",
    "analysis.rbf_cka",
    "analysis.rdm",
    "analysis.rsa",
    "analysis.run_of",
    "analysis.similarity_layout",
    "analysis.stationary_distribution",
    "analysis.summarise_across_training",
    "analysis.task_index",
    "analysis.trials_first",
    "analysis.variance_ratio",
    "analysis.viterbi",
    "analysis.wasserstein_spectral",
    "models.register_cell",
    "plot.plot_across_training",
    "plot.plot_bias_variance",
    "plot.plot_discriminability",
    "plot.plot_engagement",
    "plot.plot_noise_volume_fraction",
    "plot.plot_parameter_effect",
    "plot.plot_population_tuning",
    "plot.plot_preferred_stimuli",
    "plot.plot_recurrent_input_ratio",
    "plot.plot_resonance_grid",
    "plot.plot_reward_curves",
    "plot.plot_step_tuning",
    "report.render_report",
    "report.write_comparison_report",
    "report.write_report",
    "report.write_sweep_report",
    "runs.list_runs",
    "runs.load_config",
    "runs.parse_config",
    "runs.reindex",
    "runs.resume_run",
    "runs.train_or_reuse",
    "studies.get",
    "studies.load_config",
    "studies.names",
    "studies.run",
    "studies.run_study",
    "tasks.between",
    "tasks.from_neurogym",
    "tasks.make",
    "tasks.names",
    "tasks.population_vector",
    "tasks.register",
    "tasks.ring_bump",
    "tasks.stack_batches",
    "tasks.task_class",
    "train.clip_per_member",
    "train.member_generators",
    "train.rate_l2",
    "train.sample_ensemble",
    "train.weight_l2",
}


def _sections(doc: str) -> set[str]:
    return set(re.findall(r"^(Parameters|Returns|Yields)\n-{3,}$", doc, re.M))


def _takes_parameters(fn) -> bool:
    params = inspect.signature(fn).parameters.values()
    return any(p.name not in ("self", "cls") for p in params)


def _public_callables():
    for space in NAMESPACES:
        module = importlib.import_module(f"neurodyn.{space}")
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{space}.{name}", obj


def _lacking(obj) -> list[str]:
    doc = inspect.getdoc(obj) or ""
    if not doc.strip():
        return ["a docstring"]
    if inspect.isclass(obj):
        return []
    sections = _sections(doc)
    lacking = []
    if _takes_parameters(obj) and "Parameters" not in sections:
        lacking.append("Parameters")
    if not sections & {"Returns", "Yields"}:
        lacking.append("Returns")
    return lacking


def test_public_callables_document_parameters_and_returns():
    missing = {
        name: lacking
        for name, obj in _public_callables()
        if (lacking := _lacking(obj)) and name not in PENDING
    }
    assert not missing, f"write these docstring sections (numpy style): {missing}"


def test_the_pending_list_names_only_what_is_still_missing():
    public = dict(_public_callables())
    stale = sorted(name for name in PENDING if name not in public or not _lacking(public[name]))
    assert not stale, f"documented now (or gone): remove from PENDING: {stale}"


@pytest.mark.parametrize(
    ("doc", "lacking"),
    [
        ("Does a thing.", ["Parameters", "Returns"]),
        ("Does a thing.\n\nParameters\n----------\nx : int\n", ["Returns"]),
        ("Does.\n\nParameters\n----------\nx : int\n\nReturns\n-------\nint\n", []),
    ],
)
def test_the_check_reads_the_sections(doc, lacking):
    def fn(x):
        return x

    fn.__doc__ = doc
    assert _lacking(fn) == lacking
