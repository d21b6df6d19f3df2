select
    lower(address) as address,
    lower(domain) as domain,
    organization,
    valid_from,
    valid_until,
    source
from {{ source('raw', 'identity_affiliations') }}
