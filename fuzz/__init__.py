"""A differential fuzz target for the mail parser's C modules (`make fuzz`).

build.py compiles core/_patchid.c, extractors/mail/_scan.c and _mbox.c with AddressSanitizer and
UndefinedBehaviorSanitizer into build/fuzz/ (the installed modules are untouched); parser.py feeds
mutated messages to each C entry point and compares every result with its Python reference;
__main__.py runs parser.py in a child process with the sanitizer runtime preloaded and turns a
sanitizer report or a difference into one line naming the saved input.
"""
