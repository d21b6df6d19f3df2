select
    project,
    list_name,
    message_id,
    source_location,
    check_name,
    detail
from {{ source('raw', 'mail_issues') }}
