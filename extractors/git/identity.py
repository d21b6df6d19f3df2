"""Author and committer of a commit as (name, address), whatever the commit header holds.

git stores `author <name> <<email>> <time> <tz>`; old or hand-made commits break that shape
(`Jane Doe jane.doe@example.com <Jane Doe jane.doe@example.com>` when a tool was given the whole
string as both name and address, `Jane Doe <janeiexample.com>`, `<<a@b.org>>`, `Jane <>`, quotes
and blanks). One rule for every path that reads an identity:

- the address is extracted wherever one is present (in the email field first, else in the name),
  read as a trailer value is read (extractors.people.person: repairs, de-obfuscation);
- an email field that holds no address (`janeiexample.com`) is kept lower-cased and trimmed as the
  address, never NULL, so the warehouse keeps that value as a person of its own and flags it;
  an empty email field (`Jane <>`) with no address in the name gives NULL, as the header names
  no address at all;
- the name is kept as written (trimmed), since a `.mailmap` entry matches it as written; only a
  name that repeats an address loses it (`Jane Doe jane.doe@example.com` -> `Jane Doe`), and a name
  that was only the address becomes None.
"""

from __future__ import annotations

from functools import lru_cache

from extractors.people import person

_TRIM = " \t\r\n\"'<>"


@lru_cache(maxsize=8192)  # the same people author and commit again and again
def identity(raw_name: str, raw_email: str) -> tuple[str | None, str | None]:
    """(name, lower-case address) of one git identity from its decoded name and email fields."""
    name_field = raw_name.strip()
    email_field = raw_email.strip().strip(_TRIM).strip()
    address: str | None = None
    email_name: str | None = None
    if email_field:
        email_name, address = person(email_field)
    if address is None:
        name_name, name_address = person(name_field) if "@" in name_field else (None, None)
        if name_address is not None:
            return name_name, name_address
        address = " ".join(email_field.split()).lower() or None
        return name_field or None, address
    name: str | None = name_field
    if "@" in name_field and person(name_field)[1] is not None:
        # the name repeats an address (`Jane Doe jane.doe@example.com`): keep the name around it
        name = person(name_field)[0]
    return name or email_name, address
