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
        lower(address) as address,
        raw_value,
        position
    from source
)

select * from renamed
