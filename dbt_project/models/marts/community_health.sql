-- One row per project, grain and period, every period from the project's first to its last act
-- (a period with no activity is a row of zeros, so charts show the gap): the community-level
-- figures of METRICS.md. Bots and list addresses are left out unless var include_bots is true.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=["{{ delete_touched_periods() }}"],
        post_hook=["{{ drop_new_rows_table() }}"],
    )
}}

with

periods as (
    select
        project,
        grain,
        period_start
    from {{ ref('int_periods') }}
    where {{ in_touched_periods() }}
),

-- not materialized: DuckDB would otherwise copy every column of the events into a temporary
-- result (read more than once below), spilling tens of millions of rows at full size
events as not materialized (
    select * from {{ ref('int_period_events') }}
    where {{ in_touched_periods() }}
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
        project,
        grain,
        period_start,
        count(*) filter (where wrote) as correspondents,
        count(*) filter (where committed) as submitters,
        count(*) filter (where wrote and committed) as correspondents_who_submit
    from people_sets
    group by all
),

-- the units of the concentration figures: an organization, except that `(independent)` and
-- `(unknown)` are no employer, so each of their people is a unit of their own (never one block)
org_commits as (
    select
        project,
        grain,
        period_start,
        case
            when organization in ('(independent)', '(unknown)') then organization || ' ' || person_id
            else organization
        end as unit,
        count(*) as commits,
        sum(lines_added + lines_removed) as lines_changed
    from events
    where event = 'commit'
    group by all
),

-- units from the largest down: the elephant factor is the rank at which the running total first
-- reaches half of all commits (ties in size do not change that rank)
org_ranked as (
    select
        *,
        commits / sum(commits) over w as share,
        lines_changed / nullif(sum(lines_changed) over w, 0) as lines_share,
        sum(commits) over (w order by commits desc, unit rows unbounded preceding) as running,
        sum(commits) over w as total,
        row_number() over (w order by commits desc, unit) as rank
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
        -- receiving an ack or a review is not doing something
        count(distinct organization) filter (
            where event not in ({{ received_events() }})
        ) as organizations_active,
        count(*) filter (where event = 'message') as messages,
        count(*) filter (where event = 'thread_started') as threads_started,
        count(*) filter (where event = 'patch_posted') as patches_posted,
        count(*) filter (where event = 'patch_merged') as patches_merged,
        count(*) filter (where event = 'series_posted') as series_posted,
        count(*) filter (where event = 'commit') as commits,
        coalesce(sum(lines_added + lines_removed) filter (where event = 'commit'), 0)::bigint as lines_changed,
        median(hours_to_first_reply) filter (where event = 'patch_posted') as median_hours_to_first_reply,
        avg(case when is_answered then 0.0 else 1.0 end) filter (
            where event = 'series_posted' and is_answered is not null
        ) as unanswered_patch_share,
        avg(case when is_outsider_merge then 1.0 else 0.0 end) filter (
            where event = 'commit' and is_outsider_merge is not null
        ) as outsider_merge_share
    from events
    group by all
),

final as (
    select
        p.project,
        p.grain,
        p.period_start,
        coalesce(pc.correspondents, 0) as correspondents,
        coalesce(pc.submitters, 0) as submitters,
        -- null, not a division error, in a period without correspondents
        case
            when pc.correspondents > 0 then pc.submitters / pc.correspondents
        end as submitter_to_correspondent_ratio,
        coalesce(pc.correspondents_who_submit, 0) as correspondents_who_submit,
        coalesce(a.organizations_active, 0) as organizations_active,
        oc.elephant_factor,
        oc.top_org_share,
        oc.top_org_lines_share,
        oc.hhi,
        ab.contributor_absence_factor,
        coalesce(a.messages, 0) as messages,
        coalesce(a.threads_started, 0) as threads_started,
        coalesce(a.patches_posted, 0) as patches_posted,
        coalesce(a.patches_merged, 0) as patches_merged,
        coalesce(a.series_posted, 0) as series_posted,
        coalesce(a.commits, 0) as commits,
        coalesce(a.lines_changed, 0) as lines_changed,
        a.median_hours_to_first_reply,
        a.unanswered_patch_share,
        a.outsider_merge_share
    from periods as p
    left join people_counts as pc using (project, grain, period_start)
    left join activity as a using (project, grain, period_start)
    left join org_concentration as oc using (project, grain, period_start)
    left join absence as ab using (project, grain, period_start)
)

select * from final
