with

source as (
    select * from {{ source('raw', 'git_trailers') }}
),

lowered as (
    select
        project,
        repository,
        sha,
        lower(kind) as kind,
        name,
        -- de-obfuscated at extraction (`Jane <jane at example.com>` -> jane@example.com)
        lower(address) as address,
        raw_value,
        position
    from source
),

final as (
    select
        l.project,
        l.repository,
        l.sha,
        l.kind,
        l.name,
        -- name-specific .mailmap lines apply to trailers as to commit authors
        case when l.address is not null then {{ mailmap_address('l.address', 'm') }} end as address,
        l.raw_value,
        l.position
    from lowered as l
    {{ mailmap_join('m', 'l.address', 'l.name') }}
)

select * from final
