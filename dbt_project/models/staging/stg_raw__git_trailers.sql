with

source as (
    select * from {{ source('raw', 'git_trailers') }}
),

recovered as (
    select
        project,
        repository,
        sha,
        lower(kind) as kind,
        name,
        -- the extractor finds no address in an obfuscated value (`Jane <jane at example.com>`)
        coalesce(
            lower(address),
            case when lower(kind) like '%-by' then {{ obfuscated_address('raw_value') }} end
        ) as address,
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
    from recovered
)

select * from final
