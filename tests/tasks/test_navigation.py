"""Environments, trajectories, place cells and the path-integration task: walls are respected,
the motion statistics are the model's, the code decodes back to the position, and bad input
gets a one-line error."""

import math

import pytest
import torch

from neurodyn import tasks
from neurodyn.errors import ArgumentError, ConfigError
from neurodyn.tasks import (
    PlaceCells,
    circle_arena,
    hairpin_maze,
    hairpin_runs,
    random_trajectories,
    square_arena,
)
from neurodyn.tasks.navigation import SPEED_SCALE, Trajectories


def generator(seed):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize(
    "env", [square_arena(1.0), circle_arena(1.2), hairpin_maze(1.5, 6)], ids=str
)
def test_random_trajectories_stay_inside_and_never_cross_a_wall(env):
    traj = random_trajectories(env, 64, 300, generator=generator(0))
    assert traj.position.shape == (301, 64, 2)
    assert bool(env.contains(traj.position).all())
    assert not bool(env.crossings(traj.position[:-1], traj.position[1:]).any())


def test_trajectories_are_batched_and_reproducible():
    env = square_arena(2.2)
    a = random_trajectories(env, 8, 50, generator=generator(3))
    b = random_trajectories(env, 8, 50, generator=generator(3))
    assert torch.equal(a.position, b.position)
    assert not torch.equal(a.position[:, 0], a.position[:, 1])


def test_speed_away_from_walls_is_rayleigh_with_the_models_scale():
    # a big arena: most steps are far from the walls, where the speed is not slowed
    traj = random_trajectories(square_arena(50.0), 256, 200, generator=generator(1))
    speed = traj.velocity.norm(dim=-1)
    # Rayleigh(b): mean b sqrt(pi / 2), mean square 2 b^2
    assert float(speed.mean()) == pytest.approx(SPEED_SCALE * math.sqrt(math.pi / 2), rel=0.02)
    assert float((speed**2).mean()) == pytest.approx(2 * SPEED_SCALE**2, rel=0.03)


def test_hairpin_walls_alternate_and_runs_go_through_every_arm():
    maze = hairpin_maze(1.5, 4)
    inner = maze.walls[4:]
    # wall 1 rises from the bottom, wall 2 hangs from the top, wall 3 rises again
    assert [w[1] for w in inner] == [0.0, maze.gap_m, 0.0]
    runs = hairpin_runs(maze, 3, generator=generator(2))
    assert runs.run.tolist() == [0, 0, 0, 1, 1, 1]
    assert bool(maze.contains(runs.position).all())
    assert not bool(maze.crossings(runs.position[:-1], runs.position[1:]).any())
    arm, along = maze.arm_of(runs.position)
    for b in range(6):
        visited = [int(a) for a in torch.unique_consecutive(arm[:, b]) if a >= 0]
        assert visited == ([0, 1, 2, 3] if b < 3 else [3, 2, 1, 0])
    # arm 0 is run up on the eastward runs: its position along the arm rises
    in_arm0 = arm[:, 0] == 0
    assert float(along[in_arm0, 0][-1]) > float(along[in_arm0, 0][0])


def test_a_maze_whose_walls_leave_no_path_is_refused():
    with pytest.raises(ArgumentError, match="leaves no path"):
        hairpin_maze(1.0, 40)
    with pytest.raises(ArgumentError, match="leaves no path"):
        hairpin_maze(1.0, 4, gap_m=0.8)


def test_rays_measure_the_distance_to_the_walls():
    env = square_arena(1.0)
    position = torch.tensor([[0.2, 0.7]])
    heading = torch.tensor([0.0])
    distance = env.ray_distances(position, heading, 4)  # ahead (east), north, west, south
    torch.testing.assert_close(distance, torch.tensor([[0.8, 0.3, 0.2, 0.7]]))


def test_place_cell_code_is_a_distribution_peaking_at_the_nearest_centre_and_decodes_back():
    env = square_arena(1.0)
    cells = PlaceCells.uniform(env, 200, sigma_m=0.1, surround_scale=2.0, seed=0)
    code = cells.activations(cells.centres[:5] + 0.001)
    torch.testing.assert_close(code.sum(-1), torch.ones(5))
    assert bool((code >= 0).all())
    assert code.argmax(-1).tolist() == [0, 1, 2, 3, 4]
    points = torch.tensor([[0.3, 0.3], [0.6, 0.8]])
    decoded = cells.decode(cells.activations(points))
    assert float((decoded - points).norm(dim=-1).max()) < 0.06


def test_task_inputs_integrate_to_the_positions_its_targets_code():
    task = tasks.get("path_integration", arena_size_m=1.5, n_place_cells=128, boundary_rays=4)
    batch = task.sample(16, seed=0)
    assert batch.x.shape == (task.n_steps, 16, 2 + 128 + 4)
    position = batch.trial["position"]  # [B, T, 2]
    # the start is given as its place code; the velocity inputs integrate to the path
    torch.testing.assert_close(batch.x[0, :, 2:130], task.place_cells.activations(position[:, 0]))
    integrated = position[:, 0] + task.dt_ms / 1000 * batch.x[1:, :, :2].cumsum(0)
    torch.testing.assert_close(integrated, position[:, 1:].transpose(0, 1), atol=1e-5, rtol=0)
    torch.testing.assert_close(
        batch.y[1:], task.place_cells.activations(position[:, 1:]).transpose(0, 1)
    )
    assert float(task.decoding_error(batch.y * 20, batch)) < 0.08


def test_bad_trajectories_and_settings_are_refused():
    task = tasks.get("path_integration", arena_size_m=1.0, n_place_cells=16)
    outside = torch.full((3, 2, 2), 1.5)
    with pytest.raises(ArgumentError, match="outside the square"):
        task.batch_from(Trajectories(position=outside, heading=torch.zeros(3, 2), dt_s=0.02))
    with pytest.raises(ArgumentError, match=r"every 10\.0 ms"):
        task.batch_from(
            Trajectories(position=torch.full((3, 2, 2), 0.5), heading=torch.zeros(3, 2), dt_s=0.01)
        )
    with pytest.raises(ConfigError, match="open arena"):
        tasks.get("path_integration", arena="hairpin")
