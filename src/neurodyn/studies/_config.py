"""What every study's config reading shares."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from neurodyn.errors import ConfigError


def with_defaults(data: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The study's fields: `data` over a copy of its `defaults`. A field the study does not
    have is named, with the ones it has."""
    unknown = set(data) - set(defaults)
    if unknown:
        raise ConfigError(
            f"unknown study field(s) {sorted(unknown)}; fields: {', '.join(defaults)}"
        )
    return {**copy.deepcopy(dict(defaults)), **data}
