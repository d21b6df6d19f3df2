-- One row per (address, interval, rule): which organization an address counts for, and the
-- rule that decided it. For a given day the applicable row with the lowest priority wins.
select
    address,
    organization,
    valid_from,
    valid_until,
    rule,
    priority,
    source
from {{ ref('int_affiliation_rules') }}
