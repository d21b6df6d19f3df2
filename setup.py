"""The one compiled module: git's patch-id line walk (extractors/mail/_patchid.c).

Everything else is declared in pyproject.toml. A machine without a C compiler cannot install
commstats; the parser itself would run without the module (extractors.mail.patches falls back to
its Python walk), only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "extractors.mail._patchid",
            sources=["extractors/mail/_patchid.c"],
            extra_compile_args=["-O2"],
        )
    ]
)
