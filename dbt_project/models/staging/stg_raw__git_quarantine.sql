select
    project,
    repository,
    sha,
    reason,
    detail
from {{ source('raw', 'git_quarantine') }}
