"""A network trained outside neurodyn, adopted: any `nn.Module` RNN cell plus a readout, with
the interface of neurodyn's own cells, so every analysis, the runs and the report take it.

The protocol. A cell is a module called as torch's own cells are,

    h_next = cell(u, h)              u [B, I], h [B, N]   (torch.nn.RNNCell, torch.nn.GRUCell)
    (h_next, c_next) = cell(u, (h, c))                     (torch.nn.LSTMCell: state_parts=2)

and a readout maps `h [..., N]` to outputs `[..., O]` (e.g. a `torch.nn.Linear`). The state the
analyses see is h, or the concatenation (h, c) of a tuple state (the map `(h, c) -> (h', c')` is
what has fixed points); the readout reads h, the first part. A cell is a map by default (its
fixed points classified on `|lambda|` against 1); a cell that takes an Euler step of a flow,
`h + dt * f(h, u)` with the task's `dt_ms`, says `continuous_time=True` and is classified on
the flow's eigenvalues `(lambda - 1) / dt_ms`, as neurodyn's CTRNN is.

Several modules of one class and shape make an ensemble (members `E`, e.g. seeds a user trained
apart). neurodyn adds no noise to an adopted network: it runs the modules as they are (so
`noise=` and `generators=` change nothing), and its parameters keep the names of the modules'
own (`cells.0.weight_hh`, `readouts.0.weight`), so a `state_dict` saved with safetensors loads
back into modules rebuilt from their import path (`AdoptedModule`, which a run's config holds).
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import torch
from torch import Tensor, nn

from neurodyn.errors import ConfigError, ShapeError, excerpt
from neurodyn.models._ensemble import EnsembleNetwork
from neurodyn.models.spec import Trajectory

# What a constructor argument read back from a module may be, to be written to a config.
_PLAIN = (int, float, str, bool, type(None))


@dataclass(frozen=True)
class AdoptedModule:
    """Where an adopted network's modules come from, as a run's config holds it
    (`model.adopted`): the classes by import path and the keyword arguments that build them.

    Attributes
    ----------
    cell : str
        The cell's class, `package.module:Class` (e.g. `torch.nn:RNNCell`).
    readout : str
        The readout's class, `package.module:Class` (e.g. `torch.nn:Linear`).
    cell_kwargs, readout_kwargs : dict
        Keyword arguments of the classes' constructors (plain YAML values).
    continuous_time : bool
        The cell takes Euler steps of a flow with the task's `dt_ms` (classified on the flow);
        False: a discrete map.
    state_parts : int
        Tensors `[B, N]` the cell's state is a tuple of (2 for `torch.nn.LSTMCell`'s (h, c)); 1:
        a plain tensor.
    """

    cell: str
    readout: str
    cell_kwargs: dict[str, Any] = field(default_factory=dict)
    readout_kwargs: dict[str, Any] = field(default_factory=dict)
    continuous_time: bool = False
    state_parts: int = 1

    def __post_init__(self) -> None:
        for name in ("cell", "readout"):
            path = getattr(self, name)
            if path.count(":") != 1 or not all(path.split(":")):
                raise ConfigError(
                    f"adopted.{name} must be an import path `package.module:Class`, got "
                    f"{excerpt(path)}"
                )
        if self.state_parts < 1:
            raise ConfigError(f"adopted.state_parts must be at least 1, got {self.state_parts}")

    def build(self, seed: int) -> tuple[nn.Module, nn.Module]:
        """A fresh cell and readout (initialised from `seed`), to load weights into."""
        cell_class = import_object(self.cell, "adopted.cell")
        readout_class = import_object(self.readout, "adopted.readout")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return (
                _construct(cell_class, self.cell_kwargs, "adopted.cell"),
                _construct(readout_class, self.readout_kwargs, "adopted.readout"),
            )


@dataclass(frozen=True)
class AdoptedSpec:
    """The sizes, time step and members of an adopted network (what `NetworkSpec` is to a
    cell of the registry), and where its modules come from when it was rebuilt from a config.

    `n_hidden` is N, the width of h; the state is `state_parts * N` wide.
    """

    n_inputs: int
    n_hidden: int
    n_outputs: int
    dt_ms: float
    seeds: tuple[int, ...]
    continuous_time: bool = False
    state_parts: int = 1
    module: AdoptedModule | None = None


def import_object(path: str, what: str) -> Any:
    """The object at `package.module:Qualified.name`; `ConfigError` naming `what` if it
    cannot be imported."""
    module_name, _, qualname = path.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
    except Exception as err:  # an import runs the module's code, which may raise anything
        raise ConfigError(
            f"{what} {path!r} cannot be imported ({type(err).__name__}: {excerpt(str(err), 80)}): "
            "install its package or put its folder on PYTHONPATH"
        ) from None
    for part in qualname.split("."):
        if not hasattr(found, part):
            raise ConfigError(
                f"{what} {path!r}: module {module_name} has no {qualname!r}; give the class's "
                "import path as package.module:Class"
            )
        found = getattr(found, part)
    return found


def import_path(module: nn.Module) -> str:
    """`package.module:Class` of `module`'s class; `ConfigError` if another process could not
    import it (a class of `__main__`, a notebook, or defined inside a function)."""
    cls = type(module)
    path = f"{cls.__module__}:{cls.__qualname__}"
    if cls.__module__ in ("__main__", "builtins") or "<locals>" in cls.__qualname__:
        raise ConfigError(
            f"{cls.__qualname__} is defined in {cls.__module__} (a script, a notebook or a "
            "function), which another process cannot import: define it at the top level of a "
            "module file (e.g. mycells.py) and import it from there"
        )
    return path


def constructor_kwargs(module: nn.Module, given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The keyword arguments that rebuild a module like `module`: `given` where it names them,
    the rest read from the module's attributes of the same names (as torch's cells and
    `nn.Linear` keep theirs: `input_size`, `hidden_size`, `nonlinearity`, ...; a bias
    argument from whether the bias is there). Arguments left at their defaults are left out.
    `ConfigError` naming a required argument that cannot be read."""
    given = dict(given or {})
    kwargs: dict[str, Any] = {}
    signature = inspect.signature(type(module).__init__)
    for name, parameter in list(signature.parameters.items())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if name in given:
            kwargs[name] = given.pop(name)
            continue
        if name in ("device", "dtype"):
            continue
        value = getattr(module, name, inspect.Parameter.empty)
        default = parameter.default
        if isinstance(default, bool) and (value is None or isinstance(value, Tensor)):
            value = value is not None  # `bias=True` kept as the bias Parameter itself
        if isinstance(value, list | tuple) and all(isinstance(v, _PLAIN) for v in value):
            value = list(value)  # e.g. layer sizes, as YAML keeps them
        if isinstance(value, (*_PLAIN, list)) and value is not inspect.Parameter.empty:
            if value != default or default is parameter.empty:
                kwargs[name] = value
        elif default is parameter.empty:
            raise ConfigError(
                f"cannot read {type(module).__qualname__}'s constructor argument {name!r} from "
                "the module: pass it in cell_kwargs= / readout_kwargs="
            )
    if given:
        raise ConfigError(
            f"{type(module).__qualname__}'s constructor takes no argument "
            f"{', '.join(map(repr, given))}"
        )
    return kwargs


def _construct(cls: Any, kwargs: dict[str, Any], what: str) -> nn.Module:
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise ConfigError(f"{what} must name an nn.Module class, got {excerpt(cls)}")
    try:
        return cls(**kwargs)
    except Exception as err:
        raise ConfigError(
            f"{what} {cls.__qualname__}(**{excerpt(kwargs, 80)}) fails "
            f"({type(err).__name__}: {excerpt(str(err), 80)}): fix {what}_kwargs"
        ) from None


class AdoptedNetwork(EnsembleNetwork):
    """E modules of one class (a user's RNN cells) and their readouts, as one network with
    the interface of neurodyn's cells (`EnsembleNetwork`): states `[T, E, B, S]`, `step`,
    `step_jacobian`, `member`.

    Parameters
    ----------
    cells : nn.Module or sequence of E modules
        Called as `cell(u [B, I], h [B, N]) -> h_next [B, N]` (torch's `RNNCell`/`GRUCell`), or
        with a tuple state of `state_parts` tensors (`LSTMCell`).
    readouts : nn.Module or sequence of E modules
        `h [..., N] -> outputs [..., O]`.
    dt_ms : float
        The time step of the task the cells run on (ms).
    continuous_time : bool
        The cells take Euler steps of a flow (classified on the flow's eigenvalues).
    state_parts : int, optional
        Tensors of a tuple state; by default 2 for `torch.nn.LSTMCell`, else 1.
    n_inputs, n_hidden : int, optional
        I and N, by default the cell's `input_size` and `hidden_size` (or the readout's
        `in_features`).
    seeds : sequence of E ints, optional
        Labels of the members (the seeds they were trained with); by default 0, 1, ...
    module : AdoptedModule, optional
        Where the modules come from (set by `from_module`).

    The modules are called once on zeros to check that they fit: `ConfigError` if one cannot
    be called so, `ShapeError` if it returns another shape than the protocol's.

    Example
    -------
    >>> cell, readout = nn.RNNCell(3, 8), nn.Linear(8, 2)
    >>> net = AdoptedNetwork(cell, readout, dt_ms=20.0)
    >>> traj = net(torch.zeros(10, 4, 3))        # x [T, B, I]
    >>> tuple(traj.states.shape), tuple(traj.outputs.shape)
    ((10, 1, 4, 8), (10, 1, 4, 2))
    """

    cells: nn.ModuleList
    readouts: nn.ModuleList

    def __init__(
        self,
        cells: nn.Module | Sequence[nn.Module],
        readouts: nn.Module | Sequence[nn.Module],
        *,
        dt_ms: float,
        continuous_time: bool = False,
        state_parts: int | None = None,
        n_inputs: int | None = None,
        n_hidden: int | None = None,
        seeds: Sequence[int] | None = None,
        module: AdoptedModule | None = None,
    ) -> None:
        super().__init__()
        cell_list, readout_list = module_list(cells), module_list(readouts)
        if not cell_list or len(cell_list) != len(readout_list):
            raise ConfigError(
                f"give one readout per cell: got {len(cell_list)} cells and "
                f"{len(readout_list)} readouts"
            )
        for what, found in (("cell", cell_list), ("readout", readout_list)):
            if not all(isinstance(m, nn.Module) for m in found):
                raise ConfigError(f"every {what} must be an nn.Module")
            if len({type(m) for m in found}) > 1:
                raise ConfigError(f"the {what}s of an ensemble must be of one class")
        first = cell_list[0]
        parts = state_parts or (2 if isinstance(first, nn.LSTMCell) else 1)
        size_in = n_inputs or getattr(first, "input_size", None)
        size_hidden = (
            n_hidden
            or getattr(first, "hidden_size", None)
            or getattr(readout_list[0], "in_features", None)
        )
        for name, value in (("n_inputs", size_in), ("n_hidden", size_hidden)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(
                    f"cannot read {name} from {type(first).__qualname__} (no input_size / "
                    f"hidden_size attribute): pass {name}="
                )
        assert isinstance(size_in, int) and isinstance(size_hidden, int)
        members = tuple(range(len(cell_list))) if seeds is None else tuple(int(s) for s in seeds)
        if len(members) != len(cell_list):
            raise ConfigError(
                f"give one seed per cell: {len(cell_list)} cells, {len(members)} seeds"
            )
        self.cells = nn.ModuleList(cell_list)
        self.readouts = nn.ModuleList(readout_list)
        self.continuous_time = continuous_time
        n_outputs = self._check_modules(size_in, size_hidden, parts)
        self.spec = AdoptedSpec(
            n_inputs=size_in,
            n_hidden=size_hidden,
            n_outputs=n_outputs,
            dt_ms=float(dt_ms),
            seeds=members,
            continuous_time=continuous_time,
            state_parts=parts,
            module=module,
        )
        shapes = [[tuple(p.shape) for p in m.parameters()] for m in self.cells]
        if any(s != shapes[0] for s in shapes):
            raise ConfigError("the cells of an ensemble must have parameters of the same shapes")

    @classmethod
    def from_module(
        cls,
        module: AdoptedModule,
        *,
        n_inputs: int,
        n_hidden: int,
        dt_ms: float,
        seeds: Sequence[int],
    ) -> AdoptedNetwork:
        """The network a config describes: one cell and readout per seed, built from their
        import paths (initialised from the seed; a run then loads its weights into them)."""
        built = [module.build(int(seed)) for seed in seeds]
        return cls(
            [c for c, _ in built],
            [r for _, r in built],
            dt_ms=dt_ms,
            continuous_time=module.continuous_time,
            state_parts=module.state_parts,
            n_inputs=n_inputs,
            n_hidden=n_hidden,
            seeds=seeds,
            module=module,
        )

    # -- the interface of neurodyn's cells ----------------------------------------------------
    @property
    def state_size(self) -> int:
        """S = `state_parts * n_hidden`: the state the analyses see."""
        return self.spec.state_parts * self.spec.n_hidden

    def _check_modules(self, n_inputs: int, n_hidden: int, parts: int) -> int:
        """Call the first cell and readout on zeros (two trials); the readout's output size O."""
        cell, readout = self.cells[0], self.readouts[0]
        device = next(iter(cell.parameters()), torch.zeros(())).device
        dtype = next(iter(cell.parameters()), torch.zeros(())).dtype
        u = torch.zeros(2, n_inputs, device=device, dtype=dtype)
        h = torch.zeros(2, parts * n_hidden, device=device, dtype=dtype)
        name = type(cell).__qualname__
        state = "h [B, N]" if parts == 1 else f"a tuple of {parts} tensors [B, N]"
        with torch.no_grad():
            try:
                out = cell(u, _split(h, parts))
            except Exception as err:
                raise ConfigError(
                    f"{name} cannot be called as cell(u [B, I={n_inputs}], {state}) "
                    f"({type(err).__name__}: {excerpt(str(err), 100)}): adopt a cell with "
                    "torch.nn.RNNCell's signature (or LSTMCell's tuple state, with "
                    "state_parts=2), or wrap yours in a module that has it"
                ) from None
            parts_out = out if isinstance(out, tuple | list) else (out,)
            if len(parts_out) != parts or not all(
                isinstance(p, Tensor) and tuple(p.shape) == (2, n_hidden) for p in parts_out
            ):
                got = [
                    tuple(p.shape) if isinstance(p, Tensor) else type(p).__name__ for p in parts_out
                ]
                raise ShapeError(
                    f"{name}(u, h) returned {got}, not {state.replace('h ', '').replace('B', '2')} "
                    f"with N={n_hidden}: give n_hidden= (or state_parts=) as the cell's state is"
                )
            try:
                y = readout(parts_out[0])
            except Exception as err:
                raise ConfigError(
                    f"the readout {type(readout).__qualname__} cannot read h [B, N={n_hidden}] "
                    f"({type(err).__name__}: {excerpt(str(err), 100)})"
                ) from None
        if not isinstance(y, Tensor) or y.dim() != 2 or y.shape[0] != 2:
            raise ShapeError(
                f"the readout {type(readout).__qualname__} must map h [B, N] to outputs [B, O]"
            )
        return int(y.shape[1])

    def _member_step(self, e: int, h: Tensor, u: Tensor) -> Tensor:
        """Member e's step on `h [B, S]`, `u [B, I]` -> `[B, S]`."""
        parts = self.spec.state_parts
        out = self.cells[e](u, _split(h, parts))
        return torch.cat(tuple(out), dim=-1) if parts > 1 else out

    def forward(
        self,
        x: Tensor,
        *,
        h0: Tensor | None = None,
        generators: Sequence[torch.Generator] | None = None,
        noise: bool = True,
        return_drives: bool = False,
    ) -> Trajectory:
        """Run every member over inputs `x [T, B, I]` or `[T, E, B, I]` from `h0 [E, B, S]`
        or `[B, S]` (zeros by default): states `[T, E, B, S]`, outputs `[T, E, B, O]`.

        neurodyn adds no noise (`noise`, `generators` change nothing). With `return_drives`,
        for cells that name their weights as torch's do (`weight_ih`, `weight_hh`): the input
        and recurrent sides of the pre-activation, `weight_ih u_t` and `weight_hh h_{t-1}`
        (`[T, E, B, G N]`); None for other cells.
        """
        xe = self._per_member(x)  # [E, T, B, I]
        n_members, _, batch_size, _ = xe.shape
        if h0 is None:
            state = xe.new_zeros(n_members, batch_size, self.state_size)
        else:
            state = h0 if h0.dim() == 3 else h0[None].expand(n_members, -1, -1)
        states = []
        for e in range(n_members):
            h, member_states = state[e], []
            for u in xe[e].unbind(0):
                h = self._member_step(e, h, u)
                member_states.append(h)
            states.append(torch.stack(member_states))  # [T, B, S]
        states_t = torch.stack(states, dim=1)  # [T, E, B, S]
        n = self.spec.n_hidden
        outputs = torch.stack(
            [self.readouts[e](states_t[:, e, :, :n]) for e in range(n_members)], dim=1
        )
        drives = self._drives(xe, state, states_t) if return_drives else None
        return Trajectory(
            states=states_t,
            outputs=outputs,
            input_drive=None if drives is None else drives[0],
            recurrent_drive=None if drives is None else drives[1],
        )

    def _drives(self, xe: Tensor, h0: Tensor, states: Tensor) -> tuple[Tensor, Tensor] | None:
        """`weight_ih u_t` and `weight_hh h_{t-1}` of every member, `[T, E, B, G N]`, for cells
        with torch's weight names and shapes (`weight_ih [G N, I]`, `weight_hh [G N, N]`); None
        otherwise."""
        n = self.spec.n_hidden
        w_ih = [getattr(c, "weight_ih", None) for c in self.cells]
        w_hh = [getattr(c, "weight_hh", None) for c in self.cells]
        if not all(
            isinstance(a, Tensor)
            and isinstance(b, Tensor)
            and a.dim() == b.dim() == 2
            and a.shape[0] == b.shape[0]
            and (a.shape[1], b.shape[1]) == (self.spec.n_inputs, n)
            for a, b in zip(w_ih, w_hh, strict=True)
        ):
            return None
        before = torch.cat([h0[None], states[:-1]])[..., :n]  # h_{t-1}: [T, E, B, N]
        return (
            torch.einsum("etbi,egi->tebg", xe, torch.stack(w_ih)),  # type: ignore[arg-type]
            torch.einsum("tebn,egn->tebg", before, torch.stack(w_hh)),  # type: ignore[arg-type]
        )

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One step `F(h, x)`: `h [E, B, S]`, `x [E, B, I]` or `[B, I]` -> `[E, B, S]`."""
        if x.dim() == 2:
            x = x[None].expand(self.ensemble_size, -1, -1)
        return torch.stack([self._member_step(e, h[e], x[e]) for e in range(self.ensemble_size)])

    def step_jacobian(self, h: Tensor, x: Tensor) -> Tensor:
        """`dF/dh` of `step`, `[E, B, S, S]` with `J[e, b, i, j] = dF_i / dh_j`, by automatic
        differentiation (the S output directions vectorised; one backward pass each for a
        cell torch cannot vectorise). Detached: the cells' parameters may require grad."""
        size = h.shape[-1]
        h = h.detach()
        with torch.enable_grad():
            try:
                pullback = torch.func.vjp(lambda state: self.step(state, x), h)[1]
                basis = torch.eye(size, dtype=h.dtype, device=h.device)
                directions = basis[:, None, None, :].expand(size, *h.shape)
                rows = torch.func.vmap(pullback)(directions)[0]  # [S_out, E, B, S_in]
            except RuntimeError:  # an operation without a batching rule in the user's cell
                rows = _rows_one_by_one(lambda state: self.step(state, x), h)
        return rows.permute(1, 2, 0, 3).detach()

    def constrain_(self) -> Self:
        """Nothing to project: an adopted network keeps the structure its modules have."""
        return self

    def member(self, index: int) -> Self:
        """A new single-member network holding a copy of member `index`'s modules."""
        spec = self.spec
        single = type(self)(
            copy.deepcopy(self.cells[index]),
            copy.deepcopy(self.readouts[index]),
            dt_ms=spec.dt_ms,
            continuous_time=spec.continuous_time,
            state_parts=spec.state_parts,
            n_inputs=spec.n_inputs,
            n_hidden=spec.n_hidden,
            seeds=(spec.seeds[index],),
            module=spec.module,
        )
        return single


def module_list(given: nn.Module | Sequence[nn.Module]) -> list[nn.Module]:
    """One module, or the members of a sequence (an `nn.ModuleList` included), as a list."""
    if isinstance(given, nn.Module) and not isinstance(given, nn.ModuleList):
        return [given]
    return list(given)


def _split(h: Tensor, parts: int) -> Tensor | tuple[Tensor, ...]:
    """A cell's state from the analyses' `h [B, S]`: h itself, or a tuple of `parts` equal
    slices of it (LSTMCell's (h, c))."""
    return h if parts == 1 else tuple(h.chunk(parts, dim=-1))


def _rows_one_by_one(fn: Callable[[Tensor], Tensor], h: Tensor) -> Tensor:
    """Rows of the Jacobian of a row-wise map `fn` at `h [..., S]`: `[S_out, ..., S_in]`, one
    backward pass per output direction."""
    h = h.detach().requires_grad_(True)
    out = fn(h)
    rows = []
    for i in range(out.shape[-1]):
        (grad,) = torch.autograd.grad(out[..., i].sum(), h, retain_graph=True)
        rows.append(grad)
    return torch.stack(rows)
