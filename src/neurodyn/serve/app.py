"""The explorer's pages and JSON endpoints (Starlette), and `serve`, which runs them.

Pages::

    /                      the runs (from the run index), sweeps, studies and comparisons
    /run/<id>              trajectories in 3-D PCA with fixed points, learning curves, task variance
    /sweep/<name>          learning curves of every run of a sweep
    /study/<name>          a study's measures, its runs and its report
    /compare/<name>        the clustered similarity matrix and its MDS embedding

Each figure of a page is fetched from `/api/...` as `{figure, options, note}` and drawn by
plotly.js; `options` updates the choices of selects that depend on others.
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from typing import Any

import plotly
from plotly.io.json import to_json_plotly
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from neurodyn.analysis.fixed_points import FixedPoints
from neurodyn.analysis.trajectories import PCATrajectories
from neurodyn.errors import ArgumentError, NeurodynError
from neurodyn.runs import Run
from neurodyn.runs.analyze import (
    analysis_settings,
    load_analyses,
    member_trajectories,
    saved_task_variance,
)
from neurodyn.runs.fixedpoints import run_task, saved_fixed_points
from neurodyn.serve import catalog as cat
from neurodyn.serve.figures import (
    comparison_figures,
    learning_curves_figure,
    task_variance_figure,
    trajectory_figure,
)

_STATIC = Path(__file__).parent / "static"
_PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1100px; color: #222;
       padding: 0 1em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.9em; }
td, th { border-bottom: 1px solid #ddd; padding: 0.25em 0.7em; text-align: left; }
.meta, .note { color: #666; font-size: 0.9em; }
.controls label { margin-right: 1em; }
nav a { margin-right: 1em; }
"""


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style>
<script src="/static/plotly.min.js"></script><script src="/static/explorer.js"></script>
</head><body><nav><a href="/">all runs</a></nav>{body}</body></html>"""
    )


def _json(body: dict[str, Any], status_code: int = 200) -> Response:
    # plotly's encoder turns numpy arrays into lists and NaN into null
    return Response(to_json_plotly(body), status_code=status_code, media_type="application/json")


def _select(name: str, label: str, choices: list[tuple[str, str]], selected: str = "") -> str:
    options = "".join(
        f'<option value="{html.escape(v)}"{" selected" if v == selected else ""}>'
        f"{html.escape(text)}</option>"
        for v, text in choices
    )
    return f'<label>{html.escape(label)} <select id="{name}">{options}</select></label>'


def _figure(name: str, url: str, params: str = "") -> str:
    return (
        f'<p class="note" id="{name}-note"></p>'
        f'<div class="figure" id="{name}" data-url="{html.escape(url)}" data-params="{params}">'
        "</div>"
    )


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def _metric_names(rows: list[dict[str, float]]) -> list[str]:
    names = {k for r in rows for k in r if k == "loss" or k.startswith("perf.")}
    return sorted(names, key=lambda k: (k != "loss", k))


# -- reading saved results (cached while the files stay the same) ------------------------------


def _stamp(path: Path) -> float:
    return path.stat().st_mtime if path.exists() else 0.0


@lru_cache(maxsize=64)
def _saved_pca(run_path: str, task: str, stamp: float) -> PCATrajectories | None:
    found = {a.task: a.pca for a in load_analyses(Run(Path(run_path)))}
    return found.get(task)


@lru_cache(maxsize=64)
def _member_pca(run_path: str, task: str, member: int, batch_size: int, seed: int) -> Any:
    run = Run(Path(run_path))
    return member_trajectories(
        run, run_task(run, task), member=member, batch_size=batch_size, seed=seed
    )


@lru_cache(maxsize=64)
def _fixed_points(run_path: str, task: str, stamp: float) -> dict[str, FixedPoints]:
    return saved_fixed_points(Run(Path(run_path)), task)


# -- the app ---------------------------------------------------------------------------------


def create_app(root: str | Path = "runs") -> Starlette:
    """The explorer of the runs folder `root`, as an ASGI app (serve it with uvicorn)."""
    root = Path(root)

    def index(request: Request) -> HTMLResponse:
        found = cat.catalog(root)
        rows = "".join(
            f"<tr><td>{_link(f'/run/{r.id}', r.id)}</td><td>{html.escape(', '.join(r.tasks))}</td>"
            f"<td>{len(r.seeds)}</td><td>{html.escape(r.status)}</td>"
            f"<td>{'fitted' if r.status == 'fitted' else f'{r.steps_done} / {r.steps_total}'}"
            "</td><td>"
            + html.escape(
                ", ".join(f"{k} {v:.2f}" for k, v in (r.performance or {}).items()) or "-"
            )
            + "</td></tr>"
            for r in found.runs
        )
        table = (
            "<table><tr><th>run</th><th>tasks</th><th>members</th><th>status</th><th>steps</th>"
            f"<th>performance</th></tr>{rows}</table>"
            if found.runs
            else f"<p>No runs in {html.escape(str(root))} yet: train one with "
            "<code>neurodyn train CONFIG</code>.</p>"
        )

        def listing(title: str, kind: str, names: list[str]) -> str:
            if not names:
                return ""
            items = "".join(f"<li>{_link(f'/{kind}/{n}', n)}</li>" for n in names)
            return f"<h2>{title}</h2><ul id='{kind}-list'>{items}</ul>"

        return _page(
            "neurodyn explorer",
            f"<h1>neurodyn runs in <code>{html.escape(str(root))}</code></h1>"
            f'<h2>Runs</h2><div id="runs">{table}</div>'
            + listing("Sweeps", "sweep", found.sweeps)
            + listing("Studies", "study", found.studies)
            + listing("Comparisons", "compare", found.comparisons),
        )

    def run_page(request: Request) -> HTMLResponse:
        run = cat.open_run(root, request.path_params["run_id"])
        record = run.record()
        tasks = list(run.task.task_names)
        saved = {a.task for a in load_analyses(run)}
        settings = analysis_settings(run)
        members = [(str(m), f"{m} (seed {s})") for m, s in enumerate(record.seeds)]
        first = next((t for t in tasks if t in saved), tasks[0])
        chosen_member = str(settings["member"]) if settings else "0"
        metrics = _metric_names(run.metrics())
        report = (
            f"<p>{_link(f'/files/run/{run.id}/report.html', 'the HTML report')}</p>"
            if (run.path / "report.html").is_file()
            else ""
        )
        # a rate fit solves for its weights: no steps and no learning curves to show
        fitted = record.status == "fitted"
        steps = (
            "no training steps" if fitted else f"{record.steps_done} / {record.steps_total} steps"
        )
        learning = (
            "<h2>Learning curves</h2><p class='controls'>"
            + _select("metric", "metric", [(m, m) for m in metrics], metrics[0] if metrics else "")
            + "</p>"
            + _figure("learning", f"/api/run/{run.id}/learning", "metric")
            if metrics or not fitted
            else ""
        )
        body = (
            f"<h1>Run {html.escape(run.id)}</h1>"
            f'<p class="meta">tasks {html.escape(", ".join(tasks))} · {len(record.seeds)} '
            f"members · {html.escape(record.status)} · {steps}</p>{report}"
            "<h2>Trajectories and fixed points</h2>"
            '<p class="controls">'
            + _select("task", "task", [(t, t) for t in tasks], first)
            + _select("member", "member", members, chosen_member)
            + _select("epoch", "fixed points of epoch", [("", "none")])
            + _select("condition", "condition", [("", "all")])
            + "</p>"
            + _figure(
                "trajectories", f"/api/run/{run.id}/trajectories", "task member epoch condition"
            )
            + learning
            + "<h2>Task variance and lesions</h2><p class='controls'>"
            + _select("tv_member", "member", members, chosen_member)
            + "</p>"
            + _figure("task_variance", f"/api/run/{run.id}/task_variance", "tv_member")
        )
        return _page(f"run {run.id}", body)

    def run_trajectories(request: Request) -> Response:
        run = cat.open_run(root, request.path_params["run_id"])
        query = request.query_params
        task = run_task(run, query.get("task") or None).name
        member = int(query.get("member", "0"))
        run.check_member(member, len(run.config.model.seeds))
        settings = analysis_settings(run)
        stamp = _stamp(run.path / "analysis" / "settings.json")
        saved = _saved_pca(str(run.path), task, stamp)
        if settings is None or saved is None:
            return _json(
                {
                    "note": f"No analyses of task {task} saved: run `neurodyn analyze "
                    f"{run.path}` to see its trajectories."
                }
            )
        if member == settings["member"]:
            pca, how = saved, "saved by `neurodyn analyze`"
        else:
            pca = _member_pca(str(run.path), task, member, settings["batch_size"], settings["seed"])
            how = "computed now on the same trials (`neurodyn analyze` saved another member)"
        stamps = sum(_stamp(p) for p in (run.path / "analysis").glob(f"{task}.*.fixed_points.npz"))
        by_epoch = _fixed_points(str(run.path), task, stamps)
        epoch = query.get("epoch", next(iter(by_epoch), ""))
        epoch = epoch if epoch in by_epoch else next(iter(by_epoch), "")
        conditions = [(str(i), f"{v:g}") for i, v in enumerate(pca.condition_values)]
        condition = query.get("condition", "")
        condition = condition if condition in {c for c, _ in conditions} else ""
        fixed = by_epoch.get(epoch)
        title = f"{task}, member {member}" + (
            f", fixed points of the {epoch} epoch" if fixed else ""
        )
        note = f"Trajectories {how}."
        if fixed is None:
            note += f" No fixed points saved for {task}: `neurodyn fixedpoints {run.path} --task {task}` finds them."
        figure = trajectory_figure(
            pca,
            fixed,
            member=member,
            condition=int(condition) if condition else None,
            title=title,
        )
        return _json(
            {
                "figure": figure,
                "note": note,
                "options": {
                    "epoch": {
                        "choices": [*((e, e) for e in by_epoch), ("", "none")],
                        "selected": epoch,
                    },
                    "condition": {"choices": [("", "all"), *conditions], "selected": condition},
                },
            }
        )

    def run_learning(request: Request) -> Response:
        run = cat.open_run(root, request.path_params["run_id"])
        rows = run.metrics()
        if not rows:
            return _json({"note": "No metrics logged yet."})
        names = _metric_names(rows)
        metric = request.query_params.get("metric", names[0])
        metric = metric if metric in names else names[0]
        return _json({"figure": learning_curves_figure({run.id: rows}, metric, title=metric)})

    def run_task_variance(request: Request) -> Response:
        run = cat.open_run(root, request.path_params["run_id"])
        found = {s.member: s for s in saved_task_variance(run)}
        if not found:
            return _json(
                {
                    "note": "No task variance saved for this run. It is saved per member by the "
                    "multitask study (`neurodyn study yang19`) for the run it trains; "
                    "`neurodyn analyze` does not compute it."
                }
            )
        member = int(request.query_params.get("tv_member", min(found)))
        if member not in found:
            return _json(
                {"note": f"No task variance saved for member {member} (saved: {sorted(found)})."}
            )
        saved = found[member]
        note = "" if saved.lesions is not None else "No lesion effects saved with it."
        return _json({"figure": task_variance_figure(saved), "note": note})

    def sweep_page(request: Request) -> HTMLResponse:
        name = request.path_params["name"]
        ids = cat.sweep_run_ids(root, name)
        rows = [r for i in ids if Run.is_run(root / i) for r in Run(root / i).metrics()]
        metrics = _metric_names(rows)
        runs = "".join(f"<li>{_link(f'/run/{i}', i)}</li>" for i in ids)
        body = (
            f"<h1>Sweep {html.escape(name)}</h1><p class='meta'>{len(ids)} runs</p>"
            "<h2>Learning curves</h2><p class='controls'>"
            + _select("metric", "metric", [(m, m) for m in metrics], metrics[0] if metrics else "")
            + "</p>"
            + _figure("learning", f"/api/sweep/{name}/learning", "metric")
            + f"<h2>Runs</h2><ul>{runs}</ul>"
        )
        return _page(f"sweep {name}", body)

    def sweep_learning(request: Request) -> Response:
        name = request.path_params["name"]
        curves = {
            i: Run(root / i).metrics()
            for i in cat.sweep_run_ids(root, name)
            if Run.is_run(root / i)
        }
        names = _metric_names([r for rows in curves.values() for r in rows])
        if not names:
            return _json({"note": "No run of this sweep has logged metrics yet."})
        metric = request.query_params.get("metric", names[0])
        metric = metric if metric in names else names[0]
        title = f"{metric} across the runs of sweep {name}"
        return _json({"figure": learning_curves_figure(curves, metric, title=title)})

    def study_page(request: Request) -> HTMLResponse:
        name = request.path_params["name"]
        folder = root / f"study-{name}"
        if not folder.is_dir():
            raise NeurodynError(f"no study {name!r} in {root}; the index page lists them")
        measures = cat.study_measures(root, name)
        table = ""
        if measures:
            head = "".join(f"<th>{html.escape(k)}</th>" for k in measures[0])
            body_rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row.values()) + "</tr>"
                for row in measures
            )
            table = f"<h2>Measures</h2><div style='overflow-x:auto'><table><tr>{head}</tr>{body_rows}</table></div>"
        runs = "".join(f"<li>{_link(f'/run/{i}', i)}</li>" for i in cat.study_runs(root, name))
        report = (
            f"<p>{_link(f'/files/study/{name}/report.html', 'the study report')}</p>"
            if (folder / "report.html").is_file()
            else ""
        )
        return _page(
            f"study {name}",
            f"<h1>Study {html.escape(name)}</h1>{report}{table}<h2>Runs</h2><ul>{runs}</ul>",
        )

    def compare_page(request: Request) -> HTMLResponse:
        name = request.path_params["name"]
        result = cat.comparison(root, name)
        body = (
            f"<h1>Comparison {html.escape(name)}</h1>"
            f"<p class='meta'>{len(result.labels)} networks · {html.escape(result.metric)} "
            f"({html.escape(result.kind)})</p>"
            + _figure("heatmap", f"/api/compare/{name}/heatmap")
            + _figure("mds", f"/api/compare/{name}/mds")
        )
        return _page(f"comparison {name}", body)

    def compare_figure(request: Request) -> Response:
        heat, mds = comparison_figures(cat.comparison(root, request.path_params["name"]))
        return _json({"figure": heat if request.path_params["view"] == "heatmap" else mds})

    def files(request: Request) -> Response:
        kind, name = request.path_params["kind"], request.path_params["name"]
        folder = cat.open_run(root, name).path if kind == "run" else root / f"study-{name}"
        path = folder / "report.html"
        if not path.is_file():
            raise NeurodynError(f"{path} does not exist")
        return FileResponse(path)

    def static(request: Request) -> Response:
        name = request.path_params["name"]
        path = _PLOTLY_JS if name == "plotly.min.js" else _STATIC / "explorer.js"
        if name not in ("plotly.min.js", "explorer.js"):
            return Response("not found", status_code=404)
        return FileResponse(path, media_type="text/javascript")

    async def not_found(request: Request, exc: Exception) -> Response:
        message = str(exc)
        if request.url.path.startswith("/api/"):
            return _json({"error": message}, status_code=404)
        return HTMLResponse(
            f"<!doctype html><title>not found</title><p>{html.escape(message)}</p>"
            '<p><a href="/">all runs</a></p>',
            status_code=404,
        )

    return Starlette(
        routes=[
            Route("/", index),
            Route("/run/{run_id}", run_page),
            Route("/api/run/{run_id}/trajectories", run_trajectories),
            Route("/api/run/{run_id}/learning", run_learning),
            Route("/api/run/{run_id}/task_variance", run_task_variance),
            Route("/sweep/{name}", sweep_page),
            Route("/api/sweep/{name}/learning", sweep_learning),
            Route("/study/{name}", study_page),
            Route("/compare/{name}", compare_page),
            Route("/api/compare/{name}/{view:str}", compare_figure),
            Route("/files/{kind:str}/{name}/report.html", files),
            Route("/static/{name}", static),
        ],
        exception_handlers={NeurodynError: not_found},
    )


def serve(root: str | Path = "runs", *, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve the explorer of `root` at http://HOST:PORT until interrupted.

    A `root` that is a file, a port out of range and an address that cannot be listened on
    (a port in use, an unknown host) are refused before the server starts."""
    import socket

    import uvicorn

    if Path(root).exists() and not Path(root).is_dir():
        raise ArgumentError(f"{root} is a file, not a folder of runs: name the runs folder")
    if isinstance(port, bool) or not 1 <= port <= 65535:
        raise ArgumentError(f"port must be from 1 to 65535, got {port}")
    # uvicorn says it cannot listen in its own log line after the start line, with exit status
    # 1 (and an out-of-range port in a traceback): try the address first
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.create_server((host, port), family=family):
            pass
    except OSError as err:
        raise ArgumentError(
            f"cannot listen on {host}:{port} ({err.strerror or err}): choose another port "
            "(--port) or address (--host)"
        ) from None
    # a folder not there yet is served as empty, and shows the runs once they are written
    later = "" if Path(root).is_dir() else f"; {root} does not exist yet: empty until it holds runs"
    print(f"neurodyn explorer of {root} at http://{host}:{port} (Ctrl-C stops it{later})")
    uvicorn.run(create_app(root), host=host, port=port, log_level="warning")
