"""Screenshots of a report with headless Chromium, to look at a page as a person would.

`make check-report` uses this on the demo's report and a comparison report; the tests use it
where Chromium is installed (Debian: `apt-get install chromium`).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from neurodyn.errors import NeurodynError

_BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) executable on PATH, or None."""
    return next((path for name in _BROWSERS if (path := shutil.which(name))), None)


def screenshot(
    page: str | Path,
    png: str | Path,
    *,
    width: int = 1200,
    height: int = 4000,
    timeout_s: float = 120.0,
) -> Path:
    """Render the HTML file `page` in headless Chromium into `png` (`width` x `height` px).

    Raises NeurodynError when no Chromium is installed or it writes no image.
    """
    browser = find_chromium()
    if browser is None:
        raise NeurodynError(
            "no Chromium found for screenshots; install it (Debian: apt-get install chromium)"
        )
    png = Path(png).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    png.unlink(missing_ok=True)
    command = [
        browser,
        "--headless",
        "--no-sandbox",  # containers and CI run as root, where Chromium's sandbox will not start
        "--disable-gpu",
        "--hide-scrollbars",
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        Path(page).resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    if not png.exists():
        raise NeurodynError(
            f"Chromium wrote no screenshot of {page} (exit {done.returncode}): "
            f"{done.stderr.strip().splitlines()[-1:] or 'no message'}"
        )
    return png
