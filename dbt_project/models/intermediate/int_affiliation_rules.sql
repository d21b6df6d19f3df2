-- Every affiliation rule that can apply to an address, with its priority (lower wins) and the
-- rule name, in the order of METRICS.md: explicit (address, then domain), domain map on the
-- most specific matching domain (its dated rows: organizations change hands), webmail and
-- project-issued personal addresses -> (independent), else the registrable domain. A malformed
-- address gets no rule at all: organization (unknown).
with

addresses as (
    select
        address,
        domain,
        registrable_domain,
        -- the registrable domain's label before the public suffix: `yahoo` of yahoo.co.in
        split_part(registrable_domain, '.', 1) as provider_label
    from {{ ref('int_addresses_resolved') }}
    where not is_invalid_address
),

explicit_rules as (
    select * from {{ ref('stg_raw__identity_affiliations') }}
),

by_address as (
    select
        a.address,
        r.organization,
        r.valid_from,
        r.valid_until,
        'explicit_address' as rule,
        1 as priority,
        r.source
    from addresses as a
    inner join explicit_rules as r on a.address = r.address
),

by_domain as (
    select
        a.address,
        r.organization,
        r.valid_from,
        r.valid_until,
        'explicit_domain' as rule,
        2 as priority,
        r.source
    from addresses as a
    inner join explicit_rules as r
        on r.domain is not null and (a.domain = r.domain or a.domain like '%.' || r.domain)
    -- the most specific explicit domain wins
    qualify length(r.domain) = max(length(r.domain)) over (partition by a.address)
),

domain_map as (
    select
        a.address,
        m.organization,
        m.valid_from,
        m.valid_until,
        'domain_map' as rule,
        3 as priority,
        'seed:domain_organizations' as source
    from addresses as a
    inner join {{ ref('domain_organizations') }} as m
        on a.domain = m.registrable_domain or a.domain like '%.' || m.registrable_domain
    -- the most specific domain wins; all of its dated rows are kept
    qualify length(m.registrable_domain) = max(length(m.registrable_domain)) over (partition by a.address)
),

webmail as (
    select
        a.address,
        '(independent)' as organization,
        null::date as valid_from,
        null::date as valid_until,
        'webmail' as rule,
        4 as priority,
        'seed:webmail_domains' as source
    from addresses as a
    where
        a.domain in (select domain from {{ ref('webmail_domains') }})
        or a.registrable_domain in (select domain from {{ ref('webmail_domains') }})
        -- families count whole under any public suffix (hotmail.co.uk, outlook.fr, ...)
        or a.provider_label in (select label from {{ ref('webmail_families') }})
),

-- personal addresses handed out by projects are no employer; they stay on the worklist
project_personal as (
    select
        a.address,
        '(independent)' as organization,
        null::date as valid_from,
        null::date as valid_until,
        'project_personal' as rule,
        4 as priority,
        'seed:project_personal_domains' as source
    from addresses as a
    where
        a.address not in (select w.address from webmail as w)
        and exists (
            select 1
            from {{ ref('project_personal_domains') }} as p
            where a.domain = p.domain or a.domain like '%.' || p.domain
        )
),

fallback as (
    select
        a.address,
        a.registrable_domain as organization,
        null::date as valid_from,
        null::date as valid_until,
        'registrable_domain' as rule,
        5 as priority,
        'public suffix list' as source
    from addresses as a
    where
        a.address not in (select address from domain_map)
        and a.address not in (select address from webmail)
        and a.address not in (select address from project_personal)
),

final as (
    select * from by_address
    union all
    select * from by_domain
    union all
    select * from domain_map
    union all
    select * from webmail
    union all
    select * from project_personal
    union all
    select * from fallback
)

select * from final
