"""The explorer in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`) driven by Selenium loads every page, checks that each figure is drawn with
data, and that choosing a task or an ensemble member redraws it.

Set NEURODYN_SCREENSHOTS to a folder to keep a screenshot of every page.
"""

import os
import shutil
from pathlib import Path

import pytest

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

RUN = "yang19"
_TRACES = """
const div = document.getElementById(arguments[0]);
return (div.data || []).map(t => ({
    name: t.name || "", type: t.type, mode: t.mode || "",
    points: (t.type === "heatmap" ? t.z.flat() : t.x).filter(v => v !== null).length,
    first: t.type === "heatmap" ? t.z[0][0] : t.y[0],
    title: (div.layout.title || {}).text || "",
    legend: ((div.layout.legend || {}).title || {}).text || "",
}));
"""


def _browser_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    paths = _browser_paths()
    if paths is None:
        reason = "no chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; .ci/run installs them in CI")
        pytest.skip(reason)
    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in (
        "--headless=new",
        "--no-sandbox",  # CI containers run as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--window-size=1200,2000",
        "--enable-unsafe-swiftshader",  # WebGL (the 3-D view) in software, without a GPU
    ):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium')}")
    driver = webdriver.Chrome(options=options, service=Service(paths[1]))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _shot(browser, name: str) -> None:
    folder = os.environ.get("NEURODYN_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        browser.get_screenshot_as_file(str(Path(folder) / f"{name}.png"))


def _rendered(browser, figure: str, times: int = 1) -> list[dict]:
    """The traces of `figure` once the page has drawn it `times` times."""
    WebDriverWait(browser, 20).until(
        lambda b: (
            int(
                b.execute_script(
                    "return document.getElementById(arguments[0]).dataset.rendered || 0", figure
                )
            )
            >= times
        )
    )
    return browser.execute_script(_TRACES, figure)


def _drawn(browser, figure: str) -> bool:
    """Whether plotly drew the figure into the page (an SVG, and a WebGL canvas for 3-D)."""
    return browser.execute_script(
        "const d = document.getElementById(arguments[0]);"
        "return d.querySelector('.main-svg') !== null && !d.hidden;",
        figure,
    )


def test_index_lists_runs_sweeps_studies_and_comparisons(browser, explorer):
    browser.get(explorer + "/")
    links = {a.text for a in browser.find_elements(By.TAG_NAME, "a")}
    assert {RUN, "tiny-lr=0.01", "tiny-lr=0.003", "tiny"} <= links
    assert browser.find_element(By.ID, "sweep-list").text == "tiny"
    assert browser.find_element(By.ID, "study-list").text == "yang19"
    assert browser.find_element(By.ID, "compare-list").text == "tiny"
    _shot(browser, "index")


def test_run_page_draws_trajectories_and_follows_the_chosen_task_and_member(browser, explorer):
    browser.get(f"{explorer}/run/{RUN}")
    traces = _rendered(browser, "trajectories")
    assert _drawn(browser, "trajectories")
    lines = [t for t in traces if t["mode"] == "lines"]
    points = [t for t in traces if t["mode"] == "markers"]
    # pdm's trajectories averaged per signed coherence, and member 0's fixed points
    assert traces[0]["legend"] == "signed coherence" and len(lines) == 8
    assert all(t["points"] > 10 for t in lines)
    assert points and sum(t["points"] for t in points) >= 1
    assert "member 0" in traces[0]["title"]
    assert browser.find_element(By.ID, "epoch").get_attribute("value") == "stimulus"
    learning = _rendered(browser, "learning")
    assert [t["points"] for t in learning] == [6, 6]  # two members, logged every 10 of 60 steps
    variance = _rendered(browser, "task_variance")
    assert variance[0]["type"] == "heatmap" and variance[0]["points"] > 0
    assert _drawn(browser, "learning") and _drawn(browser, "task_variance")
    _shot(browser, "run")

    Select(browser.find_element(By.ID, "member")).select_by_value("1")
    other = _rendered(browser, "trajectories", 2)
    assert "member 1" in other[0]["title"]
    assert other[0]["first"] != traces[0]["first"]  # another network's principal components

    Select(browser.find_element(By.ID, "task")).select_by_value("dlygo")
    ring = _rendered(browser, "trajectories", 3)
    assert ring[0]["legend"].startswith("stimulus direction")
    assert [t["name"] for t in ring if t["mode"] == "lines"] == [str(45 * i) for i in range(8)]
    assert browser.find_element(By.ID, "epoch").get_attribute("value") == "delay"
    _shot(browser, "run-dlygo-member1")

    Select(browser.find_element(By.ID, "condition")).select_by_index(1)
    one = _rendered(browser, "trajectories", 4)
    assert len([t for t in one if t["mode"] == "lines"]) == 1

    Select(browser.find_element(By.ID, "tv_member")).select_by_value("1")
    changed = _rendered(browser, "task_variance", 2)
    assert "member 1" in changed[0]["title"] and changed[0]["points"] > 0


def test_sweep_page_overlays_the_learning_curves_of_its_runs(browser, explorer):
    browser.get(f"{explorer}/sweep/tiny")
    traces = _rendered(browser, "learning")
    assert len(traces) == 4 and all(t["points"] == 6 for t in traces)  # 2 runs x 2 members
    Select(browser.find_element(By.ID, "metric")).select_by_value("perf.pdm")
    perf = _rendered(browser, "learning", 2)
    assert perf[0]["title"].startswith("perf.pdm") and perf[0]["first"] != traces[0]["first"]
    assert _drawn(browser, "learning")
    _shot(browser, "sweep")


def test_compare_page_draws_the_matrix_and_its_embedding(browser, explorer):
    browser.get(f"{explorer}/compare/tiny")
    heat = _rendered(browser, "heatmap")
    assert heat[0]["points"] == 16  # four networks
    mds = _rendered(browser, "mds")
    assert sorted(t["name"] for t in mds) == ["tiny-lr=0.003", "tiny-lr=0.01"]
    assert _drawn(browser, "heatmap") and _drawn(browser, "mds")
    _shot(browser, "compare")


def test_study_page_shows_its_measures_and_links_its_run(browser, explorer):
    browser.get(f"{explorer}/study/yang19")
    rows = browser.find_elements(By.CSS_SELECTOR, "table tr")
    assert len(rows) == 3  # the header and one row per member
    assert rows[0].find_elements(By.TAG_NAME, "th")[0].text == "member"
    links = {a.text: a.get_attribute("href") for a in browser.find_elements(By.TAG_NAME, "a")}
    assert links[RUN].endswith(f"/run/{RUN}")
    browser.get(links["the study report"])
    assert "Yang" in browser.title or "yang19" in browser.page_source
    _shot(browser, "study")
