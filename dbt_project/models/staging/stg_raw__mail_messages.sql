with

source as (
    select * from {{ source('raw', 'mail_messages') }}
),

renamed as (
    select
        project,
        list_name,
        message_id,
        from_name,
        -- name-specific .mailmap lines apply per message (macro mailmap_address)
        {{ mailmap_address('from_address', 'from_name') }} as from_address,
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
    from source
)

select * from renamed
