with

source as (
    select * from {{ source('raw', 'mail_trailers') }}
),

renamed as (
    select
        s.project,
        s.list_name,
        s.message_id,
        lower(s.kind) as kind,
        s.name,
        -- name-specific .mailmap lines apply per trailer, as to senders (macro mailmap_address)
        case when s.address is not null then {{ mailmap_address('s.address', 'm') }} end as address,
        s.raw_value,
        s.position
    from source as s
    {{ mailmap_join('m', 's.address', 's.name') }}
)

select * from renamed
