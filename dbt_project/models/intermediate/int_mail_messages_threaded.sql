-- One row per (project, list, message) with its parent in the thread and how the parent was
-- found, in the order of METRICS.md: In-Reply-To, then the nearest References entry, then the
-- normalized subject. Only messages archived on the same list can be parents, so a thread never
-- hangs from a message nobody can see.
with

messages as (
    select
        project,
        list_name,
        message_id,
        from_address,
        from_name,
        sent_at,
        subject,
        subject_normalized,
        in_reply_to,
        "references",
        is_patch,
        is_cover_letter
    from {{ ref('stg_raw__mail_messages') }}
),

by_reply_to as (
    select
        m.project,
        m.list_name,
        m.message_id,
        m.in_reply_to as parent_id
    from messages as m
    inner join messages as p
        on
            m.project = p.project
            and m.list_name = p.list_name
            and m.in_reply_to = p.message_id
    where m.in_reply_to <> m.message_id
),

-- the last References entry that is archived is the nearest ancestor we know of
by_references as (
    select
        r.project,
        r.list_name,
        r.message_id,
        r.ref_id as parent_id
    from (
        select
            project,
            list_name,
            message_id,
            unnest("references") as ref_id,
            generate_subscripts("references", 1) as ref_position
        from messages
    ) as r
    inner join messages as p
        on
            r.project = p.project
            and r.list_name = p.list_name
            and r.ref_id = p.message_id
    where r.ref_id <> r.message_id
    qualify row_number() over (
        partition by r.project, r.list_name, r.message_id order by r.ref_position desc
    ) = 1
),

-- the first message of each normalized subject on a list
subject_firsts as (
    select
        project,
        list_name,
        subject_normalized,
        arg_min(message_id, (sent_at, message_id)) as first_id,
        min(sent_at) as first_at
    from messages
    where coalesce(subject_normalized, '') <> ''
    group by all
),

-- a message without a parent by headers that says it is a reply (Re: after any list tags, or
-- reply headers that point nowhere we can see) joins the earliest earlier message with the same
-- normalized subject; a fresh post with a reused subject (a v2 series, say) starts its own thread
by_subject as (
    select
        m.project,
        m.list_name,
        m.message_id,
        f.first_id as parent_id
    from messages as m
    inner join subject_firsts as f
        on
            m.project = f.project
            and m.list_name = f.list_name
            and m.subject_normalized = f.subject_normalized
            and m.sent_at > f.first_at
    anti join by_reply_to as rt
        on m.project = rt.project and m.list_name = rt.list_name and m.message_id = rt.message_id
    anti join by_references as rf
        on m.project = rf.project and m.list_name = rf.list_name and m.message_id = rf.message_id
    where
        regexp_matches(lower(m.subject), '^\s*(\[[^\]]*\]\s*)*(re|aw|sv|antw|odp)\s*:')
        or m.in_reply_to is not null
        or coalesce(len(m."references"), 0) > 0
),

final as (
    select
        m.*,
        coalesce(rt.parent_id, rf.parent_id, s.parent_id) as parent_id,
        case
            when rt.parent_id is not null then 'in_reply_to'
            when rf.parent_id is not null then 'references'
            when s.parent_id is not null then 'subject'
        end as parent_rule
    from messages as m
    left join by_reply_to as rt using (project, list_name, message_id)
    left join by_references as rf using (project, list_name, message_id)
    left join by_subject as s using (project, list_name, message_id)
)

select * from final
