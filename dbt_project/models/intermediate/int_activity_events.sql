-- One row per countable act (a message, a commit, an ack given, an ack received, ...), with the
-- person and the organization that person's address was affiliated with on that day (UTC).
-- Every metric of the activity marts and of community_health is a count, sum or median over
-- these rows; the measure columns are set only on the events they belong to.
-- A refresh attributes only the acts the table does not hold; the acts it holds that are gone or
-- changed, or whose address's person or affiliation rules changed, are deleted first
-- (macros/incremental_acts.sql). The acts themselves are written in macros/activity_acts.sql.
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        pre_hook=["{{ prepare_act_changes() }}"],
        post_hook=["{{ record_address_fingerprints() }}", "{{ drop_new_rows_table() }}"],
    )
}}

with

{{ activity_acts() }},

-- Outsider merges compare the author's organization on the AUTHOR date with the committer's
-- on the COMMITTER date, whichever date places the commit in a period (var period_date): an
-- employer change between writing and committing must not flip the answer.
commit_sides as (
    select
        project || ':' || repository || ':' || sha as commit_key,
        project,
        repository || ':' || sha as ref_id,
        author_address,
        authored_at,
        committer_address,
        committed_at
    from commits
    {% if this is not none and is_incremental() %}
        -- a refresh decides the commits it attributes
        where (project, repository || ':' || sha) in (
            select (project, ref_id) from {{ incremental_state_schema() }}.new_acts
            where event = 'commit'
        )
    {%- endif %}
),

author_orgs as (
    {{ affiliation_at('commit_sides', 'author_address', 'authored_at') }}
),

committer_orgs as (
    {{ affiliation_at('commit_sides', 'committer_address', 'committed_at') }}
),

-- `(independent)` and `(unknown)` are not employers: there each person is a unit of their own,
-- so a commit of one independent person committed by another is an outsider merge too. A bot
-- committer (a web UI, a merge robot) says nothing about who took the patch: no answer (null),
-- which leaves the commit out of the share's numerator and denominator.
outsider_merges as (
    select
        s.project,
        s.ref_id,
        case
            when not coalesce(cp.is_bot, false)
                then
                    case
                        when ao.organization in ('(independent)', '(unknown)')
                            then
                                ao.organization <> co.organization
                                or coalesce(ap.person_id, s.author_address)
                                <> coalesce(cp.person_id, s.committer_address)
                        else ao.organization <> co.organization
                    end
        end as is_outsider_merge
    from commit_sides as s
    inner join author_orgs as ao using (commit_key)
    inner join committer_orgs as co using (commit_key)
    left join people as ap on s.author_address = ap.address
    left join people as cp on s.committer_address = cp.address
),

-- the acts to attribute: all of them, or a refresh's (listed by its pre-hook)
addressed as (
    {% if this is not none and is_incremental() -%}
        select * from {{ incremental_state_schema() }}.new_acts
    {%- else -%}
        select * from all_events
        where address is not null
    {%- endif %}
),

attributed as (
    {{ affiliation_at('addressed', 'address', 'occurred_at') }}
),

final as (
    select
        a.project,
        a.event,
        a.address,
        coalesce(p.person_id, a.address) as person_id,
        coalesce(p.is_bot, false) as is_bot,
        a.organization,
        a.affiliation_rule,
        a.occurred_at,
        a.ref_id,
        a.lines_added,
        a.lines_removed,
        a.hours_to_first_reply,
        a.is_answered,
        om.is_outsider_merge
    from attributed as a
    left join people as p on a.address = p.address
    -- an equality on a key that is null unless the event is a commit, not `a.event = 'commit'`:
    -- DuckDB 1.4 plans a left join with a test of the left side alone as a nested loop
    left join outsider_merges as om
        on
            a.project = om.project
            and case when a.event = 'commit' then a.ref_id end = om.ref_id
)

select * from final
