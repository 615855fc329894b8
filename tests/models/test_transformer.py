import pytest
import torch

from neurodyn.errors import ConfigError, ShapeError
from neurodyn.models import CausalTransformer, TransformerSpec

SPEC = TransformerSpec(max_length=12, d_model=16, n_heads=4, n_layers=2, seed=3)


def test_predictions_depend_only_on_the_past():
    model = CausalTransformer(SPEC).eval()
    states = torch.randint(10, (12, 4), generator=torch.Generator().manual_seed(0))
    changed = states.clone()
    changed[7:] = (changed[7:] + 1) % 10
    with torch.no_grad():
        a, b = model(states), model(changed)
    assert torch.allclose(a[:7], b[:7], atol=1e-6)
    assert not torch.allclose(a[7], b[7])


def test_attention_is_causal_and_normalised():
    model = CausalTransformer(SPEC).eval()
    states = torch.randint(10, (12, 3), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        logits, attention = model(states, return_attention=True)
        plain = model(states)
    assert logits.shape == (12, 3, 10) and attention.shape == (2, 4, 3, 12, 12)
    assert torch.allclose(logits, plain, atol=1e-6)
    assert torch.allclose(attention.sum(-1), torch.ones(2, 4, 3, 12), atol=1e-5)
    assert torch.all(torch.triu(attention, diagonal=1) == 0)


def test_same_seed_same_weights_and_global_generator_untouched():
    before = torch.random.get_rng_state()
    a, b = CausalTransformer(SPEC), CausalTransformer(SPEC)
    assert torch.equal(torch.random.get_rng_state(), before)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)
    other = CausalTransformer(TransformerSpec(max_length=12, d_model=16, seed=4))
    assert not torch.equal(a.readout.weight, other.readout.weight)


def test_learns_a_deterministic_cycle():
    """Trained on the cycle 0 -> 1 -> ... -> 9 -> 0 it predicts the next state."""
    model = CausalTransformer(TransformerSpec(max_length=12, d_model=16, n_heads=2, n_layers=1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    starts = torch.arange(10)
    states = (starts[None] + torch.arange(13)[:, None]) % 10  # [13, 10]
    for _ in range(150):
        loss = torch.nn.functional.cross_entropy(
            model(states[:-1]).reshape(-1, 10), states[1:].reshape(-1)
        )
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert torch.equal(model(states[:-1]).argmax(-1), states[1:])


def test_bad_sizes_are_named():
    with pytest.raises(ConfigError, match="multiple of n_heads"):
        TransformerSpec(d_model=10, n_heads=4)
    with pytest.raises(ShapeError, match="longer than this transformer's max_length 12"):
        CausalTransformer(SPEC)(torch.zeros(13, 1, dtype=torch.long))
