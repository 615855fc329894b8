"""Path integration: environments, rat-like trajectories, place-cell targets and the task.

Environments are open arenas (square, circle) and a hairpin maze of `n_arms` parallel arms
(Derdikman et al. 2009), all walls as line segments so trajectories respect them. Random
trajectories follow the rat-like motion model of Banino et al. (2018) and Sorscher et al.
(2019, 2023): per step a normally distributed turn, a Rayleigh distributed speed, and near a
wall a turn along it and a slow-down; batched over trajectories (one Python step per time
step, none per trajectory). `hairpin_runs` makes directed runs through the maze, arm after
arm, with the same speed statistics; the "virtual hairpin" is the same trajectories in the
open arena (`square_arena`), i.e. without the internal walls.

Place cells have difference-of-Gaussians tuning (Sorscher et al. 2019): the normalised
activation of a narrow Gaussian minus that of a wider one, shifted to be non-negative and
normalised to sum to one, so a softmax cross-entropy trains the network's outputs to them.

Units: metres, seconds; positions `[T, B, 2]`, time-major like every tensor of the package.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.errors import ArgumentError, ConfigError, ShapeError
from neurodyn.tasks._base import Batch, Duration, Task, ensemble_view

__all__ = [
    "ENVIRONMENTS",
    "Environment",
    "PathIntegration",
    "PlaceCells",
    "Trajectories",
    "circle_arena",
    "environment",
    "hairpin_maze",
    "hairpin_runs",
    "random_trajectories",
    "square_arena",
]

# The motion model of Sorscher et al.'s public code (after Banino et al. 2018): turning
# velocity ~ N(0, ROTATION_STD) rad/s, speed ~ Rayleigh(SPEED_SCALE) m/s; within
# BORDER_M of a wall the heading turns parallel to it and the speed drops to a quarter.
ROTATION_STD = 5.76 * 2
SPEED_SCALE = 0.13 * 2 * math.pi
BORDER_M = 0.03
WALL_SLOWDOWN = 0.25


@dataclass(frozen=True)
class Environment:
    """An environment: walls as segments and the area trajectories may visit.

    Attributes
    ----------
    name : str
    walls : tuple of (x0, y0, x1, y1)
        Wall segments in metres.
    extent : tuple (x_min, x_max, y_min, y_max)
    shape : str
        "square" (inside: the extent) or "circle" (inside: the inscribed disc).
    n_arms : int
        Arms of a hairpin maze (0 for an open arena).
    gap_m : float
        Width of the passage at the end of each hairpin wall.
    """

    name: str
    walls: tuple[tuple[float, float, float, float], ...]
    extent: tuple[float, float, float, float]
    shape: str = "square"
    n_arms: int = 0
    gap_m: float = 0.0

    @property
    def size_m(self) -> float:
        return self.extent[1] - self.extent[0]

    def wall_tensor(self, device: torch.device | str = "cpu") -> Tensor:
        """`[W, 4]` float32: each wall's (x0, y0, x1, y1)."""
        return torch.tensor(self.walls, dtype=torch.float32, device=device)

    def contains(self, positions: Tensor) -> Tensor:
        """Whether each position `[..., 2]` lies inside (a small tolerance for rounding)."""
        x_min, x_max, y_min, y_max = self.extent
        tol = 1e-5
        if self.shape == "circle":
            cx, cy, r = (x_min + x_max) / 2, (y_min + y_max) / 2, (x_max - x_min) / 2
            return torch.hypot(positions[..., 0] - cx, positions[..., 1] - cy) <= r + tol
        return (
            (positions[..., 0] >= x_min - tol)
            & (positions[..., 0] <= x_max + tol)
            & (positions[..., 1] >= y_min - tol)
            & (positions[..., 1] <= y_max + tol)
        )

    def arm_of(self, positions: Tensor) -> tuple[Tensor, Tensor]:
        """The hairpin arm of each position `[..., 2]` and the position along it.

        Returns
        -------
        arm : Tensor [...] of long
            0 .. n_arms - 1, or -1 in the passages at the arms' ends (the turns).
        along : Tensor [...]
            Position along the arm's long (y) axis, 0 at the bottom of the straight part and 1
            at its top: the same allocentric axis on every arm.
        """
        if self.n_arms < 2:
            raise ArgumentError(f"{self.name} is not a hairpin maze: it has no arms")
        x_min, _, y_min, _ = self.extent
        width = self.size_m / self.n_arms
        arm = ((positions[..., 0] - x_min) / width).floor().long().clamp(0, self.n_arms - 1)
        y = positions[..., 1] - y_min
        straight = self.size_m - 2 * self.gap_m
        along = ((y - self.gap_m) / straight).clamp(0.0, 1.0)
        in_turn = (y < self.gap_m) | (y > self.size_m - self.gap_m)
        return torch.where(in_turn, torch.full_like(arm, -1), arm), along

    def crossings(self, start: Tensor, end: Tensor) -> Tensor:
        """Whether each step from `start` to `end` (`[..., 2]`) crosses a wall (`[...]`)."""
        return _segment_hits(start, end, self.wall_tensor(start.device)).any(-1)

    def ray_distances(self, positions: Tensor, headings: Tensor, n_rays: int) -> Tensor:
        """Distance to the nearest wall along `n_rays` directions around the heading.

        Parameters
        ----------
        positions : Tensor [..., 2]
        headings : Tensor [...]
            Radians.
        n_rays : int
            Rays at heading + 2 pi r / n_rays (egocentric: ray 0 looks ahead).

        Returns
        -------
        Tensor [..., n_rays]
            Metres (the arena's diagonal where a ray meets no wall).
        """
        walls = self.wall_tensor(positions.device)
        angles = headings[..., None] + torch.arange(n_rays, device=positions.device) * (
            2 * math.pi / n_rays
        )
        direction = torch.stack([torch.cos(angles), torch.sin(angles)], -1)  # [..., R, 2]
        origin = positions[..., None, None, :]  # [..., 1, 1, 2]
        a, b = walls[:, :2], walls[:, 2:]
        edge = b - a  # [W, 2]
        d = direction[..., None, :]  # [..., R, 1, 2]
        denom = _cross(d, edge)
        offset = a - origin
        t = _cross(offset, edge) / denom  # along the ray
        u = _cross(offset, d) / denom  # along the wall
        hit = (denom.abs() > 1e-9) & (t > 0) & (u >= 0) & (u <= 1)
        far = math.hypot(self.size_m, self.extent[3] - self.extent[2])
        return torch.where(hit, t, torch.full_like(t, far)).amin(-1).clamp_max(far)


def _cross(a: Tensor, b: Tensor) -> Tensor:
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _segment_hits(start: Tensor, end: Tensor, walls: Tensor) -> Tensor:
    """`[..., W]`: whether the segment start-end crosses each wall (touching counts)."""
    p, r = start[..., None, :], (end - start)[..., None, :]
    q, s = walls[:, :2], walls[:, 2:] - walls[:, :2]
    denom = _cross(r, s)
    t = _cross(q - p, s) / denom
    u = _cross(q - p, r) / denom
    return (denom.abs() > 1e-12) & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)


def square_arena(side_m: float = 2.2) -> Environment:
    """An open square arena `[0, side_m]^2`.

    Parameters
    ----------
    side_m : float

    Returns
    -------
    Environment
    """
    if not side_m > 0:
        raise ArgumentError(f"an arena's side must be positive, got {side_m}")
    s = float(side_m)
    walls = ((0.0, 0.0, s, 0.0), (s, 0.0, s, s), (s, s, 0.0, s), (0.0, s, 0.0, 0.0))
    return Environment(name="square", walls=walls, extent=(0.0, s, 0.0, s))


def circle_arena(diameter_m: float = 2.2, *, n_sides: int = 48) -> Environment:
    """An open circular arena of `diameter_m` inside `[0, diameter_m]^2`, its wall a polygon
    of `n_sides` sides.

    Parameters
    ----------
    diameter_m : float
    n_sides : int

    Returns
    -------
    Environment
    """
    if not diameter_m > 0 or n_sides < 8:
        raise ArgumentError(
            f"need a positive diameter and n_sides >= 8, got {diameter_m}, {n_sides}"
        )
    r = float(diameter_m) / 2
    # the polygon is inscribed in the disc: a path that never crosses it stays in the disc
    rp = r
    corners = [
        (
            r + rp * math.cos(2 * math.pi * (i + 0.5) / n_sides),
            r + rp * math.sin(2 * math.pi * (i + 0.5) / n_sides),
        )
        for i in range(n_sides)
    ]
    walls = tuple((*corners[i], *corners[(i + 1) % n_sides]) for i in range(n_sides))
    return Environment(name="circle", walls=walls, extent=(0.0, 2 * r, 0.0, 2 * r), shape="circle")


def hairpin_maze(
    side_m: float = 1.5, n_arms: int = 10, *, gap_m: float | None = None
) -> Environment:
    """A square box split into `n_arms` parallel arms by walls alternately attached to the
    bottom and the top, each leaving a passage of `gap_m` at its free end (Derdikman et al.
    2009: 10 arms in a 1.5 m box).

    Wall k (k = 1 .. n_arms - 1, at x = k * side_m / n_arms) rises from the bottom when k is
    odd and hangs from the top when k is even, so a run up arm 0 turns at the top into arm 1,
    down arm 1, and so on.

    Parameters
    ----------
    side_m : float
    n_arms : int
    gap_m : float, optional
        Passage width (default: one arm's width).

    Returns
    -------
    Environment

    Raises
    ------
    ArgumentError
        Walls that leave no path: fewer than 2 arms, arms narrower than 2 border widths, or a
        passage not between 0 and half the side.
    """
    width = side_m / max(n_arms, 1)
    gap = width if gap_m is None else float(gap_m)
    if n_arms < 2 or width < 4 * BORDER_M or not 2 * BORDER_M < gap < side_m / 2:
        raise ArgumentError(
            f"a hairpin maze of side {side_m} m with {n_arms} arms and passages of {gap} m leaves "
            f"no path: need at least 2 arms at least {4 * BORDER_M} m wide and passages between "
            f"{2 * BORDER_M} m and half the side"
        )
    box = square_arena(side_m)
    inner = []
    for k in range(1, n_arms):
        x = k * width
        inner.append((x, 0.0, x, side_m - gap) if k % 2 == 1 else (x, gap, x, side_m))
    return Environment(
        name="hairpin",
        walls=box.walls + tuple(inner),
        extent=box.extent,
        n_arms=n_arms,
        gap_m=gap,
    )


def environment(name: str, size_m: float, *, n_arms: int = 10) -> Environment:
    """An environment by name: "square", "circle" or "hairpin" (of `n_arms` arms).

    Parameters
    ----------
    name : str
    size_m : float
        Side (square, hairpin) or diameter (circle).
    n_arms : int

    Returns
    -------
    Environment
    """
    if name not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment {name!r}; environments: {', '.join(ENVIRONMENTS)}")
    if name == "hairpin":
        return hairpin_maze(size_m, n_arms)
    return ENVIRONMENTS[name](size_m)  # type: ignore[operator]


ENVIRONMENTS = {"square": square_arena, "circle": circle_arena, "hairpin": hairpin_maze}


@dataclass(frozen=True)
class Trajectories:
    """A batch of trajectories.

    Attributes
    ----------
    position : Tensor [T + 1, B, 2]
        Metres; row 0 is the start.
    heading : Tensor [T + 1, B]
        Head direction in radians.
    dt_s : float
    run : Tensor [B] of long, optional
        Run label of directed runs (`hairpin_runs`: 0 from arm 0 to the last, 1 back).
    """

    position: Tensor
    heading: Tensor
    dt_s: float
    run: Tensor | None = None

    @property
    def velocity(self) -> Tensor:
        """`[T, B, 2]` m/s: each step's displacement over dt."""
        return (self.position[1:] - self.position[:-1]) / self.dt_s

    @property
    def n_steps(self) -> int:
        return self.position.shape[0] - 1


def random_trajectories(
    env: Environment,
    batch_size: int,
    n_steps: int,
    *,
    dt_s: float = 0.02,
    generator: torch.Generator | None = None,
) -> Trajectories:
    """Rat-like random trajectories, all trajectories advanced together one time step at a
    time (Banino et al. 2018; Sorscher et al. 2019).

    Each step the heading turns by `dt * N(0, 11.52 rad/s)` and the animal moves at a
    Rayleigh(0.82 m/s) speed; within 3 cm of a wall it faces along the wall and slows to a
    quarter. A step that would still cross a wall (a rare long Rayleigh step) is not taken.

    Parameters
    ----------
    env : Environment
    batch_size, n_steps : int
    dt_s : float
    generator : torch.Generator, optional
        Randomness; the tensors are made on its device.

    Returns
    -------
    Trajectories
        `position [n_steps + 1, B, 2]`, `heading [n_steps + 1, B]`; starts uniform inside
        the arena, at least 3 cm from its walls.
    """
    if batch_size < 1 or n_steps < 1:
        raise ArgumentError(f"need batch_size >= 1 and n_steps >= 1, got {batch_size}, {n_steps}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    device = gen.device
    walls = env.wall_tensor(device)
    start = _starts(env, batch_size, gen, walls)
    heading = torch.rand(batch_size, generator=gen, device=device) * 2 * math.pi
    turns = torch.randn(n_steps, batch_size, generator=gen, device=device) * ROTATION_STD * dt_s
    # Rayleigh by inversion: scale * sqrt(-2 log(1 - u))
    uniform = torch.rand(n_steps, batch_size, generator=gen, device=device)
    speeds = SPEED_SCALE * torch.sqrt(-2 * torch.log1p(-uniform))
    positions, headings = [start], [heading]
    position = start
    for t in range(n_steps):
        distance, toward = _nearest_wall(position, walls)
        facing = torch.stack([torch.cos(heading), torch.sin(heading)], -1)
        # angle between the heading and the direction to the nearest wall point
        angle = torch.atan2(_cross(toward, facing), (toward * facing).sum(-1))
        near = (distance < BORDER_M) & (angle.abs() < math.pi / 2)
        turn = torch.where(near, torch.sign(angle) * (math.pi / 2 - angle.abs()), 0.0)
        speed = torch.where(near, speeds[t] * WALL_SLOWDOWN, speeds[t])
        heading = heading + turn + turns[t]
        step = speed[:, None] * dt_s * torch.stack([torch.cos(heading), torch.sin(heading)], -1)
        blocked = _segment_hits(position, position + step, walls).any(-1)
        position = torch.where(blocked[:, None], position, position + step)
        heading = torch.remainder(heading, 2 * math.pi)
        positions.append(position)
        headings.append(heading)
    return Trajectories(position=torch.stack(positions), heading=torch.stack(headings), dt_s=dt_s)


def _starts(env: Environment, batch_size: int, gen: torch.Generator, walls: Tensor) -> Tensor:
    """Uniform points inside the environment, at least a border width from every wall
    (rejection sampling, all points at once)."""
    x_min, x_max, y_min, y_max = env.extent
    chosen = torch.empty(0, 2, device=gen.device)
    for _ in range(100):
        u = torch.rand(4 * batch_size, 2, generator=gen, device=gen.device)
        points = torch.stack(
            [x_min + (x_max - x_min) * u[:, 0], y_min + (y_max - y_min) * u[:, 1]], -1
        )
        keep = env.contains(points) & (_nearest_wall(points, walls)[0] >= BORDER_M)
        chosen = torch.cat([chosen, points[keep]])
        if len(chosen) >= batch_size:
            return chosen[:batch_size]
    raise ArgumentError(f"{env.name}: found no start point away from its walls")


def _nearest_wall(positions: Tensor, walls: Tensor) -> tuple[Tensor, Tensor]:
    """Distance `[B]` to the nearest wall and the unit vector `[B, 2]` towards it."""
    a, b = walls[:, :2], walls[:, 2:]
    edge = b - a
    rel = positions[:, None, :] - a  # [B, W, 2]
    t = ((rel * edge).sum(-1) / (edge * edge).sum(-1)).clamp(0, 1)
    nearest = a + t[..., None] * edge  # [B, W, 2]
    offset = nearest - positions[:, None, :]
    distance = offset.norm(dim=-1)
    best = distance.argmin(-1)
    picked = offset[torch.arange(len(positions), device=positions.device), best]
    d = distance.gather(1, best[:, None])[:, 0]
    return d, picked / d.clamp_min(1e-9)[:, None]


def hairpin_runs(
    maze: Environment,
    runs_per_direction: int,
    *,
    dt_s: float = 0.02,
    lateral_std_m: float | None = None,
    generator: torch.Generator | None = None,
) -> Trajectories:
    """Directed runs through a hairpin maze: up arm 0, through the passage, down arm 1, ...
    to the last arm (run label 0, "eastward"), and the same path backwards (label 1).

    The runner follows the arms' centre line at speeds drawn as in `random_trajectories`
    (Rayleigh), wandering across the corridor (an Ornstein-Uhlenbeck offset, pinned to the
    centre line at the corners) and facing where it goes. All runs have the length of the
    longest; a run that has arrived waits at the end.

    Parameters
    ----------
    maze : Environment
        A `hairpin_maze`.
    runs_per_direction : int
    dt_s : float
    lateral_std_m : float, optional
        Spread of the offset from the centre line (default: a sixth of an arm's width).
    generator : torch.Generator, optional

    Returns
    -------
    Trajectories
        `position [T + 1, B, 2]` with B = 2 * runs_per_direction (label 0 first), `run [B]`.
    """
    if maze.n_arms < 2:
        raise ArgumentError(f"{maze.name} is not a hairpin maze: hairpin runs need its arms")
    if runs_per_direction < 1:
        raise ArgumentError(f"runs_per_direction must be at least 1, got {runs_per_direction}")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    device = gen.device
    side, width, gap = maze.size_m, maze.size_m / maze.n_arms, maze.gap_m
    lateral = width / 6 if lateral_std_m is None else float(lateral_std_m)
    # the centre line: up arm 0 to the middle of the top passage, across, down arm 1, ...
    corners = []
    for k in range(maze.n_arms):
        x = (k + 0.5) * width
        low, high = gap / 2, side - gap / 2
        corners += [(x, low), (x, high)] if k % 2 == 0 else [(x, high), (x, low)]
    path = torch.tensor(corners, dtype=torch.float32, device=device)  # [C, 2]
    lengths = (path[1:] - path[:-1]).norm(dim=-1)
    cumulative = torch.cat([torch.zeros(1, device=device), lengths.cumsum(0)])
    total = float(cumulative[-1])
    batch = 2 * runs_per_direction
    # steps enough for the slowest run to finish (mean Rayleigh speed, with slack)
    mean_speed = SPEED_SCALE * math.sqrt(math.pi / 2)
    n_steps = math.ceil(1.6 * total / (mean_speed * dt_s))
    uniform = torch.rand(n_steps, batch, generator=gen, device=device)
    speeds = SPEED_SCALE * torch.sqrt(-2 * torch.log1p(-uniform))
    travelled = torch.cat(
        [torch.zeros(1, batch, device=device), (speeds * dt_s).cumsum(0)]
    ).clamp_max(total)
    # the backward runs (label 1) take the same path from its end
    run = torch.arange(batch, device=device) // runs_per_direction
    arc = torch.where(run[None] == 1, total - travelled, travelled)  # [T + 1, B]
    segment = (torch.searchsorted(cumulative, arc.contiguous(), right=True) - 1).clamp(
        0, len(lengths) - 1
    )
    fraction = (arc - cumulative[segment]) / lengths[segment]
    start, end = path[segment], path[segment + 1]
    centre = start + fraction[..., None] * (end - start)
    tangent = (end - start) / lengths[segment][..., None]
    normal = torch.stack([-tangent[..., 1], tangent[..., 0]], -1)
    # the offset: an OU process (time constant 1 s), pinned to 0 at the corners so the runner
    # takes each turn through the passage's middle
    decay = math.exp(-dt_s / 1.0)
    noise = (
        torch.randn(n_steps + 1, batch, generator=gen, device=device)
        * lateral
        * math.sqrt(1 - decay**2)
    )
    offset = torch.zeros(batch, device=device)
    offsets = []
    for t in range(n_steps + 1):
        offset = decay * offset + noise[t]
        offsets.append(offset)
    to_corner = torch.minimum(arc - cumulative[segment], cumulative[segment + 1] - arc)
    pinned = torch.stack(offsets) * (to_corner / (gap / 2)).clamp(0, 1)
    bound = width / 2 - 2 * BORDER_M
    position = centre + pinned.clamp(-bound, bound)[..., None] * normal
    step = position[1:] - position[:-1]
    heading = torch.atan2(step[..., 1], step[..., 0])
    heading = torch.cat([heading[:1], heading])
    return Trajectories(
        position=position, heading=torch.remainder(heading, 2 * math.pi), dt_s=dt_s, run=run
    )


@dataclass(frozen=True)
class PlaceCells:
    """Place cells with difference-of-Gaussians tuning (Sorscher et al. 2019).

    Attributes
    ----------
    centres : Tensor [P, 2]
        Metres.
    sigma_m : float
        Width of the centre Gaussian.
    surround_scale : float
        The surround Gaussian is this many times wider (1: plain Gaussian tuning).
    """

    centres: Tensor
    sigma_m: float
    surround_scale: float

    @classmethod
    def uniform(
        cls, env: Environment, n_cells: int, *, sigma_m: float, surround_scale: float, seed: int
    ) -> PlaceCells:
        """`n_cells` centres uniform inside `env` (from `seed`).

        Parameters
        ----------
        env : Environment
        n_cells : int
        sigma_m, surround_scale : float
        seed : int

        Returns
        -------
        PlaceCells
        """
        gen = torch.Generator().manual_seed(seed)
        x_min, x_max, y_min, y_max = env.extent
        centres = torch.empty(0, 2)
        while len(centres) < n_cells:
            u = torch.rand(2 * n_cells, 2, generator=gen)
            points = torch.stack(
                [x_min + (x_max - x_min) * u[:, 0], y_min + (y_max - y_min) * u[:, 1]], -1
            )
            centres = torch.cat([centres, points[env.contains(points)]])
        return cls(centres=centres[:n_cells], sigma_m=sigma_m, surround_scale=surround_scale)

    def activations(self, positions: Tensor) -> Tensor:
        """Target code `[..., P]` (non-negative, summing to 1) of positions `[..., 2]`."""
        centres = self.centres.to(positions.device)
        # |p - c|^2 as one matmul (a [..., P, 2] difference tensor costs more than the softmax)
        d2 = (
            (positions**2).sum(-1, keepdim=True) - 2 * positions @ centres.T + (centres**2).sum(-1)
        ).clamp_min(0)
        code = torch.softmax(-d2 / (2 * self.sigma_m**2), dim=-1)
        if self.surround_scale != 1:
            code = code - torch.softmax(
                -d2 / (2 * (self.sigma_m * self.surround_scale) ** 2), dim=-1
            )
            code = code - code.amin(-1, keepdim=True)
            code = code / code.sum(-1, keepdim=True)
        return code

    def decode(self, outputs: Tensor, k: int = 3) -> Tensor:
        """Position `[..., 2]` read from a code `[..., P]`: the mean centre of its `k` most
        active cells (Sorscher et al.)."""
        top = outputs.topk(k, dim=-1).indices
        return self.centres.to(outputs.device)[top].mean(-2)


@dataclass(frozen=True)
class PathIntegration(Task):
    """Path integration (Banino et al. 2018; Sorscher et al. 2019, 2023).

    A rat-like trajectory in an open arena: one "cue" step gives the network its start as the
    place-cell code, then the "move" steps give its velocity (and, where asked, the distance
    to the walls along `boundary_rays` directions around its heading, as `max(0, 1 - d /
    boundary_range_m)`); the targets are the place-cell code of the position at every move
    step, trained by softmax cross-entropy. Trained on a non-negative (ReLU) network it grows
    grid-like units.

    Inputs `[T, B, 2 + n_place_cells + boundary_rays]`: velocity (m/s), start code, rays.
    Targets `[T, B, n_place_cells]`. Trial facts: `position [B, T, 2]` (the position after
    each step; row 0 the start), `heading [B, T]`.

    Performance: share of move steps where the position decoded from the outputs (top three
    place cells) lies within `tolerance_m` of the one decoded from the targets.
    """

    name: ClassVar[str] = "path_integration"
    description: ClassVar[str] = (
        "path integration: velocity in, difference-of-Gaussians place-cell code of the position out"
    )
    loss: ClassVar = "cross_entropy"

    dt_ms: float = 20.0
    trial_ms: float = 400.0
    arena: str = "square"
    arena_size_m: float = 2.2
    n_place_cells: int = 512
    place_cell_sigma_m: float = 0.12
    surround_scale: float = 2.0
    place_cell_seed: int = 0
    boundary_rays: int = 0
    boundary_range_m: float = 0.3
    tolerance_m: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.arena not in ("square", "circle"):
            raise ConfigError(
                f"path_integration trains in an open arena: arena must be 'square' or 'circle', "
                f"got {self.arena!r} (run a trained network in a maze with batch_from)"
            )
        if self.n_place_cells < 3 or not self.place_cell_sigma_m > 0 or self.surround_scale < 1:
            raise ConfigError(
                "path_integration: need n_place_cells >= 3, place_cell_sigma_m > 0 and "
                f"surround_scale >= 1, got {self.n_place_cells}, {self.place_cell_sigma_m}, "
                f"{self.surround_scale}"
            )
        if self.boundary_rays < 0 or not self.boundary_range_m > 0 or not self.tolerance_m > 0:
            raise ConfigError(
                "path_integration: boundary_rays must be >= 0, boundary_range_m and "
                "tolerance_m positive"
            )

    @property
    def n_inputs(self) -> int:  # type: ignore[override]
        return 2 + self.n_place_cells + self.boundary_rays

    @property
    def n_outputs(self) -> int:  # type: ignore[override]
        return self.n_place_cells

    @functools.cached_property
    def environment(self) -> Environment:
        """The open arena the task trains in."""
        return environment(self.arena, self.arena_size_m)

    @functools.cached_property
    def place_cells(self) -> PlaceCells:
        """The place cells whose code the network is trained to output (fixed by
        `place_cell_seed`)."""
        return PlaceCells.uniform(
            self.environment,
            self.n_place_cells,
            sigma_m=self.place_cell_sigma_m,
            surround_scale=self.surround_scale,
            seed=self.place_cell_seed,
        )

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {"cue": self.dt_ms, "move": self.trial_ms}

    def _fill(self, bounds, end, generator):
        trajectories = random_trajectories(
            self.environment,
            end.shape[0],
            self._steps(self.trial_ms),
            dt_s=self.dt_ms / 1000,
            generator=generator,
        )
        batch = self.batch_from(trajectories, self.environment)
        return batch.x, batch.y, batch.mask, batch.trial

    def batch_from(self, trajectories: Trajectories, env: Environment | None = None) -> Batch:
        """The batch of given trajectories (e.g. `hairpin_runs`) in `env` (default: the arena
        the task trains in), whose walls the boundary rays see.

        Parameters
        ----------
        trajectories : Trajectories
            `position [S + 1, B, 2]`, sampled at the task's `dt_ms`.
        env : Environment, optional

        Returns
        -------
        Batch
            `x [S + 1, B, I]`, `y` and `mask [S + 1, B, P]`, epochs "cue" (step 0) and "move".
        """
        env = self.environment if env is None else env
        position, heading = trajectories.position, trajectories.heading
        if position.dim() != 3 or position.shape[-1] != 2 or heading.shape != position.shape[:2]:
            raise ShapeError(
                f"trajectories must hold position [T + 1, B, 2], got {tuple(position.shape)}"
            )
        if not math.isclose(trajectories.dt_s * 1000, self.dt_ms, rel_tol=1e-6):
            raise ArgumentError(
                f"trajectories sampled every {trajectories.dt_s * 1000} ms, the task steps "
                f"{self.dt_ms} ms: sample them at the task's dt"
            )
        outside = ~env.contains(position)
        if outside.any():
            raise ArgumentError(
                f"{int(outside.sum())} positions lie outside the {env.name} environment: "
                "trajectories must stay inside it"
            )
        n_moves, batch_size = trajectories.n_steps, position.shape[1]
        cells = self.place_cells
        x = torch.zeros(n_moves + 1, batch_size, self.n_inputs, device=position.device)
        x[1:, :, :2] = trajectories.velocity
        x[0, :, 2 : 2 + self.n_place_cells] = cells.activations(position[0])
        if self.boundary_rays:
            distance = env.ray_distances(position[1:], heading[1:], self.boundary_rays)
            x[1:, :, 2 + self.n_place_cells :] = (1 - distance / self.boundary_range_m).clamp_min(0)
        y = cells.activations(position)
        y[0] = 0
        mask = torch.ones_like(y)
        mask[0] = 0
        trial = {
            "cue_start": torch.zeros(batch_size, dtype=torch.long, device=position.device),
            "cue_end": torch.ones(batch_size, dtype=torch.long, device=position.device),
            "move_start": torch.ones(batch_size, dtype=torch.long, device=position.device),
            "move_end": torch.full(
                (batch_size,), n_moves + 1, dtype=torch.long, device=position.device
            ),
            "end": torch.full((batch_size,), n_moves + 1, dtype=torch.long, device=position.device),
            "position": position.transpose(0, 1).contiguous(),
            "heading": heading.transpose(0, 1).contiguous(),
        }
        return Batch(x=x, y=y, mask=mask, trial=trial, epochs=self.epochs, dt_ms=self.dt_ms)

    def decoding_error(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Mean distance (m) between the decoded and the true position over the move steps.

        Parameters
        ----------
        outputs : Tensor [T, B, P] or [T, E, B, P]
        batch : Batch

        Returns
        -------
        Tensor [] or [E]
        """
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        decoded = self.place_cells.decode(outputs[1:])  # [T-1, E, B, 2]
        truth = trial["position"].permute(2, 0, 1, 3)[1:]  # [T-1, E, B, 2]
        error = (decoded - truth).norm(dim=-1).mean((0, 2))
        return error[0] if squeeze else error

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, _, squeeze = ensemble_view(outputs, batch)
        targets = batch.y if batch.y.dim() == 4 else batch.y[:, None]
        cells = self.place_cells
        decoded = cells.decode(outputs[1:])
        expected = cells.decode(targets[1:]).expand_as(decoded)
        right = ((decoded - expected).norm(dim=-1) < self.tolerance_m).float().mean((0, 2))
        return right[0] if squeeze else right
