-- One row per countable act (a message, a commit, an ack given, an ack received, ...), with the
-- person and the organization that person's address was affiliated with on that day (UTC).
-- Every metric of the activity marts and of community_health is a count, sum or median over
-- these rows; the measure columns are set only on the events they belong to.
with

messages as (
    select * from {{ ref('int_mail_messages_threaded') }}
),

commits as (
    select * from {{ ref('stg_raw__git_commits') }}
    where not is_merge
),

people as (
    select
        address,
        person_id,
        is_bot
    from {{ ref('int_addresses_resolved') }}
),

patches as (
    select * from {{ ref('int_patches') }}
),

review_acts as (
    select * from {{ ref('int_review_acts') }}
),

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

mail_events as (
    select
        project,
        'message' as event,
        from_address as address,
        sent_at as occurred_at,
        list_name || ':' || message_id as ref_id,
        0 as lines_added,
        0 as lines_removed,
        null::double as hours_to_first_reply,
        null::boolean as is_answered,
        null::varchar as committer_organization
    from messages
    union all
    -- a thread starts where no parent could be found
    select
        project,
        'thread_started',
        from_address,
        sent_at,
        list_name || ':' || message_id,
        0,
        0,
        null,
        null,
        null
    from messages
    where parent_id is null
),

patch_events as (
    select
        project,
        'patch_posted' as event,
        from_address as address,
        sent_at as occurred_at,
        list_name || ':' || message_id as ref_id,
        0 as lines_added,
        0 as lines_removed,
        hours_to_first_reply,
        null::boolean as is_answered,
        null::varchar as committer_organization
    from patches
    where not is_cover_letter
    union all
    -- a posted patch that became a commit, dated by its posting
    select
        project,
        'patch_merged',
        from_address,
        sent_at,
        list_name || ':' || message_id,
        0,
        0,
        null,
        null,
        null
    from patches
    where not is_cover_letter and is_merged
    union all
    select
        project,
        'series_posted',
        from_address,
        posted_at,
        list_name || ':' || series_id,
        0,
        0,
        hours_to_first_reply,
        is_answered,
        null
    from {{ ref('int_patch_series') }}
),

commit_events as (
    select
        c.project,
        'commit' as event,
        c.author_address as address,
        c.activity_at as occurred_at,
        c.repository || ':' || c.sha as ref_id,
        c.lines_added,
        c.lines_removed,
        null::double as hours_to_first_reply,
        null::boolean as is_answered,
        -- kept for the union's shape: outsider merges are decided in outsider_merges
        null::varchar as committer_organization
    from commits as c
),

review_events as (
    select
        project,
        case kind
            when 'acked-by' then 'ack_given'
            when 'reviewed-by' then 'review_given'
            when 'tested-by' then 'test_given'
            when 'reported-by' then 'report_given'
        end as event,
        giver_address as address,
        occurred_at,
        act_key as ref_id,
        0 as lines_added,
        0 as lines_removed,
        null::double as hours_to_first_reply,
        null::boolean as is_answered,
        null::varchar as committer_organization
    from review_acts
    union all
    select
        project,
        case kind when 'acked-by' then 'ack_received' else 'review_received' end,
        receiver_address,
        occurred_at,
        act_key,
        0,
        0,
        null,
        null,
        null
    from review_acts
    where kind in ('acked-by', 'reviewed-by')
    union all
    -- the subset given on the list (list_* columns)
    select
        project,
        case kind when 'acked-by' then 'list_acked_given' else 'list_reviewed_given' end,
        giver_address,
        occurred_at,
        act_key,
        0,
        0,
        null,
        null,
        null
    from review_acts
    where on_list and kind in ('acked-by', 'reviewed-by')
    union all
    select
        project,
        case kind when 'acked-by' then 'list_acked_received' else 'list_reviewed_received' end,
        receiver_address,
        occurred_at,
        act_key,
        0,
        0,
        null,
        null,
        null
    from review_acts
    where on_list and kind in ('acked-by', 'reviewed-by')
),

-- Signed-off-by of anyone but the author (same person, any of their addresses) is a maintainer
-- handling the patch; the key (commit, person) counts one per commit and person. A sign-off
-- that names the author's name (case and spacing aside) under another address (an old login,
-- a previous employer) is the author's own: it is not counted, and merges no one
signoff_events as (
    select distinct on (c.project, c.repository, c.sha, coalesce(tp.person_id, t.address))
        c.project,
        'signoff_non_author' as event,
        t.address,
        c.activity_at as occurred_at,
        c.repository || ':' || c.sha as ref_id,
        0 as lines_added,
        0 as lines_removed,
        null::double as hours_to_first_reply,
        null::boolean as is_answered,
        null::varchar as committer_organization
    from {{ ref('stg_raw__git_trailers') }} as t
    inner join commits as c using (project, repository, sha)
    left join people as tp on t.address = tp.address
    left join people as ap on c.author_address = ap.address
    where
        t.kind = 'signed-off-by'
        and t.address is not null
        and coalesce(tp.person_id, t.address) <> coalesce(ap.person_id, c.author_address)
        and coalesce(
            lower(regexp_replace(nullif(trim(t.name), ''), '\s+', ' ', 'g'))
            <> lower(regexp_replace(nullif(trim(c.author_name), ''), '\s+', ' ', 'g')),
            true
        )
    order by c.project, c.repository, c.sha, coalesce(tp.person_id, t.address), t.position
),

all_events as (
    select * from mail_events
    union all
    select * from patch_events
    union all
    select * from commit_events
    union all
    select * from review_events
    union all
    select * from signoff_events
),

addressed as (
    select * from all_events
    where address is not null
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
