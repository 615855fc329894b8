"""Park, Lubana, Pres & Tanaka (ICLR 2025), "Competition dynamics shape algorithmic phases of
in-context learning": which algorithm does a sequence model trained on a finite mixture of
Markov chains run, as training goes on and as the number of chains N grows?

`neurodyn study icl-phases` trains a small causal transformer, a GRU and an LSTM on the
`markov_mixture` task at several N, measures each at log-spaced steps against the four
reference algorithms (`neurodyn.analysis.icl`) and the transformer's attention heads, and
writes `ROOT/study-icl-phases/` (measures.csv, kl_by_context.csv, the trained networks and the
report with the phase diagram). README.md sets the paper's phase diagram next to ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.icl_phases import measure, report
from neurodyn.studies.icl_phases.figures import plot_kl_over_training, plot_phase_diagram
from neurodyn.studies.icl_phases.measure import (
    MODELS,
    PHASE_NAMES,
    IclConfig,
    NetworkResult,
    induction_step,
    phase_changes,
    phase_sequence,
    phase_table,
    train_network,
)

__all__ = [
    "MODELS",
    "PHASE_NAMES",
    "STUDY",
    "IclConfig",
    "NetworkResult",
    "induction_step",
    "phase_changes",
    "phase_sequence",
    "phase_table",
    "plot_kl_over_training",
    "plot_phase_diagram",
    "train_network",
]

STUDY: Study[IclConfig, list[NetworkResult]] = Study(
    name="icl-phases",
    trains_outside_runs="sequence models (the default's 27), measured at log-spaced steps while they train",
    title="Algorithmic phases of in-context learning (Park, Lubana, Pres & Tanaka 2025)",
    package=__name__,
    config_type=IclConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    columns=(
        "model",
        "n_chains",
        "seed",
        "step",
        "train_loss",
        "kl_unigram_retrieval_id",
        "kl_bigram_retrieval_id",
        "kl_unigram_inference_id",
        "kl_bigram_inference_id",
        "kl_truth_id",
        "phase_id",
        "kl_unigram_retrieval_ood",
        "kl_bigram_retrieval_ood",
        "kl_unigram_inference_ood",
        "kl_bigram_inference_ood",
        "kl_truth_ood",
        "phase_ood",
    ),
    tables=measure.tables,
    # a partial transformer or recurrent section keeps the other settings of config.yaml
    sections=("transformer", "recurrent"),
)
