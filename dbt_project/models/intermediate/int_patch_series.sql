-- One row per patch series (a cover letter with its patches, or a lone patch): who posted it,
-- when, and whether anyone else replied to any of its messages within var unanswered_after_days.
-- A series posted less than that many days before the list's last archived message cannot be
-- judged yet: is_answered is null for it, and it is left out of unanswered_patch_share.
with

patches as (
    select * from {{ ref('int_patches') }}
),

list_end as (
    select
        project,
        list_name,
        max(sent_at) as last_message_at
    from {{ ref('stg_raw__mail_messages') }}
    group by all
),

series as (
    select
        project,
        list_name,
        series_id,
        -- the sender of the cover letter (or of the first patch)
        arg_min(from_address, (not is_cover_letter, sent_at, message_id)) as from_address,
        min(sent_at) as posted_at,
        count(*) filter (where not is_cover_letter) as patches,
        count(*) filter (where not is_cover_letter and is_merged) as patches_merged,
        min(first_reply_at) as first_reply_at
    from patches
    group by all
),

final as (
    select
        s.*,
        date_diff('second', s.posted_at, s.first_reply_at) / 3600.0 as hours_to_first_reply,
        case
            when s.first_reply_at <= s.posted_at + to_days({{ var('unanswered_after_days') }}) then true
            when l.last_message_at >= s.posted_at + to_days({{ var('unanswered_after_days') }}) then false
        end as is_answered
    from series as s
    inner join list_end as l using (project, list_name)
)

select * from final
