select
    project,
    repository,
    sha,
    lower(kind) as kind,
    name,
    lower(address) as address,
    raw_value,
    position
from {{ source('raw', 'git_trailers') }}
