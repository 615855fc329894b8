"""`neurodyn serve`: a local web app to explore the runs, sweeps, studies and comparisons of a
runs folder in a browser.

The stack is Starlette (a small, maintained ASGI toolkit; FastAPI is built on it) served by
uvicorn, with figures drawn in the browser by plotly.js. Why: the app only reads results and
serves JSON, which is what Starlette does with the fewest dependencies; plotly.js gives
rotatable 3-D trajectories, hover text and heat maps without any code of ours in the browser
beyond fetching figures, and the plotly Python package carries its JavaScript bundle, so the
pages need no CDN and work offline. Dash and Panel would bring their own server, state model
and much larger dependency trees for the same few views.

Install with the `serve` extra: `pip install 'neurodyn[serve]'`. Nothing in neurodyn imports
this package; it reads what `neurodyn.runs` and `neurodyn.analysis` saved and computes nothing
itself (the one exception is delegated: the trajectories of an ensemble member that
`neurodyn analyze` did not save come from `neurodyn.runs.analyze.member_trajectories`).
"""

from neurodyn.serve.app import create_app, serve

__all__ = ["create_app", "serve"]
