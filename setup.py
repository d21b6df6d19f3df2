"""The compiled modules of the mail parser: git's patch-id line walk (extractors/mail/_patchid.c),
the per-message scans of headers, bodies and dates (_scan.c) and the mbox separator search
(_mbox.c).

Everything else is declared in pyproject.toml. A machine without a C compiler cannot install
commstats; the parser itself would run without them (each has a Python reference it falls back
to, with the same results), only slower.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "extractors.mail._patchid",
            sources=["extractors/mail/_patchid.c"],
            extra_compile_args=["-O2"],
        ),
        Extension("extractors.mail._scan", sources=["extractors/mail/_scan.c"], extra_compile_args=["-O2"]),
        Extension("extractors.mail._mbox", sources=["extractors/mail/_mbox.c"], extra_compile_args=["-O2"]),
        # the git fast path's tree comparison and blob diff (extractors.git.native)
        Extension(
            "extractors.git._gitdiff",
            sources=["extractors/git/_gitdiff.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
    ]
)
