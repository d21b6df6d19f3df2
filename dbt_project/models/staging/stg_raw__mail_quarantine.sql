select
    project,
    list_name,
    source_location,
    reason,
    detail
from {{ source('raw', 'mail_quarantine') }}
