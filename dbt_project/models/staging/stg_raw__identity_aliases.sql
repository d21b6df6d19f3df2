select
    lower(address) as address,
    lower(canonical_address) as canonical_address,
    canonical_name,
    source,
    -- set: the row applies only to events carrying this name too (see macro mailmap_address)
    match_name
from {{ source('raw', 'identity_aliases') }}
