"""Random stream 3's normal draws: the input noise of a mixed batch, cheaper than
`torch.randn`.

A batch of the Yang et al. battery adds noise to every input of every real step, about half a
million normal values per 64 trials, and on a CPU `torch.randn` spends most of its time in its
Mersenne Twister, one 32-bit word per value. Here the words come from numpy's SFC64 (a small
chaotic generator, several times faster per word, in numpy's stable streams), seeded for each
draw by two values of the batch's `torch.Generator`, so a batch is still a function of that
generator's state alone (resumed runs, seeds and checkpoints work as before). Each pair of
words becomes two independent normals by the Box-Muller transform:

    u1 = 2 - f1, f1 = 1.m1 (23 random mantissa bits: u1 in [2^-23, 1])
    theta = 2 pi f2 (f2 = 1.m2 in [1, 2): a whole turn more than 2 pi (f2 - 1), the same
    cosine and sine)
    z1 = sqrt(-2 ln u1) cos(theta),  z2 = sqrt(-2 ln u1) sin(theta)

The floats are made from the words' bits (an exponent set, no division), and the transform
runs in float32 over the whole draw. The smallest u1 is 2^-23, so no value lies beyond
sqrt(46 ln 2) = 5.65 standard deviations (the normal puts 1.6e-8 of its mass there).

This is the CPU's sampler. On another device (a GPU) the device's own generator is cheap per
value and the batch lives there, so the draw is its `torch.randn`; every stream's values
differ between a CPU and a GPU generator anyway (their bit generators differ).

Box, G. E. P. & Muller, M. E. (1958). A note on the generation of random normal deviates.
Annals of Mathematical Statistics 29, 610-611.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

# the bits of float32 1.0: OR-ed over 23 random mantissa bits, a float uniform on [1, 2)
_ONE = np.uint32(0x3F800000)
_TWO_PI = np.float32(2 * math.pi)
# the seed of each draw: two values below 2^62 from the batch's generator
_SEED_BOUND = 2**62


def standard_normal(n_rows: int, n_columns: int, *, generator: torch.Generator) -> Tensor:
    """Standard normal values, `[n_rows, n_columns]` float32 on the generator's device.

    Parameters
    ----------
    n_rows, n_columns : int
        The shape of the draw.
    generator : torch.Generator
        Gives the draw's seed (on a CPU two values, so the generator advances by the same
        amount whatever the draw's size).

    Returns
    -------
    Tensor [n_rows, n_columns]
        Independent standard normal values (on a CPU, Box-Muller over SFC64 words; elsewhere
        the device's `torch.randn`; see the module).

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> z = standard_normal(1000, 85, generator=g)
    >>> z.shape, abs(float(z.mean())) < 0.01, abs(float(z.std()) - 1) < 0.01
    (torch.Size([1000, 85]), True, True)
    """
    device = generator.device
    if device.type != "cpu":
        return torch.randn(n_rows, n_columns, generator=generator, device=device)
    seed = torch.randint(_SEED_BOUND, (2,), generator=generator).tolist()
    count = n_rows * n_columns
    pairs = (count + 1) // 2
    # `pairs` 64-bit words seen as twice as many 32-bit ones: the first `pairs` for the
    # radii, the others for the angles
    words = np.random.SFC64(seed).random_raw(pairs).view(np.uint32)
    words >>= np.uint32(9)
    words |= _ONE
    uniform = words.view(np.float32)  # [1, 2)
    radius, angle = uniform[:pairs], uniform[pairs:]
    np.subtract(np.float32(2.0), radius, out=radius)  # (0, 1]
    np.log(radius, out=radius)
    radius *= np.float32(-2.0)
    np.sqrt(radius, out=radius)
    angle *= _TWO_PI
    values = np.empty(2 * pairs, dtype=np.float32)
    np.cos(angle, out=values[:pairs])
    np.sin(angle, out=values[pairs:])
    values[:pairs] *= radius
    values[pairs:] *= radius
    return torch.from_numpy(values[:count]).view(n_rows, n_columns)
