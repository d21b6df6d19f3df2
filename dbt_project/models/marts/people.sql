-- One row per person: every address merged into them by .mailmap or alias files (names never
-- merge two addresses), with the bot flag that keeps bots and list addresses out of counts.
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
        bool_or(is_bot) as is_bot,
        any_value(bot_reason) filter (where bot_reason is not null) as bot_reason,
        -- a malformed value (no valid address) is a person of its own, keyed by the value
        bool_or(is_invalid_address) as is_invalid_address,
        -- whether the period marts count this person with the current var include_bots
        {% if var('include_bots') %}true{% else %}not bool_or(is_bot){% endif %} as is_counted
    from addresses
    group by person_id
)

select * from final
