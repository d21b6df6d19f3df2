select
    project,
    repository,
    sha,
    path,
    old_path,
    change_type,
    lines_added,
    lines_removed,
    is_binary
from {{ source('raw', 'git_file_changes') }}
