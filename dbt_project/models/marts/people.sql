-- One row per person: every address merged into them by .mailmap or alias files.
with

addresses as (
    select * from {{ ref('int_addresses_resolved') }}
),

final as (
    select
        person_id,
        any_value(display_name) as display_name,
        person_id as primary_address,
        list(address order by address) as addresses,
        count(*) as address_count,
        bool_or(is_bot) as is_bot
    from addresses
    group by person_id
)

select * from final
