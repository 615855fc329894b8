"""Spatial analyses of navigating networks and recordings: rate maps, autocorrelograms, grid
scores and their shuffle threshold (the analyses along a maze's arms are in
`neurodyn.analysis.maze`).

Positions are in metres, time-major like every state of the package: `positions [T, B, 2]`
with `activity [T, B, N]` (any leading axes work, as long as both share them). A rate map is
the mean activity per spatial bin, `maps [N, X, Y]` with `maps[n, i, j]` the bin at the i-th
x and j-th y interval; bins visited fewer than `min_visits` times are NaN (masked), and every
later step (autocorrelogram, correlations) leaves masked bins out.

Methods and references:

- gridness: the rotational symmetry of the spatial autocorrelogram in an annulus around its
  central peak (Sargolini et al. 2006, Science 312, 758; the expanding annulus of Langston et
  al. 2010, Science 328, 1576), `min(r60, r120) - max(r30, r90, r150)`, and the square score
  `r90 - max(r45, r135)` as in Banino et al. 2018 and Sorscher et al. 2019/2023;
- spacing and orientation from the six peaks nearest the centre of the autocorrelogram
  (Hafting et al. 2005, Nature 436, 801);
- shuffle threshold: scores of maps whose activity is shifted in time against the path (the
  95th percentile of the null distribution, Langston et al. 2010).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.ndimage
import scipy.sparse

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError

__all__ = [
    "GridScores",
    "RateMaps",
    "ShuffleThreshold",
    "grid_scores",
    "gridness_threshold",
    "rate_maps",
    "spatial_autocorrelogram",
]

_ANGLES_DEG = (30, 45, 60, 90, 120, 135, 150)
# Fewest overlapping bins for one lag of the autocorrelogram: fewer make a correlation of noise
# (the outer ring of lags overlaps in a handful of bins only).
_MIN_OVERLAP = 20
# Outer radii of the expanding annulus, as fractions of the largest radius the correlogram holds
_OUTER_FRACTIONS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


@dataclass(frozen=True)
class RateMaps(SavableResult):
    """Mean activity of each unit per spatial bin.

    Attributes
    ----------
    maps : ndarray [N, X, Y]
        Mean activity; NaN in bins visited fewer than `min_visits` times.
    occupancy : ndarray [X, Y]
        Samples (time steps) per bin.
    extent : tuple (x_min, x_max, y_min, y_max)
        The mapped area in metres.
    min_visits : int
    """

    maps: np.ndarray
    occupancy: np.ndarray
    extent: tuple[float, float, float, float]
    min_visits: int

    @property
    def bin_size(self) -> tuple[float, float]:
        """Width of a bin along x and along y, in metres."""
        x_min, x_max, y_min, y_max = self.extent
        return (x_max - x_min) / self.maps.shape[1], (y_max - y_min) / self.maps.shape[2]

    @property
    def masked_fraction(self) -> float:
        """Share of bins left out for too few visits."""
        return float(np.mean(self.occupancy < self.min_visits))


def _flat_samples(positions: np.ndarray, activity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positions = np.asarray(positions, dtype=np.float64)
    activity = np.asarray(activity, dtype=np.float64)
    if positions.shape[-1] != 2 or positions.shape[:-1] != activity.shape[:-1]:
        raise ShapeError(
            f"positions {positions.shape} and activity {activity.shape} must be [..., 2] and "
            "[..., N] over the same leading axes (e.g. [T, B, 2] and [T, B, N])"
        )
    return positions.reshape(-1, 2), activity.reshape(-1, activity.shape[-1])


def _bin_index(
    positions: np.ndarray, extent: tuple[float, float, float, float], bins: tuple[int, int]
) -> np.ndarray:
    """The flat bin (`i * Y + j`) of each position `[S, 2]`; positions outside are refused."""
    x_min, x_max, y_min, y_max = extent
    if not (x_max > x_min and y_max > y_min):
        raise ArgumentError(
            f"extent must be (x_min, x_max, y_min, y_max) with max > min, got {extent}"
        )
    outside = (
        (positions[:, 0] < x_min)
        | (positions[:, 0] > x_max)
        | (positions[:, 1] < y_min)
        | (positions[:, 1] > y_max)
        | ~np.isfinite(positions).all(axis=1)
    )
    if outside.any():
        raise ArgumentError(
            f"{int(outside.sum())} positions lie outside the extent {extent}: give the arena's "
            "extent, or drop the samples that left it"
        )
    ix = np.minimum(
        ((positions[:, 0] - x_min) / (x_max - x_min) * bins[0]).astype(int), bins[0] - 1
    )
    iy = np.minimum(
        ((positions[:, 1] - y_min) / (y_max - y_min) * bins[1]).astype(int), bins[1] - 1
    )
    return ix * bins[1] + iy


def _binned_means(
    index: np.ndarray, activity: np.ndarray, n_bins: int, min_visits: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin means `[n_bins, N]` (NaN under `min_visits` samples) and the counts `[n_bins]`."""
    samples = index.shape[0]
    # One sparse bins-by-samples matrix sums every unit at once (a per-unit bincount would loop).
    onehot = scipy.sparse.csr_matrix(
        (np.ones(samples), (index, np.arange(samples))), shape=(n_bins, samples)
    )
    sums = np.asarray(onehot @ activity)
    counts = np.bincount(index, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts[:, None]
    means[counts < min_visits] = np.nan
    return means, counts


def rate_maps(
    positions: np.ndarray,
    activity: np.ndarray,
    *,
    extent: tuple[float, float, float, float],
    bins: int | tuple[int, int] = 32,
    min_visits: int = 5,
) -> RateMaps:
    """Each unit's mean activity per spatial bin, with rarely visited bins masked.

    Parameters
    ----------
    positions : array [..., 2]
        Positions in metres (e.g. `[T, B, 2]`), all inside `extent`.
    activity : array [..., N]
        Activity at those positions (e.g. states `[T, B, N]`).
    extent : tuple (x_min, x_max, y_min, y_max)
        The area to map.
    bins : int or (int, int)
        Bins along x and y.
    min_visits : int
        Bins with fewer samples are NaN in every map.

    Returns
    -------
    RateMaps
        `maps [N, X, Y]`, `occupancy [X, Y]`.

    Raises
    ------
    ArgumentError
        Positions outside `extent`, or no bin visited `min_visits` times.

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> xy = rng.uniform(0, 1, size=(2000, 2))
    >>> maps = rate_maps(xy, np.cos(4 * xy[:, :1]), extent=(0, 1, 0, 1), bins=10)
    >>> maps.maps.shape, maps.masked_fraction
    ((1, 10, 10), 0.0)
    """
    flat_positions, flat_activity = _flat_samples(positions, activity)
    nx, ny = (bins, bins) if isinstance(bins, int) else bins
    if nx < 2 or ny < 2 or min_visits < 1:
        raise ArgumentError(
            f"need at least 2 bins per axis and min_visits >= 1, got {bins}, {min_visits}"
        )
    extent = tuple(float(v) for v in extent)  # type: ignore[assignment]
    index = _bin_index(flat_positions, extent, (nx, ny))
    means, counts = _binned_means(index, flat_activity, nx * ny, min_visits)
    if not (counts >= min_visits).any():
        raise ArgumentError(
            f"no bin was visited {min_visits} times ({flat_positions.shape[0]} samples over "
            f"{nx} x {ny} bins): use longer or more trajectories, fewer bins or a lower min_visits"
        )
    return RateMaps(
        maps=means.T.reshape(-1, nx, ny),
        occupancy=counts.reshape(nx, ny),
        extent=extent,
        min_visits=int(min_visits),
    )


def spatial_autocorrelogram(maps: np.ndarray, *, min_overlap: int = _MIN_OVERLAP) -> np.ndarray:
    """Pearson correlation of each map with itself shifted by every lag, masked bins left out.

    Parameters
    ----------
    maps : array [..., X, Y]
        Rate maps (NaN: masked bins).
    min_overlap : int
        Lags where fewer valid bins overlap are NaN.

    Returns
    -------
    ndarray [..., 2X - 1, 2Y - 1]
        Lag `(dx, dy)` at index `(X - 1 + dx, Y - 1 + dy)`; 1 at the centre.

    Example
    -------
    >>> x = np.arange(20)
    >>> stripes = np.cos(2 * np.pi * x / 5)[:, None] * np.ones(20)
    >>> ac = spatial_autocorrelogram(stripes)
    >>> round(float(ac[19, 19]), 6), round(float(ac[24, 19]), 6)
    (1.0, 1.0)
    """
    maps = np.asarray(maps, dtype=np.float64)
    nx, ny = maps.shape[-2:]
    valid = np.isfinite(maps).astype(np.float64)
    x = np.where(valid > 0, maps, 0.0)
    shape = (2 * nx - 1, 2 * ny - 1)

    def xcorr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # sum_p a[p] b[p + lag], every lag at once; shifted so that lag 0 is at the centre
        fa, fb = np.fft.rfft2(a, s=shape), np.fft.rfft2(b, s=shape)
        out = np.fft.irfft2(np.conj(fa) * fb, s=shape)
        return np.fft.fftshift(out, axes=(-2, -1))

    n = np.rint(xcorr(valid, valid))
    sum_a, sum_b = xcorr(x, valid), xcorr(valid, x)
    sum_ab = xcorr(x, x)
    sum_aa, sum_bb = xcorr(x * x, valid), xcorr(valid, x * x)
    with np.errstate(invalid="ignore", divide="ignore"):
        cov = n * sum_ab - sum_a * sum_b
        var = (n * sum_aa - sum_a**2) * (n * sum_bb - sum_b**2)
        r = cov / np.sqrt(np.clip(var, 0.0, None))
    small = (n < min_overlap) | (var <= 1e-12 * np.maximum(n, 1) ** 4)
    return np.where(small, np.nan, np.clip(r, -1.0, 1.0))


@dataclass(frozen=True)
class GridScores(SavableResult):
    """Grid scores of each unit's rate map.

    Attributes
    ----------
    gridness_60 : ndarray [N]
        `min(r60, r120) - max(r30, r90, r150)`; NaN for a map too masked to score.
    gridness_90 : ndarray [N]
        `r90 - max(r45, r135)` (square grids).
    spacing : ndarray [N]
        Median distance to the six nearest autocorrelogram peaks (metres when the maps know
        their extent, else bins); NaN with fewer than three peaks.
    orientation_deg : ndarray [N]
        Angle of the hexagonal axes to the x axis, in [0, 60) degrees.
    autocorrelograms : ndarray [N, 2X - 1, 2Y - 1]
    inner_radius : ndarray [N]
        The annulus' inner radius (the central peak's, in bins).
    """

    gridness_60: np.ndarray
    gridness_90: np.ndarray
    spacing: np.ndarray
    orientation_deg: np.ndarray
    autocorrelograms: np.ndarray
    inner_radius: np.ndarray


def _rotation_weights(
    shape: tuple[int, int], angle_deg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear sampling of a correlogram rotated by `angle_deg` about its centre: for every
    pixel the flat indices of its four source pixels and their weights (`[4, P]` each), with
    `inside [P]` false where the source falls off the correlogram."""
    h, w = shape
    cy, cx = (h - 1) / 2, (w - 1) / 2
    ii, jj = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
    theta = np.radians(angle_deg)
    # source of the rotated value at (i, j): the point rotated back by -theta
    si = np.cos(theta) * ii + np.sin(theta) * jj + cy
    sj = -np.sin(theta) * ii + np.cos(theta) * jj + cx
    i0, j0 = np.floor(si).astype(int), np.floor(sj).astype(int)
    fi, fj = si - i0, sj - j0
    inside = ((i0 >= 0) & (i0 + 1 < h) & (j0 >= 0) & (j0 + 1 < w)).ravel()
    i0c, j0c = np.clip(i0, 0, h - 2), np.clip(j0, 0, w - 2)
    idx = np.stack(
        [i0c * w + j0c, (i0c + 1) * w + j0c, i0c * w + j0c + 1, (i0c + 1) * w + j0c + 1]
    ).reshape(4, -1)
    weights = np.stack([(1 - fi) * (1 - fj), fi * (1 - fj), (1 - fi) * fj, fi * fj]).reshape(4, -1)
    return idx, weights, inside, np.hypot(ii, jj).ravel()


def _ring_means(flat: np.ndarray, radius: np.ndarray, rings: np.ndarray) -> np.ndarray:
    """Mean of each correlogram `[M, P]` over each 1-bin-wide ring `[M, R]` (NaN if masked)."""
    return np.stack(
        [
            np.nanmean(np.where((radius >= r - 0.5) & (radius < r + 0.5), flat, np.nan), axis=1)
            for r in rings
        ],
        axis=1,
    )


def _central_radius(ac: np.ndarray, radius: np.ndarray, r_max: float) -> np.ndarray:
    """Radius of each correlogram's central peak `[M]`: the first ring (1-bin wide) whose mean
    correlation falls below zero, or its first local minimum when none does."""
    rings = np.arange(1, int(r_max) + 1)
    flat = ac.reshape(ac.shape[0], -1)
    with warnings.catch_warnings():  # a ring wholly masked is NaN, handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        profile = _ring_means(flat, radius, rings)
    # a wholly masked ring is read as above any correlation: it never ends the central peak
    profile = np.where(np.isnan(profile), 2.0, profile)
    below = profile < 0
    first_below = np.where(below.any(axis=1), below.argmax(axis=1), -1)
    rising = np.diff(profile, axis=1) > 0
    first_min = np.where(rising.any(axis=1), rising.argmax(axis=1), len(rings) - 1)
    pick = np.where(first_below >= 0, first_below, first_min)
    return rings[np.clip(pick, 0, len(rings) - 1)].astype(np.float64)


def _masked_pearson(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Pearson correlation of rows of `a` and `b` `[M, P]` over the entries `mask` keeps."""
    mask = mask & np.isfinite(a) & np.isfinite(b)
    n = mask.sum(axis=1)
    a0, b0 = np.where(mask, a, 0.0), np.where(mask, b, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ma, mb = a0.sum(1) / n, b0.sum(1) / n
        da, db = np.where(mask, a - ma[:, None], 0.0), np.where(mask, b - mb[:, None], 0.0)
        r = (da * db).sum(1) / np.sqrt((da**2).sum(1) * (db**2).sum(1))
    return np.where(n >= _MIN_OVERLAP, r, np.nan)


def _peaks(ac: np.ndarray, inner: float, radius: np.ndarray) -> np.ndarray:
    """Positions `[K, 2]` (bins from the centre) of the six local maxima nearest the centre,
    outside the central peak, with positive correlation."""
    filled = np.where(np.isfinite(ac), ac, -np.inf)
    local = (
        filled == scipy.ndimage.maximum_filter(filled, size=3, mode="constant", cval=-np.inf)
    ) & (filled > 0)
    local &= radius.reshape(ac.shape) > inner * 0.5
    ii, jj = np.nonzero(local)
    centre = (np.array(ac.shape) - 1) / 2
    offsets = np.stack([ii - centre[0], jj - centre[1]], axis=1)
    order = np.argsort(np.hypot(offsets[:, 0], offsets[:, 1]))
    return offsets[order[:6]]


def grid_scores(maps: RateMaps | np.ndarray) -> GridScores:
    """Gridness (60 and 90 degrees), spacing and orientation of each rate map.

    For each map: its autocorrelogram; the central peak's radius (the first ring of negative
    mean correlation); for annuli from that radius out to several outer radii, the
    correlations between the correlogram and itself rotated by 30, 45, 60, 90, 120, 135 and
    150 degrees; each score is its maximum over the annuli (Langston et al. 2010). Spacing and
    orientation come from the six autocorrelogram peaks nearest the centre.

    Parameters
    ----------
    maps : RateMaps or array [N, X, Y]
        Rate maps (NaN: masked bins). With a `RateMaps`, spacing is in metres.

    Returns
    -------
    GridScores
        `gridness_60 [N]`, `gridness_90 [N]`, `spacing [N]`, `orientation_deg [N]`.

    Example
    -------
    >>> x, y = np.meshgrid(np.linspace(0, 1, 40), np.linspace(0, 1, 40), indexing="ij")
    >>> k = 2 * np.pi / 0.3 * 2 / np.sqrt(3)
    >>> hexagonal = sum(np.cos(k * (np.cos(a) * x + np.sin(a) * y)) for a in (0, np.pi / 3, 2 * np.pi / 3))
    >>> bool(grid_scores(hexagonal[None]).gridness_60[0] > 1.0)
    True
    """
    bin_size = maps.bin_size if isinstance(maps, RateMaps) else (1.0, 1.0)
    values = maps.maps if isinstance(maps, RateMaps) else np.asarray(maps, dtype=np.float64)
    if values.ndim != 3:
        raise ShapeError(f"maps must be [N, X, Y], got shape {values.shape}")
    ac = spatial_autocorrelogram(values)  # [N, H, W]
    n_maps, h, w = ac.shape
    flat = ac.reshape(n_maps, -1)
    r_max = (min(h, w) - 1) / 2
    rotated: dict[int, np.ndarray] = {}
    radius = np.zeros(h * w)
    for angle in _ANGLES_DEG:
        idx, weights, inside, radius = _rotation_weights((h, w), angle)
        sampled = (flat[:, idx] * weights[None]).sum(axis=1)  # NaN if a source pixel is NaN
        rotated[angle] = np.where(inside[None], sampled, np.nan)
    inner = _central_radius(ac, radius, r_max)
    best60 = np.full(n_maps, -np.inf)
    best90 = np.full(n_maps, -np.inf)
    for fraction in _OUTER_FRACTIONS:
        outer = fraction * r_max
        annulus = (radius[None] >= inner[:, None]) & (radius[None] <= outer)
        r = {a: _masked_pearson(flat, rotated[a], annulus) for a in _ANGLES_DEG}
        g60 = np.minimum(r[60], r[120]) - np.maximum.reduce([r[30], r[90], r[150]])
        g90 = r[90] - np.maximum(r[45], r[135])
        best60 = np.fmax(best60, g60)
        best90 = np.fmax(best90, g90)
    best60[~np.isfinite(best60)] = np.nan
    best90[~np.isfinite(best90)] = np.nan
    spacing = np.full(n_maps, np.nan)
    orientation = np.full(n_maps, np.nan)
    for m in range(n_maps):
        peaks = _peaks(ac[m], inner[m], radius)
        if len(peaks) < 3:
            continue
        metric = peaks * np.array(bin_size)
        spacing[m] = float(np.median(np.hypot(metric[:, 0], metric[:, 1])))
        # the six axes of a hexagon agree modulo 60 degrees: average them on that circle
        angles = np.arctan2(metric[:, 1], metric[:, 0])
        mean = np.angle(np.exp(6j * angles).mean()) / 6
        orientation[m] = float(np.round(np.degrees(mean), 6) % 60.0)
    return GridScores(
        gridness_60=best60,
        gridness_90=best90,
        spacing=spacing,
        orientation_deg=orientation,
        autocorrelograms=ac,
        inner_radius=inner,
    )


@dataclass(frozen=True)
class ShuffleThreshold(SavableResult):
    """The gridness a unit must exceed to count as a grid cell.

    Attributes
    ----------
    threshold : float
        The `percentile`-th percentile of `null_scores`.
    percentile : float
    null_scores : ndarray [S, N]
        Gridness (60 degrees) of each unit's map after each of S time shifts.
    """

    threshold: float
    percentile: float
    null_scores: np.ndarray


def gridness_threshold(
    positions: np.ndarray,
    activity: np.ndarray,
    *,
    extent: tuple[float, float, float, float],
    bins: int | tuple[int, int] = 32,
    min_visits: int = 5,
    n_shuffles: int = 20,
    percentile: float = 95.0,
    min_shift: int | None = None,
    seed: int = 0,
) -> ShuffleThreshold:
    """Gridness threshold from maps whose activity is shifted in time against the path.

    The samples (flattened in time-major order) are shifted circularly by a random number of
    steps, at least `min_shift`, which keeps each unit's own statistics and breaks its link to
    position; the same shift serves all units of one shuffle, so a shuffle is one rate-map
    computation. The pooled null scores of all units and shuffles give the threshold
    (Langston et al. 2010 used the 95th percentile).

    Parameters
    ----------
    positions : array [..., 2]
    activity : array [..., N]
    extent, bins, min_visits
        As `rate_maps`.
    n_shuffles : int
    percentile : float
    min_shift : int, optional
        Fewest steps of a shift (default: a tenth of the samples).
    seed : int

    Returns
    -------
    ShuffleThreshold
    """
    flat_positions, flat_activity = _flat_samples(positions, activity)
    samples = flat_positions.shape[0]
    if n_shuffles < 1 or not 0 < percentile < 100:
        raise ArgumentError(
            f"need n_shuffles >= 1 and 0 < percentile < 100, got {n_shuffles}, {percentile}"
        )
    low = samples // 10 if min_shift is None else int(min_shift)
    if not 0 < low < samples - low:
        raise ArgumentError(f"min_shift {low} leaves no shift of {samples} samples")
    rng = np.random.default_rng(seed)
    null = []
    for shift in rng.integers(low, samples - low, size=n_shuffles):
        shuffled = rate_maps(
            flat_positions,
            np.roll(flat_activity, int(shift), axis=0),
            extent=extent,
            bins=bins,
            min_visits=min_visits,
        )
        null.append(grid_scores(shuffled).gridness_60)
    scores = np.stack(null)
    return ShuffleThreshold(
        threshold=float(np.nanpercentile(scores, percentile)),
        percentile=float(percentile),
        null_scores=scores,
    )
