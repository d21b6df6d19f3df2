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
        project,
        repository,
        sha,
        kind,
        name,
        -- name-specific .mailmap lines apply to trailers as to commit authors
        case when address is not null then {{ mailmap_address('address', 'name') }} end as address,
        raw_value,
        position
    from lowered
)

select * from final
