"""Build hook: compile the numba kernels while the package is built.

Everything else is in pyproject.toml. ``build_py`` runs ``python -m unisel.warm --bundle`` in a
fresh interpreter of the build environment, which compiles every engine and metrics kernel
into ``unisel/_kernels`` (inside the build folder, or inside ``src/`` for an editable install),
so that the first call of a process loads machine code instead of compiling it for 10-15 s
(``unisel.select.engine._jit``, "The install-time bundle"). It takes about a minute. Where it
fails, the package is still complete: the kernels then compile on first use, as without a
bundle. ``UNISEL_BUILD_KERNELS=0`` skips it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithKernels(build_py):
    def run(self) -> None:
        super().run()
        if os.environ.get("UNISEL_BUILD_KERNELS", "1").strip().lower() in {"0", "false", "no"}:
            return
        src = Path(__file__).resolve().parent / "src"
        base = src if self.editable_mode else Path(self.build_lib).resolve()
        target = base / "unisel" / "_kernels"
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(base), env.get("PYTHONPATH")]))
        env.pop("UNISEL_KERNEL_BUNDLE_BUILD", None)
        print(f"unisel: compiling the numba kernels into {target} (about a minute)", flush=True)
        command = [sys.executable, "-m", "unisel.warm", "--bundle", str(target)]
        if subprocess.call(command, env=env) != 0:
            print(
                "unisel: WARNING: the kernels could not be compiled at build time; each process "
                "compiles them on first use instead (10-15 s)",
                file=sys.stderr,
                flush=True,
            )


setup(cmdclass={"build_py": BuildPyWithKernels})
