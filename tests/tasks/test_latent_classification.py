"""The latent-classification task against the public code's definitions (panvaf/DisentangleRes,
`LinearClassificationCentOut` and `train.py`): labels, noise, epochs, targets and mask, the
encoder, quadrants, the performance on hand-made outputs, and the binary cross-entropy."""

import math

import numpy as np
import pytest
import torch

from neurodyn import tasks
from neurodyn.errors import ConfigError
from neurodyn.tasks import LatentClassification
from neurodyn.train.losses import masked_binary_cross_entropy


def test_labels_are_the_public_codes_sides_of_evenly_spaced_lines():
    for n_tasks in (2, 3, 6, 24):
        task = LatentClassification(n_tasks=n_tasks, encode=False)
        batch = task.sample(500, seed=1)
        stim = batch.trial["latent"].double().numpy()
        dphi = np.pi / n_tasks
        alphas = np.tan(np.arange(n_tasks) * dphi + dphi / 2)
        expected = stim[:, 1:2] > alphas[None] * stim[:, 0:1]  # as _new_trial writes it
        assert np.array_equal(batch.trial["labels"].numpy().astype(bool), expected)


def test_epochs_noise_targets_and_mask():
    task = LatentClassification(encode=False, n_tasks=6)
    assert (task.n_inputs, task.n_outputs, task.n_steps) == (3, 6, 22)  # 100 + 2000 + 100 ms
    batch = task.sample(4000, seed=2)
    x, latent = batch.x, batch.trial["latent"]
    assert torch.all(latent.abs() <= 0.5)
    assert abs(latent.var().item() - 1 / 12) < 0.005  # uniform on [-0.5, 0.5]
    np.testing.assert_array_equal(x[:, 0, 0].numpy(), [1.0] * 21 + [0.0])  # fixation
    assert torch.all(x[0, :, 1:] == 0) and torch.all(x[-1, :, 1:] == 0)  # stimulus only
    noise = x[1:21, :, 1:] - latent[None]
    assert abs(noise.std().item() - 2.0 / math.sqrt(100.0)) < 0.002  # sigma / sqrt(dt)
    assert abs(noise.mean().item()) < 0.002
    assert torch.all(batch.y[:21] == 0.5) and torch.equal(batch.y[21], batch.trial["labels"])
    assert torch.all(batch.mask == 1)


def test_the_encoder_is_a_seeded_frozen_relu_network_of_the_codes_shape():
    task = LatentClassification(encoder_seed=3)
    assert task.n_inputs == 41
    torch.manual_seed(3)
    reference = torch.nn.Sequential(
        torch.nn.Linear(2, 100),
        torch.nn.ReLU(),
        torch.nn.Linear(100, 100),
        torch.nn.ReLU(),
        torch.nn.Linear(100, 40),
    )
    points = torch.rand(10, 2) - 0.5
    with torch.no_grad():
        torch.testing.assert_close(task.encode_features(points), reference(points))
    assert not any(p.requires_grad for p in task.encoder.parameters())
    batch = task.sample(3, seed=0)
    with torch.no_grad():  # outside the stimulus the encoder sees zeros
        torch.testing.assert_close(batch.x[0, :, 1:], reference(torch.zeros(3, 2)))
    # drawing the encoder leaves the global random state alone
    state = torch.random.get_rng_state()
    _ = LatentClassification(encoder_seed=4).encoder
    assert torch.equal(state, torch.random.get_rng_state())


def test_quadrants_restrict_the_latent_point():
    task = LatentClassification(quadrants=(2,), encode=False)
    latent = task.sample(300, seed=0).trial["latent"]
    assert torch.all(latent[:, 0] <= 0) and torch.all(latent[:, 1] >= 0)
    three = LatentClassification(quadrants=(1, 3, 4), encode=False).sample(300, seed=0)
    latent = three.trial["latent"]
    assert not torch.any((latent[:, 0] < 0) & (latent[:, 1] > 0))


def test_performance_on_hand_made_outputs():
    task = LatentClassification(n_tasks=4, encode=False)
    batch = task.sample(50, seed=5)
    right = (2 * batch.trial["labels"] - 1)[None].expand(task.n_steps, -1, -1)
    assert task.performance(right, batch).item() == 1.0
    assert task.performance(-right, batch).item() == 0.0
    half = right.clone()
    half[..., :2] *= -1
    assert task.performance(half, batch).item() == 0.5
    ensemble = torch.stack([right, -right], dim=1)  # [T, E, B, N]
    assert task.performance(ensemble, batch).tolist() == [1.0, 0.0]


def test_binary_cross_entropy_matches_torch():
    outputs = torch.randn(5, 2, 3, 4)
    targets = torch.rand(5, 1, 3, 4).round()
    mask = torch.ones(5, 2, 3, 4)
    mask[0] = 0
    loss = masked_binary_cross_entropy(outputs, targets, mask)
    for e in range(2):
        expected = torch.nn.functional.binary_cross_entropy_with_logits(
            outputs[1:, e], targets[1:, 0]
        )
        torch.testing.assert_close(loss[e], expected)


def test_bad_parameters_are_named():
    with pytest.raises(ConfigError, match="quadrants are defined for n_dim = 2"):
        LatentClassification(n_dim=3, quadrants=(1,))
    with pytest.raises(ConfigError, match="quadrants must be"):
        LatentClassification(quadrants=(5,))
    with pytest.raises(ConfigError, match="n_tasks must be a positive integer"):
        LatentClassification(n_tasks=0)
    assert tasks.get("latent_classification", n_tasks=3).n_outputs == 3
