"""The grid-fragmentation study: the maze's walls reach the network only through its boundary
rays, so without rays the hairpin and the virtual hairpin give the same measures exactly, and
with them they differ."""

import csv

import yaml

from neurodyn.cli import main


def test_without_rays_the_hairpin_and_the_virtual_hairpin_are_the_same(tmp_path, quick_study):
    quick = quick_study("grid-fragmentation")
    with (quick.folder / "measures.csv").open() as fh:
        with_rays = next(csv.DictReader(fh))
    assert with_rays["hairpin_turn_correlation"] != with_rays["virtual_turn_correlation"]

    config = tmp_path / "no_rays.yaml"
    quick_fields = yaml.safe_load(
        (quick.folder / "config.yaml").read_text()
    )  # the quick config as run
    quick_fields["task"]["boundary_rays"] = 0
    config.write_text(yaml.safe_dump(quick_fields))
    assert (
        main(
            [
                "study",
                "grid-fragmentation",
                "--config",
                str(config),
                "--runs",
                str(tmp_path),
                "--quiet",
            ]
        )
        == 0
    )
    with (tmp_path / "study-grid-fragmentation" / "measures.csv").open() as fh:
        row = next(csv.DictReader(fh))
    for measure in ("same_direction", "opposite_direction", "turn_correlation", "arena_similarity"):
        assert row[f"hairpin_{measure}"] == row[f"virtual_{measure}"], measure
