"""The 20-task battery of Yang, Joglekar, Song, Newsome & Wang (2019), "Task representations in
neural networks trained to perform many cognitive tasks", Nature Neuroscience 22, 297-306.

Every task shares one input and output layout, as in the paper's public code (gyyang/multitask
`task.py`, whose facts we follow; the code here is our own and vectorised):

- inputs `[fixation, ring 1 (32 units), ring 2 (32 units)]` (65); a `Multitask` with shared
  inputs adds the 20 one-hot rule inputs (85 in all, the paper's network);
- outputs `[fixation, response ring (32 units)]` (33), trained by squared error towards 0.8
  (fixation while it should be held), a bump `0.8 exp(-d^2 / 2 (pi/8)^2)` at the response angle
  once the network should respond, and 0.05 elsewhere;
- dt 20 ms; input noise `0.01 * sqrt(2 / alpha)` with alpha = dt / tau = 0.2, on every input
  channel; in a `Multitask` on random streams 2 and 3 (3 the default) the rule inputs get it
  too, as in the public code (stream 1, the layout of runs made before, keeps them clean);
- loss mask: 0 for the first 100 ms, 1 until the go cue, 0 for a 100 ms grace period, then 5;
  the fixation output counts double;
- performance (`performance`): the fixation output above 0.5 from 100 ms to the go cue, and at
  the last step either fixation held (no-go trials) or released (below 0.5) with the population
  vector of the response ring within 0.2 pi of the target. The public code checks only the
  last step (`performance_paper`); we also require fixation to be held before the go cue,
  which is what the task asks of a subject.

Epoch timings, coherences and strengths are the public code's 'random' mode. Where it draws a
continuous duration (`uniform(100, 400) ms`, then floored to steps) we list the same steps as
equally likely choices. The public code draws one set of epoch timings (and the stimulus ring
of the Go, Anti, Dly and matching tasks) per batch; `timing="per_trial"` (the default) draws
them per trial: the same distribution for each trial, with more variety in a batch (and trials
in a batch end at different steps; steps after a trial's end have zero mask).
`timing="per_batch"` draws them once per batch, as the paper trained.

Epochs carry the public code's names: `fix1`, `stim1`, `delay1`, `stim2`, `delay2`, `go1`.

Outside the battery, `dlygo` (`DelayedGo`) is Dly Go on a single input ring (33 inputs) with
shorter epochs named `fixation`, `stimulus`, `delay`, `response`: a task that trains in
minutes on a CPU.

Modules: `_trial` (the shared machinery), `_go` (Go, RT Go, Dly Go, their Anti versions and
`dlygo`), `_decision` (DM, Ctx DM, MultSen DM, delayed or not), `_matching` (DMS, DNMS, DMC,
DNMC), `_battery` (the list in the paper's order and `battery`).
"""

from neurodyn.tasks.yang19._battery import BATTERY, EASY_COHERENCES, PAPER_WEIGHTS, battery
from neurodyn.tasks.yang19._decision import (
    DM1,
    DM2,
    ContextDelayDM1,
    ContextDelayDM2,
    ContextDM1,
    ContextDM2,
    DelayDM1,
    DelayDM2,
    MultiSensoryDelayDM,
    MultiSensoryDM,
)
from neurodyn.tasks.yang19._go import Anti, DelayAnti, DelayedGo, DelayGo, Go, ReactAnti, ReactGo
from neurodyn.tasks.yang19._matching import DMC, DMS, DNMC, DNMS
from neurodyn.tasks.yang19._together import draw_together
from neurodyn.tasks.yang19._trial import DT_MS, N_RING, TWO_PI, Stimuli, Yang19Task

__all__ = [
    "BATTERY",
    "DM1",
    "DM2",
    "DMC",
    "DMS",
    "DNMC",
    "DNMS",
    "DT_MS",
    "EASY_COHERENCES",
    "N_RING",
    "PAPER_WEIGHTS",
    "TWO_PI",
    "Anti",
    "ContextDM1",
    "ContextDM2",
    "ContextDelayDM1",
    "ContextDelayDM2",
    "DelayAnti",
    "DelayDM1",
    "DelayDM2",
    "DelayGo",
    "DelayedGo",
    "Go",
    "MultiSensoryDM",
    "MultiSensoryDelayDM",
    "ReactAnti",
    "ReactGo",
    "Stimuli",
    "Yang19Task",
    "battery",
    "draw_together",
]
