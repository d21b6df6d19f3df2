select
    project,
    repository,
    sha,
    lower(kind) as kind,
    name,
    -- the extractor finds no address in an obfuscated value (`Jane <jane at example.com>`)
    coalesce(
        lower(address),
        case when lower(kind) like '%-by' then {{ obfuscated_address('raw_value') }} end
    ) as address,
    raw_value,
    position
from {{ source('raw', 'git_trailers') }}
