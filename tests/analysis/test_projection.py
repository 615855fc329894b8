import numpy as np
import pytest

from neurodyn.analysis.projection import Projection, pca_axes, principal_axes
from neurodyn.analysis.trajectories import PCATrajectories
from neurodyn.errors import ShapeError


def test_principal_axes_recover_a_planted_plane():
    rng = np.random.default_rng(0)
    # 200 points in the plane of two orthonormal axes of R^10, around a planted centre, with
    # uncorrelated zero-mean coordinates of variance 9 along the first axis and 1 along the
    # second: their principal axes are exactly the planted ones
    basis = np.linalg.qr(rng.normal(size=(10, 2)))[0].T  # [2, 10]
    raw = rng.normal(size=(200, 2))
    coords = np.linalg.qr(raw - raw.mean(0))[0] * np.sqrt(200) * [3.0, 1.0]
    centre = rng.normal(size=10)
    states = centre + coords @ basis
    projection = principal_axes(states, dims=2)
    # the same axes up to sign, in order of variance
    np.testing.assert_allclose(np.abs(projection.axes @ basis.T), np.eye(2), atol=1e-10)
    np.testing.assert_allclose(projection.explained_variance_ratio, [0.9, 0.1])
    # projecting gives back the planted coordinates (up to sign and the sample mean)
    back = projection.project(states)
    signs = np.sign(projection.axes @ basis.T).diagonal()
    np.testing.assert_allclose(back * signs, coords, atol=1e-10)
    assert projection.axis_names == ["axis 1", "axis 2"]


def test_a_lone_point_sits_at_the_origin_of_the_unit_axes():
    projection = principal_axes(np.array([[1.0, 2.0, 3.0]]), dims=2)
    np.testing.assert_array_equal(projection.axes, np.eye(2, 3))
    np.testing.assert_array_equal(projection.project(np.array([[1.0, 2.0, 3.0]])), [[0.0, 0.0]])


def test_pca_axes_express_states_in_the_pca_coordinates(tmp_path):
    components = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    pca = PCATrajectories(
        components=components,
        mean=np.array([1.0, 1.0, 1.0]),
        explained_variance_ratio=np.array([0.7, 0.2, 0.1]),
        projections=np.zeros((1, 1, 3)),
        condition_values=np.zeros(0),
        condition_means=np.zeros((0, 1, 3)),
        condition_name="",
    )
    projection = pca_axes(pca)
    np.testing.assert_array_equal(projection.project(np.array([3.0, 5.0, 9.0])), [4.0, 2.0])
    assert projection.axis_names == ["PC1", "PC2"]
    loaded = Projection.load(projection.save(tmp_path / "p.npz"))
    np.testing.assert_array_equal(loaded.axes, projection.axes)
    assert loaded.axis_names == ["PC1", "PC2"]


def test_projecting_states_of_another_size_is_refused():
    projection = principal_axes(np.eye(4), dims=2)
    with pytest.raises(ShapeError, match="5 units but the projection 4"):
        projection.project(np.zeros((2, 5)))
