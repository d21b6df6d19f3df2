{#- the projects whose commits a period places by committer date, as an SQL list ('' for none) -#}
{%- set committer_projects = "'" ~ (var("committer_date_projects", []) | join("', '")) ~ "'" -%}

with

source as (
    select * from {{ source('raw', 'git_commits') }}
),

renamed as (
    select
        project,
        repository,
        sha,
        author_name,
        {{ mailmap_address('author_address', 'author_name') }} as author_address,
        authored_at,
        author_tz_offset,
        committer_name,
        {{ mailmap_address('committer_address', 'committer_name') }} as committer_address,
        committed_at,
        committer_tz_offset,
        is_merge,
        parent_count,
        subject,
        patch_id,
        files_changed,
        lines_added,
        lines_removed,
        -- the date that places the commit in a period: var period_date (author | committer),
        -- overridden per project by var committer_date_projects
        case
            when project in ({{ committer_projects }}) then committed_at
            else {{ 'committed_at' if var('period_date') == 'committer' else 'authored_at' }}
        end as activity_at
    from source
)

select * from renamed
