-- Mail messages with the effective sender (METRICS.md, bots and lists): where a list rewrote From
-- for DMARC (From is a list address: configured, or seen as `X via Y` with a Reply-To or
-- X-Original-From), the sender is X-Original-From, else Reply-To, unless that is a list address
-- too; else the message has no sender (from_address null, sender_source 'none').
with

source as (
    select * from {{ source('raw', 'mail_messages') }}
),

list_addresses as (
    select distinct address from {{ ref('stg_raw__list_addresses') }}
),

flagged as (
    select
        s.*,
        lower(s.from_address) as header_address,
        lower(s.reply_to_address) as reply_address,
        lower(s.original_from_address) as original_address,
        coalesce(lower(s.from_address) in (select l.address from list_addresses as l), false) as from_is_list,
        coalesce(lower(s.reply_to_address) in (select l.address from list_addresses as l), false)
            as reply_is_list,
        coalesce(lower(s.original_from_address) in (select l.address from list_addresses as l), false)
            as original_is_list
    from source as s
),

senders as (
    select
        *,
        case
            when not from_is_list then 'from'
            when original_address is not null and not original_is_list then 'x-original-from'
            when reply_address is not null and not reply_is_list then 'reply-to'
            else 'none'
        end as sender_source
    from flagged
),

renamed as (
    select
        project,
        list_name,
        message_id,
        case sender_source
            when 'from' then from_name
            when 'x-original-from'
                then coalesce(original_from_name, regexp_replace(from_name, ' via \S.*$', ''))
            when 'reply-to' then coalesce(reply_to_name, regexp_replace(from_name, ' via \S.*$', ''))
        end as from_name,
        case sender_source
            when 'from' then header_address
            when 'x-original-from' then original_address
            when 'reply-to' then reply_address
        end as from_address,
        header_address as header_from_address,
        sender_source,
        sent_at,
        date_source,
        subject,
        subject_normalized,
        in_reply_to,
        "references",
        coalesce(is_patch, false) as is_patch,
        coalesce(is_cover_letter, false) as is_cover_letter,
        coalesce(is_pull_request, false) as is_pull_request,
        coalesce(is_rfc, false) as is_rfc,
        coalesce(is_resend, false) as is_resend,
        coalesce(patch_version, 1) as patch_version,
        patch_counter,
        patch_total,
        patch_id,
        source_location
    from senders
),

-- name-specific .mailmap lines apply per message, to the effective sender (macro mailmap_address)
final as (
    select
        r.* replace ({{ mailmap_address('r.from_address', 'm') }} as from_address)
    from renamed as r
    {{ mailmap_join('m', 'r.from_address', 'r.from_name') }}
)

select * from final
