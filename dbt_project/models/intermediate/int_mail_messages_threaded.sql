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

-- a message that says it is a reply (Re: after any list tags, or reply headers that point
-- nowhere we can see) joins the earliest earlier message with the same normalized subject;
-- a fresh post with a reused subject (a v2 series, say) stays a thread of its own
by_subject as (
    select
        m.project,
        m.list_name,
        m.message_id,
        p.message_id as parent_id
    from messages as m
    inner join messages as p
        on
            m.project = p.project
            and m.list_name = p.list_name
            and m.subject_normalized = p.subject_normalized
            and m.sent_at > p.sent_at
    where
        coalesce(m.subject_normalized, '') <> ''
        and (
            regexp_matches(lower(m.subject), '^\s*(\[[^\]]*\]\s*)*(re|aw|sv|antw|odp)\s*:')
            or m.in_reply_to is not null
            or coalesce(len(m."references"), 0) > 0
        )
    qualify row_number() over (
        partition by m.project, m.list_name, m.message_id order by p.sent_at, p.message_id
    ) = 1
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
