"""Every advertised name resolves: ``gan_pde.__all__`` (submodules and the lazily re-exported
classes and functions, PEP 562) and the ``__all__`` of every subpackage and module.

A name listed in ``__all__`` but missing (a rename half done, a lazy table pointing at the
old module) breaks ``from gan_pde import *``, the API docs and users' code at first use; the
lazy tables make such a slip invisible until then.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil

import pytest

import gan_pde

HAS_TORCH = importlib.util.find_spec("torch") is not None
#: Modules that import torch at import time (their names need the optional extra).
TORCH_MODULES = ("gan_pde.nn.", "gan_pde.sde.scheduler", "gan_pde.sde.coefficients")


def _modules() -> list[str]:
    """The modules whose source declares ``__all__`` (read, not imported: a module without
    one advertises no names, so there is nothing to resolve and no test is made for it)."""
    names = ["gan_pde"]
    for module in pkgutil.walk_packages(gan_pde.__path__, "gan_pde."):
        if not HAS_TORCH and module.name.startswith(TORCH_MODULES):
            continue
        origin = importlib.util.find_spec(module.name).origin
        with open(origin, encoding="utf-8") as file:
            if "__all__" in file.read():
                names.append(module.name)
    return names


def test_every_top_level_name_resolves():
    assert "__version__" in gan_pde.__all__
    for name in gan_pde.__all__:
        value = getattr(gan_pde, name)
        assert value is not None, name
    # the lazy submodules are the modules themselves, the lazy attributes their objects
    assert gan_pde.lgan is importlib.import_module("gan_pde.spectral.lgan")
    assert gan_pde.engine is importlib.import_module("gan_pde.engine")
    for name, module in gan_pde._ATTRIBUTES.items():
        assert getattr(gan_pde, name) is getattr(importlib.import_module(module), name), name
    assert sorted(dir(gan_pde)) == sorted(gan_pde.__all__)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        gan_pde.not_a_name  # noqa: B018


@pytest.mark.parametrize("module", _modules())
def test_every_name_in_a_module_all_resolves(module):
    if module.startswith(TORCH_MODULES) or module == "gan_pde.nn":
        pytest.importorskip("torch")
    mod = importlib.import_module(module)
    names = mod.__all__
    assert len(set(names)) == len(names), f"{module}.__all__ repeats a name"
    missing = [name for name in names if not hasattr(mod, name)]
    assert not missing, f"{module}.__all__ lists {missing}, which do not resolve"
