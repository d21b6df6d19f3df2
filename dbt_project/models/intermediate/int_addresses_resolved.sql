-- One row per address ever seen: the person it belongs to (explicit aliases only; names never
-- merge), the name to show, whether it is a bot or list address, and whether the value is a
-- malformed address (its own person, organization (unknown)).
with

known as (
    select
        address,
        domain,
        registrable_domain
    from {{ ref('stg_raw__address_domains') }}
),

-- every address an event can carry: the loader gave each valid one its registrable domain
-- (raw.address_domains); a value it could not place still becomes a person here, so no mart
-- ever holds a person id that marts.people lacks
event_addresses as (
    select from_address as address from {{ ref('stg_raw__mail_messages') }}
    union
    select address from {{ ref('stg_raw__mail_trailers') }}
    union
    select author_address from {{ ref('stg_raw__git_commits') }}
    union
    select committer_address from {{ ref('stg_raw__git_commits') }}
    union
    select address from {{ ref('stg_raw__git_trailers') }}
),

unplaced as (
    select distinct lower(e.address) as address
    from event_addresses as e
    where e.address is not null and lower(e.address) not in (select k.address from known as k)
),

-- a value not of the shape local@domain.tld (interface shared with the loader) is an invalid
-- address: its own person keyed by the value, with no domain, so organization (unknown); a
-- valid one the loader did not see stands in its domain for the registrable domain
addresses as (
    select
        address,
        domain,
        registrable_domain,
        false as is_invalid_address
    from known
    union all
    select
        address,
        case when valid then split_part(address, '@', 2) end as domain,
        case when valid then split_part(address, '@', 2) end as registrable_domain,
        not valid as is_invalid_address
    from (
        select
            address,
            regexp_full_match(address, '[^@\s]+@[^@\s]+\.[^@\s]+') as valid
        from unplaced
    ) as shaped
),

aliases as (
    select
        address,
        canonical_address,
        canonical_name
    from {{ ref('stg_raw__identity_aliases') }}
    -- name-specific .mailmap lines were applied per event in staging (macro mailmap_address)
    where match_name is null
),

names_used as (
    select
        lower(from_address) as address,
        from_name as name
    from {{ ref('stg_raw__mail_messages') }}
    union all
    select
        author_address,
        author_name
    from {{ ref('stg_raw__git_commits') }}
    union all
    select
        committer_address,
        committer_name
    from {{ ref('stg_raw__git_commits') }}
),

name_counts as (
    select
        address,
        name,
        count(*) as n
    from names_used
    where name is not null and trim(name) <> '' and name not like '%@%'
    group by all
),

most_used_name as (
    select
        address,
        name
    from name_counts
    qualify row_number() over (partition by address order by n desc, name) = 1
),

bots as (
    select distinct
        a.address,
        first_value(b.reason) over (partition by a.address order by b.pattern) as bot_reason
    from addresses as a
    inner join (
        select
            pattern,
            reason
        from {{ ref('bot_address_patterns') }}
        union all
        -- a list's own addresses (configured, or seen rewriting senders for DMARC)
        select distinct
            address,
            'list address'
        from {{ ref('stg_raw__list_addresses') }}
    ) as b on a.address like b.pattern
),

resolved as (
    select
        a.address,
        a.domain,
        a.registrable_domain,
        a.is_invalid_address,
        coalesce(al.canonical_address, a.address) as person_id,
        al.canonical_name,
        n.name as used_name,
        bots.address is not null as is_bot,
        bots.bot_reason
    from addresses as a
    left join aliases as al on a.address = al.address
    left join most_used_name as n on a.address = n.address
    left join bots on a.address = bots.address
),

final as (
    select
        address,
        domain,
        registrable_domain,
        is_invalid_address,
        person_id,
        coalesce(
            canonical_name,
            first_value(used_name ignore nulls) over (
                partition by person_id order by (address = person_id) desc, address
            ),
            address
        ) as display_name,
        -- a person is a bot when any of their addresses is one
        bool_or(is_bot) over (partition by person_id) as is_bot,
        bot_reason
    from resolved
)

select * from final
