"""The compiled modules: git's patch-id line walk (core/_patchid.c), the mail parser's
per-message scans of headers, bodies and dates (extractors/mail/_scan.c) and its mbox separator
search (_mbox.c), the git extractor's tree comparison and blob diff (extractors/git/_gitdiff.c), and the
spool's Arrow columns (extractors/_columns.c).

Everything else is declared in pyproject.toml. Every module is optional: where no C compiler works,
setuptools warns and the install goes on without it, and the parser runs the Python reference the
module falls back to, with the same results, only slower (tests/test_c_build.py installs with a
failing compiler and compares the rows with those of the compiled build).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "core._patchid",
            sources=["core/_patchid.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
        Extension(
            "extractors.mail._scan",
            sources=["extractors/mail/_scan.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
        Extension(
            "extractors.mail._mbox",
            sources=["extractors/mail/_mbox.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
        # the git fast path's tree comparison and blob diff (extractors.git.native)
        Extension(
            "extractors.git._gitdiff",
            sources=["extractors/git/_gitdiff.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
        # the spool's columns as Arrow buffers (extractors.load)
        Extension(
            "extractors._columns",
            sources=["extractors/_columns.c"],
            extra_compile_args=["-O2"],
            optional=True,
        ),
    ]
)
