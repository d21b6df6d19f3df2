-- The addresses of the mailing lists themselves: those configured (`addresses:` of a list, with
-- their -bounces, -owner and -request variants) and those seen rewriting senders for DMARC (a
-- From display name `X via Y` on a message that also names its sender in Reply-To or
-- X-Original-From). Never people: int_addresses_resolved flags them as bots.
with

configured as (
    select
        project,
        list_name,
        lower(trim(address)) as address,
        kind
    from {{ source('raw', 'list_addresses') }}
),

rewritten as (
    select distinct
        project,
        list_name,
        lower(from_address) as address,
        'dmarc-rewrite' as kind
    from {{ source('raw', 'mail_messages') }}
    where
        regexp_matches(from_name, '^.+ via \S.*$')
        and from_address is not null
        and (
            coalesce(lower(reply_to_address) <> lower(from_address), false)
            or coalesce(lower(original_from_address) <> lower(from_address), false)
        )
),

unioned as (
    select
        *,
        0 as preference
    from configured
    union all
    select
        *,
        1 as preference
    from rewritten
),

final as (
    select
        project,
        list_name,
        address,
        kind
    from unioned
    -- a configured address keeps its configured kind
    qualify row_number() over (partition by project, list_name, address order by preference, kind) = 1
)

select * from final
