-- The unaffiliated worklist: one row per address with at least one act whose organization came
-- from the provisional registrable_domain rule (no explicit affiliation, no domain map entry, no
-- webmail domain) or from the project_personal rule (a personal address handed out by a
-- project, counted (independent) until someone maps it), ranked by activity so the most active
-- ones are mapped first. Bots and list addresses are left out unless var include_bots is true.
with

events as (
    select * from {{ ref('int_activity_events') }}
    where affiliation_rule in ('registrable_domain', 'project_personal') and ({{ var('include_bots') }} or not is_bot)
),

addresses as (
    select
        address,
        domain,
        registrable_domain
    from {{ ref('int_addresses_resolved') }}
),

per_address as (
    select
        e.address,
        -- project_personal wins over registrable_domain when an address had both (dated rules)
        min(e.affiliation_rule) as rule,
        count(*) filter (where e.event = 'message') as messages,
        count(*) filter (where e.event = 'commit') as commits,
        count(*) as acts,
        list(distinct e.project order by e.project) as projects,
        min(e.occurred_at) as first_seen,
        max(e.occurred_at) as last_seen
    from events as e
    group by e.address
),

final as (
    select
        row_number() over (order by p.messages + p.commits desc, p.acts desc, p.address) as activity_rank,
        p.address,
        a.registrable_domain as domain,
        a.domain as address_domain,
        p.rule,
        p.messages,
        p.commits,
        p.acts,
        p.projects,
        p.first_seen,
        p.last_seen
    from per_address as p
    left join addresses as a on p.address = a.address
)

select * from final
