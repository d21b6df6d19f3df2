-- One row per countable act (a message, a commit, an ack given, an ack received, ...), with the
-- person and the organization that person's address was affiliated with on that day.
-- Every metric of the activity marts is a count or sum over these rows.
with

messages as (
    select * from {{ ref('stg_raw__mail_messages') }}
),

commits as (
    select * from {{ ref('stg_raw__git_commits') }}
    where not is_merge
),

git_trailers as (
    select * from {{ ref('stg_raw__git_trailers') }}
),

mail_trailers as (
    select * from {{ ref('stg_raw__mail_trailers') }}
),

people as (
    select
        address,
        person_id
    from {{ ref('int_addresses_resolved') }}
),

mail_events as (
    select
        project,
        'message' as event,
        from_address as address,
        sent_at as occurred_at,
        message_id as ref_id,
        0 as lines_added,
        0 as lines_removed
    from messages
    union all
    select
        project,
        'thread_started',
        from_address,
        sent_at,
        message_id,
        0,
        0
    from messages
    where in_reply_to is null and coalesce(len("references"), 0) = 0
    union all
    select
        project,
        'patch_posted',
        from_address,
        sent_at,
        message_id,
        0,
        0
    from messages
    where is_patch and not is_cover_letter
    union all
    -- a series is a cover letter with its patches, or a patch that is no part of a larger series
    select
        project,
        'series_posted',
        from_address,
        sent_at,
        message_id,
        0,
        0
    from messages
    where is_cover_letter or (is_patch and coalesce(patch_total, 1) = 1)
),

-- a trailer in a reply counts as given by the reply's sender only when it names the sender
mail_review_acts as (
    select
        m.project,
        t.kind,
        m.from_address as giver,
        parent.from_address as receiver,
        m.sent_at,
        m.message_id
    from mail_trailers as t
    inner join messages as m
        on t.project = m.project and t.list_name = m.list_name and t.message_id = m.message_id
    inner join messages as parent
        on m.project = parent.project and m.list_name = parent.list_name and m.in_reply_to = parent.message_id
    where
        t.kind in ('acked-by', 'reviewed-by')
        and (t.address = m.from_address or lower(trim(t.name)) = lower(trim(m.from_name)))
),

mail_review_events as (
    select
        project,
        'list_' || replace(kind, '-by', '') || '_given' as event,
        giver as address,
        sent_at as occurred_at,
        message_id as ref_id,
        0 as lines_added,
        0 as lines_removed
    from mail_review_acts
    union all
    select
        project,
        'list_' || replace(kind, '-by', '') || '_received',
        receiver,
        sent_at,
        message_id,
        0,
        0
    from mail_review_acts
),

commit_events as (
    select
        project,
        'commit' as event,
        author_address as address,
        activity_at as occurred_at,
        sha as ref_id,
        lines_added,
        lines_removed
    from commits
),

commit_trailers as (
    select
        c.project,
        t.kind,
        t.address as trailer_address,
        c.author_address,
        c.activity_at,
        c.sha,
        tp.person_id as trailer_person,
        ap.person_id as author_person
    from git_trailers as t
    inner join commits as c on t.project = c.project and t.repository = c.repository and t.sha = c.sha
    left join people as tp on t.address = tp.address
    left join people as ap on c.author_address = ap.address
    where t.address is not null
),

trailer_events as (
    select
        project,
        case kind
            when 'acked-by' then 'ack_given'
            when 'reviewed-by' then 'review_given'
            when 'tested-by' then 'test_given'
            when 'reported-by' then 'report_given'
            when 'signed-off-by' then 'signoff_non_author'
        end as event,
        trailer_address as address,
        activity_at as occurred_at,
        sha as ref_id,
        0 as lines_added,
        0 as lines_removed
    from commit_trailers
    where
        kind in ('acked-by', 'reviewed-by', 'tested-by', 'reported-by')
        or (kind = 'signed-off-by' and trailer_person is distinct from author_person)
    union all
    select
        project,
        case kind when 'acked-by' then 'ack_received' else 'review_received' end,
        author_address,
        activity_at,
        sha,
        0,
        0
    from commit_trailers
    where kind in ('acked-by', 'reviewed-by')
),

all_events as (
    select * from mail_events
    union all
    select * from mail_review_events
    union all
    select * from commit_events
    union all
    select * from trailer_events
),

keyed as (
    select
        row_number() over () as event_key,
        *
    from all_events
    where address is not null
),

rules as (
    select * from {{ ref('int_affiliation_rules') }}
),

attributed as (
    select
        e.event_key,
        e.project,
        e.event,
        e.address,
        p.person_id,
        p.is_bot,
        coalesce(r.organization, '(unknown)') as organization,
        r.rule as affiliation_rule,
        e.occurred_at,
        e.ref_id,
        e.lines_added,
        e.lines_removed
    from keyed as e
    left join {{ ref('int_addresses_resolved') }} as p on e.address = p.address
    left join rules as r
        on
            e.address = r.address
            and (r.valid_from is null or e.occurred_at::date >= r.valid_from)
            and (r.valid_until is null or e.occurred_at::date <= r.valid_until)
    qualify row_number() over (
        partition by e.event_key order by r.priority, r.valid_from desc nulls last
    ) = 1
)

select * exclude (event_key) from attributed
