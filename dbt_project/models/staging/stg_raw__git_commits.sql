{#- the projects whose commits a period places by committer date, as an SQL list ('' for none) -#}
{%- set committer_projects = "'" ~ (var("committer_date_projects", []) | join("', '")) ~ "'" -%}

with

source as (
    select * from {{ source('raw', 'git_commits') }}
),

renamed as (
    select
        s.project,
        s.repository,
        s.sha,
        s.author_name,
        {{ mailmap_address('s.author_address', 'author_map') }} as author_address,
        s.authored_at,
        s.author_tz_offset,
        s.committer_name,
        {{ mailmap_address('s.committer_address', 'committer_map') }} as committer_address,
        s.committed_at,
        s.committer_tz_offset,
        s.is_merge,
        s.parent_count,
        s.subject,
        s.patch_id,
        s.files_changed,
        s.lines_added,
        s.lines_removed,
        -- the date that places the commit in a period: var period_date (author | committer),
        -- overridden per project by var committer_date_projects
        case
            when s.project in ({{ committer_projects }}) then s.committed_at
            else {{ 's.committed_at' if var('period_date') == 'committer' else 's.authored_at' }}
        end as activity_at
    from source as s
    {{ mailmap_join('author_map', 's.author_address', 's.author_name') }}
    {{ mailmap_join('committer_map', 's.committer_address', 's.committer_name') }}
)

select * from renamed
