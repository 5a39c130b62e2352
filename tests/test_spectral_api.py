"""The package's spectral API: ``gan_pde.spectral.__all__`` is complete, resolves, is documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import gan_pde.spectral as spectral

MODULES = sorted(
    info.name for info in pkgutil.iter_modules(spectral.__path__) if not info.name.startswith("_")
)


@pytest.mark.parametrize("name", spectral.__all__)
def test_every_exported_name_resolves_and_has_a_docstring(name):
    obj = getattr(spectral, name)
    assert inspect.isclass(obj) or inspect.isfunction(obj), f"{name} is {type(obj).__name__}"
    # the object's own docstring (a class's __doc__ is not inherited), not an empty one
    assert obj.__doc__ is not None and obj.__doc__.strip(), f"{name} has no docstring"
    assert obj.__module__.startswith("gan_pde.spectral."), obj.__module__
    home = importlib.import_module(obj.__module__)
    assert getattr(home, name) is obj  # the very object of its module, not a copy


@pytest.mark.parametrize("module", MODULES)
def test_every_public_class_and_function_of_every_spectral_module_is_exported(module):
    mod = importlib.import_module(f"gan_pde.spectral.{module}")
    public = [
        name
        for name in mod.__all__
        if inspect.isclass(getattr(mod, name)) or inspect.isfunction(getattr(mod, name))
    ]
    assert public, f"{module} exports no class or function"
    missing = sorted(set(public) - set(spectral.__all__))
    assert not missing, f"gan_pde.spectral.__all__ lacks {missing} of {module}"
    for name in public:
        assert getattr(spectral, name) is getattr(mod, name)


def test_modules_seen_include_the_split_lgan_system():
    assert {"lgan_assembly", "lgan_modes", "lgan_integrate", "lgan_experiments"} <= set(MODULES)
    assert {"weighted_laplacian", "adaptive", "augmentation", "lgan", "lgan_system"} <= set(MODULES)


def test_all_is_sorted_without_duplicates_and_listed_by_dir():
    assert spectral.__all__ == sorted(set(spectral.__all__))
    assert set(spectral.__all__) <= set(dir(spectral))


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'LGANSolver'"):
        spectral.LGANSolver  # noqa: B018 - the access is the test


def test_lgan_system_keeps_every_name_it_had():
    """Every name of ``lgan_system`` before the split (public and the private helpers that
    the verify controls and older code use) is still importable from it, and is the object
    of the module that now defines it."""
    from gan_pde.spectral import lgan_assembly, lgan_integrate, lgan_modes, lgan_system

    before = [
        "PAIRS", "SCHEMES", "DENSE_MAX", "LGANSystem", "LGANTrajectory", "MixtureExperiment",
        "integrate", "mixture_experiment", "_RITZ_SPREAD_MAX", "_GRADIENT_SPACES", "_coupling",
        "_vector_mass", "_check_density_and_mesh", "_parameter", "_state", "_check_dense",
        "_sorted", "_scaled_matrix", "_component_constants", "_norms", "_stepper", "spla",
    ]  # fmt: skip
    for name in before:
        assert hasattr(lgan_system, name), name
    assert lgan_system._scaled_matrix is lgan_assembly._scaled_matrix
    assert lgan_system._coupling is lgan_assembly._coupling
    assert lgan_system._stepper is lgan_integrate._stepper
    assert lgan_system.DENSE_MAX == lgan_modes.DENSE_MAX
    assert set(lgan_system.__all__) >= {
        "PAIRS", "SCHEMES", "LGANSystem", "LGANTrajectory", "MixtureExperiment", "integrate",
        "mixture_experiment",
    }  # fmt: skip


def test_importing_the_closed_forms_stays_light():
    # the exports are lazy: the numpy-only closed forms do not pull in scikit-fem
    code = "import sys, gan_pde.spectral.lgan; print('skfem' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False"]
