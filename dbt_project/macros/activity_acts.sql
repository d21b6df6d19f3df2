{#- The acts of int_activity_events before attribution, as the CTEs of a `with`: one row per act
    (a message, a commit, an ack given, ...) with its address, time, reference and measures, in
    the CTE all_events. The model attributes them (person, organization); its refresh compares
    them with the acts it holds (incremental_acts.sql), so both render them from here. -#}
{% macro activity_acts() -%}
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
)
{%- endmacro %}
