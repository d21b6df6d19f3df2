with

source as (
    select * from {{ source('raw', 'mail_trailers') }}
),

renamed as (
    select
        project,
        list_name,
        message_id,
        lower(kind) as kind,
        name,
        -- name-specific .mailmap lines apply per trailer, as to senders (macro mailmap_address)
        case when address is not null then {{ mailmap_address('address', 'name') }} end as address,
        raw_value,
        position
    from source
)

select * from renamed
