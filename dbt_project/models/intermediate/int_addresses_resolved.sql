-- One row per address ever seen: the person it belongs to (explicit aliases only; names never
-- merge), the name to show, and whether it is a bot or list address.
with

known as (
    select
        address,
        domain,
        registrable_domain
    from {{ ref('stg_raw__address_domains') }}
),

-- trailer addresses only staging recovered (obfuscated in the commit message) are not in
-- raw.address_domains: their domain stands in for the registrable domain
addresses as (
    select * from known
    union all
    select distinct
        t.address,
        split_part(t.address, '@', 2) as domain,
        split_part(t.address, '@', 2) as registrable_domain
    from {{ ref('stg_raw__git_trailers') }} as t
    where t.address like '%_@_%' and t.address not in (select k.address from known as k)
),

aliases as (
    select
        address,
        canonical_address,
        canonical_name
    from {{ ref('stg_raw__identity_aliases') }}
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
