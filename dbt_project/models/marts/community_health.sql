-- One row per project, grain and period: the community-level figures of METRICS.md.
with

events as (
    select
        e.*,
        g.grain,
        date_trunc(g.grain, e.occurred_at)::date as period_start
    from {{ ref('int_activity_events') }} as e
    cross join {{ grains() }}
    where not coalesce(e.is_bot, false)
),

periods as (
    select distinct
        project,
        grain,
        period_start
    from events
),

people_sets as (
    select
        project,
        grain,
        period_start,
        person_id,
        bool_or(event = 'message') as wrote,
        bool_or(event = 'commit') as committed
    from events
    where event in ('message', 'commit')
    group by all
),

people_counts as (
    select
        p.project,
        p.grain,
        p.period_start,
        count(s.person_id) filter (where s.wrote) as correspondents,
        count(s.person_id) filter (where s.committed) as submitters,
        count(s.person_id) filter (where s.wrote and s.committed) as correspondents_who_submit
    from periods as p
    left join people_sets as s using (project, grain, period_start)
    group by all
),

org_commits as (
    select
        project,
        grain,
        period_start,
        organization,
        count(*) as commits,
        sum(lines_added + lines_removed) as lines_changed
    from events
    where event = 'commit'
    group by all
),

org_ranked as (
    select
        *,
        commits / sum(commits) over w as share,
        lines_changed / nullif(sum(lines_changed) over w, 0) as lines_share,
        -- commits of the larger organizations before this one (ties broken by name, so the
        -- elephant factor is the smallest count that reaches half)
        sum(commits) over (w order by commits desc, organization rows unbounded preceding) as running,
        sum(commits) over w as total,
        row_number() over (w order by commits desc, organization) as rank
    from org_commits
    window w as (partition by project, grain, period_start)
),

org_concentration as (
    select
        project,
        grain,
        period_start,
        min(rank) filter (where running >= total / 2.0) as elephant_factor,
        max(share) as top_org_share,
        max(lines_share) as top_org_lines_share,
        sum(share * share) as hhi
    from org_ranked
    group by all
),

person_commits as (
    select
        project,
        grain,
        period_start,
        person_id,
        count(*) as commits
    from events
    where event = 'commit'
    group by all
),

person_ranked as (
    select
        *,
        sum(commits) over (w order by commits desc, person_id rows unbounded preceding) as running,
        sum(commits) over w as total,
        row_number() over (w order by commits desc, person_id) as rank
    from person_commits
    window w as (partition by project, grain, period_start)
),

absence as (
    select
        project,
        grain,
        period_start,
        min(rank) filter (where running >= total / 2.0) as contributor_absence_factor
    from person_ranked
    group by all
),

activity as (
    select
        project,
        grain,
        period_start,
        count(distinct organization) as organizations_active,
        count(*) filter (where event = 'message') as messages,
        count(*) filter (where event = 'patch_posted') as patches_posted,
        count(*) filter (where event = 'commit') as commits,
        coalesce(sum(lines_added + lines_removed) filter (where event = 'commit'), 0)::bigint as lines_changed
    from events
    group by all
),

final as (
    select
        pc.project,
        pc.grain,
        pc.period_start,
        pc.correspondents,
        pc.submitters,
        case when pc.correspondents > 0 then pc.submitters / pc.correspondents end
            as submitter_to_correspondent_ratio,
        pc.correspondents_who_submit,
        a.organizations_active,
        oc.elephant_factor,
        oc.top_org_share,
        oc.top_org_lines_share,
        oc.hhi,
        ab.contributor_absence_factor,
        a.messages,
        a.patches_posted,
        a.commits,
        a.lines_changed
    from people_counts as pc
    inner join activity as a using (project, grain, period_start)
    left join org_concentration as oc using (project, grain, period_start)
    left join absence as ab using (project, grain, period_start)
)

select * from final
