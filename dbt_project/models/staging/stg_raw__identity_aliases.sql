select
    lower(address) as address,
    lower(canonical_address) as canonical_address,
    canonical_name,
    source
from {{ source('raw', 'identity_aliases') }}
