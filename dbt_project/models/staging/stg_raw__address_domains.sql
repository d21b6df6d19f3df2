select
    lower(address) as address,
    lower(domain) as domain,
    lower(registrable_domain) as registrable_domain
from {{ source('raw', 'address_domains') }}
