{#- Incremental period models: the period marts, which read the view int_period_events.

    A refresh recomputes only the (project, grain, period) pairs whose events changed. Every event
    of int_activity_events is fingerprinted per (project, month): row count, and the XOR and the
    sum of a hash of the whole row, so a new, removed or changed event (a new reply answering an
    old patch, a force-pushed branch dropping commits, a new affiliation of an address) changes its
    month's fingerprint. A touched month touches its month, quarter and year, and every cumulative
    period that ends after it; a period that appears in or disappears from int_periods is touched
    too. The view's pre-hook works these out before any mart is built (prepare_touched_periods).
    When the touched periods hold most of the marts' rows, its second pre-hook has the marts built
    whole instead (incremental_whole_builds.sql).

    What moves every row (the project's models, macros and seeds, the vars, the identity tables)
    is hashed at the start of the run; each incremental model the run builds (the period marts,
    threading and the acts: incremental_threads.sql, incremental_acts.sql) whose hash, stored when
    it was last built, differs is dropped, so it is built whole.

    State lives in schema incremental_state: model_inputs (that hash per incremental model),
    event_fingerprints and periods (what the last complete build saw), current_event_fingerprints
    and touched_periods (this run's; touched_periods stays for inspection). The fingerprints are
    stored only when every incremental period model of the run succeeded, so a failed or partial
    run is recomputed next time. -#}
-- the macros below are mostly Jinja: their SQL is indented by the Jinja blocks around it
-- noqa: disable=LT02


{% macro incremental_state_schema() -%}incremental_state{%- endmacro %}

{#- the project's incremental models, as graph nodes: the period marts and the threading models
    (incremental_threads.sql) -#}
{% macro incremental_models() -%}
    {%- set found = [] -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.package_name == project_name
            and node.config.materialized == 'incremental' -%}
            {%- do found.append(node) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- the incremental period models: those reading int_period_events -#}
{% macro incremental_period_models() -%}
    {%- set found = [] -%}
    {%- for node in incremental_models() -%}
        {%- for parent in node.depends_on.nodes
            if parent.startswith('model.') and parent.endswith('.int_period_events') -%}
            {%- do found.append(node) -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- A hash of what moves every row: the code of the project's models, macros and seeds, the vars
    the models read, and the identity tables (aliases, mailmap, affiliations, list addresses). -#}
{% macro period_inputs_hash() -%}
    {%- set parts = [] -%}
    {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
        {%- if node.package_name == project_name and node.resource_type in ('model', 'seed') -%}
            {%- do parts.append(node.unique_id ~ '=' ~ node.checksum.checksum) -%}
        {%- endif -%}
    {%- endfor -%}
    {#- the flat graph holds no macros: the project's macros are found in the context -#}
    {%- for name, value in context.items() | sort -%}
        {%- if value.macro is defined and value.macro.package_name == project_name -%}
            {%- do parts.append(name ~ '=' ~ local_md5(value.macro.macro_sql)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for name in ['period_date', 'committer_date_projects', 'unanswered_after_days', 'include_bots',
                     'cumulative_grain', 'first_period_date'] -%}
        {%- do parts.append(name ~ '=' ~ tojson(var(name, none))) -%}
    {%- endfor -%}
    {%- for table in ['identity_aliases', 'identity_affiliations', 'list_addresses'] -%}
        {%- set relation = adapter.get_relation(database=target.database, schema='raw', identifier=table) -%}
        {%- if relation is none -%}
            {%- do parts.append(table ~ '=none') -%}
        {%- else -%}
            {%- set row = run_query(
                'select count(*), bit_xor(hash(t)), sum(hash(t)::hugeint) from ' ~ relation ~ ' as t'
            ).rows[0] -%}
            {%- do parts.append(table ~ '=' ~ row[0] ~ ':' ~ row[1] ~ ':' ~ row[2]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(local_md5(parts | join('\n'))) }}
{%- endmacro %}

{#- a state table, or none: asked of the database, since dbt's relation cache does not see the
    tables the hooks create (the schema is no model's) -#}
{% macro state_relation(name) -%}
    {%- if not execute -%}{{ return(none) }}{%- endif -%}
    {%- set found = run_query(
        "select count(*) from duckdb_tables() where database_name = current_database() and schema_name = '"
        ~ incremental_state_schema() ~ "' and table_name = '" ~ name ~ "'"
    ).rows[0][0] -%}
    {%- if found -%}
        {{ return(api.Relation.create(database=target.database, schema=incremental_state_schema(), identifier=name)) }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- on-run-start: drop each incremental model this run builds (and the stored fingerprints) when
    what moves every row changed since that model was last built, so it is built whole. A model
    the run leaves out is left as it is, for the models it feeds to read: it is rebuilt whole by
    the first run that builds it. -#}
{% macro check_period_inputs() -%}
    {#- only a command that builds the models rebuilds them: a `dbt test` drops nothing -#}
    {%- if execute and flags.WHICH in ('run', 'build') -%}
        {%- set stored_relation = state_relation('model_inputs') -%}
        {%- set stored = {} -%}
        {%- if stored_relation is not none -%}
            {%- for row in run_query('select model, inputs_hash from ' ~ stored_relation).rows -%}
                {%- do stored.update({row[0]: row[1]}) -%}
            {%- endfor -%}
        {%- endif -%}
        {%- set current = period_inputs_hash() -%}
        {%- set dropped = namespace(any=false) -%}
        {%- for node in incremental_models() if node.unique_id in selected_resources -%}
            {%- set relation = adapter.get_relation(
                database=node.database, schema=node.schema, identifier=node.alias) -%}
            {%- if relation is not none and stored.get(node.unique_id) != current -%}
                {%- set why = 'code, vars, seeds or identities changed' -%}
                {%- do log('full rebuild of ' ~ node.name ~ ': ' ~ why, info=true) -%}
                {%- do adapter.drop_relation(relation) -%}
                {%- set dropped.any = true -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if dropped.any -%}
            {%- for name in ['event_fingerprints', 'periods'] -%}
                {%- do run_query('drop table if exists ' ~ incremental_state_schema() ~ '.' ~ name) -%}
            {%- endfor -%}
            {%- do adapter.commit() -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- pre-hook of the view int_period_events: this run's fingerprints and the touched periods -#}
{% macro prepare_touched_periods() -%}
    {%- set schema = incremental_state_schema() -%}
    {%- set stored = state_relation('event_fingerprints') is not none and state_relation('periods') is not none -%}
    create schema if not exists {{ schema }};
    create table if not exists {{ schema }}.incremental_builds (invocation_id varchar, model varchar);
    delete from {{ schema }}.incremental_builds where invocation_id <> '{{ invocation_id }}';
    create or replace table {{ schema }}.current_event_fingerprints as
    select
        project,
        date_trunc('month', occurred_at)::date as month,
        count(*) as events,
        bit_xor(hash(e)) as hash_xor,
        sum(hash(e)::hugeint) as hash_sum
    from {{ ref('int_activity_events') }} as e
    group by all;
    {%- if not stored %}
        -- no complete build to compare with: every month and every period
        create or replace table {{ schema }}.touched_months as
        select project, month from {{ schema }}.current_event_fingerprints;
        create or replace table {{ schema }}.changed_periods as
        select project, grain, period_start from {{ ref('int_periods') }};
        create or replace table {{ schema }}.touched_periods as
        select project, grain, period_start from {{ ref('int_periods') }};
    {%- else %}
        create or replace table {{ schema }}.touched_months as
        select coalesce(c.project, s.project) as project, coalesce(c.month, s.month) as month
        from {{ schema }}.current_event_fingerprints as c
        full join {{ schema }}.event_fingerprints as s on c.project = s.project and c.month = s.month
        where
            c.events is distinct from s.events
            or c.hash_xor is distinct from s.hash_xor
            or c.hash_sum is distinct from s.hash_sum;
        create or replace table {{ schema }}.changed_periods as
        with
        current_periods as (
            select project, grain, period_start, period_end from {{ ref('int_periods') }}
        ),
        stored_periods as (
            select project, grain, period_start, period_end from {{ schema }}.periods
        )
        select distinct project, grain, period_start
        from (
            (select * from current_periods except select * from stored_periods)
            union all
            (select * from stored_periods except select * from current_periods)
        );
        create or replace table {{ schema }}.touched_periods as
        with
        current_periods as (
            select project, grain, period_start, period_end from {{ ref('int_periods') }}
        ),
        stored_periods as (
            select project, grain, period_start, period_end from {{ schema }}.periods
        ),
        months as (
            select * from {{ schema }}.touched_months
        ),
        first_touched as (
            select project, min(month) as month from months group by project
        ),
        all_periods as (
            select * from current_periods
            union
            select * from stored_periods
        ),
        changed_periods as (
            select * from {{ schema }}.changed_periods
        )
        select distinct project, grain, period_start
        from (
            {%- for grain in ['month', 'quarter', 'year'] %}
                select project, '{{ grain }}' as grain, date_trunc('{{ grain }}', month)::date as period_start
                from months
                union all
            {%- endfor %}
            select p.project, p.grain, p.period_start
            from all_periods as p
            inner join first_touched as f on p.project = f.project
            where p.grain = 'cumulative' and p.period_end > f.month
            union all
            select project, grain, period_start from changed_periods
        );
    {%- endif %}
{%- endmacro %}

{#- a filter on a model's (project, grain, period_start): the touched periods in an incremental
    run, everything otherwise. The bounds on period_start say nothing the list does not, but
    DuckDB applies them in the scan, before hashing (project, grain, period_start) of every row;
    on the view int_period_events they reach int_periods, so only touched periods are expanded. -#}
{% macro in_touched_periods(alias=none) -%}
    {#- a unit test renders the model with no relation of its own (this is none) -#}
    {%- if this is not none and is_incremental() -%}
        {%- set p = (alias ~ '.') if alias else '' -%}
        {{ touched_periods_filter(p) }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- (project, grain, period_start) of a row (columns prefixed by `p`) is a touched period -#}
{% macro touched_periods_filter(p='') -%}
    {%- set touched = incremental_state_schema() ~ '.touched_periods' -%}
    (
        {{ p }}period_start between (select min(period_start) from {{ touched }})
        and (select max(period_start) from {{ touched }})
        and ({{ p }}project, {{ p }}grain, {{ p }}period_start) in (
            select (project, grain, period_start) from {{ touched }}
        )
    )
{%- endmacro %}

{#- pre-hook of every incremental period model: its rows of the touched periods go; the model's
    query (filtered by in_touched_periods) inserts them again -#}
{% macro delete_touched_periods() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ in_touched_periods() }};
        {{ record_incremental_build() }}
    {%- endif -%}
{%- endmacro %}

{#- part of an incremental model's pre-hook: this run (dbt's invocation_id) builds the model
    incrementally, so its data tests may check only the touched periods (tested_rows). The marts
    build side by side: the table and the clearing of earlier runs' rows come first, in
    prepare_touched_periods, so their transactions only insert (two deletes of one row conflict). -#}
{% macro record_incremental_build() -%}
    {%- set schema = incremental_state_schema() -%}
    insert into {{ schema }}.incremental_builds values ('{{ invocation_id }}', '{{ this.schema }}.{{ this.identifier }}')
{%- endmacro %}

{#- What a data test of `model` reads. When this run built `model` incrementally, only the rows
    of the touched periods (and any row with a null period key): every row of those periods,
    old or new, since a key holds its period, so a new row repeating an old one is in the test;
    the rows of untouched periods were tested by the run that wrote them. Otherwise (a full
    build, a model of no period, a test run on its own) the whole model. -#}
{% macro tested_rows(model) -%}
    {%- set restricted = namespace(value=false) -%}
    {%- if execute and model is not none and model.schema is not none -%}
        {%- set builds = state_relation('incremental_builds') -%}
        {%- if builds is not none and state_relation('touched_periods') is not none -%}
            {%- set found = run_query(
                "select count(*) from " ~ builds ~ " where invocation_id = '" ~ invocation_id
                ~ "' and model = '" ~ model.schema ~ "." ~ model.identifier ~ "'"
            ).rows[0][0] -%}
            {%- set restricted.value = found > 0 -%}
        {%- endif -%}
    {%- endif -%}
    {%- if restricted.value -%}
        (
            select * from {{ model }}
            where
                {{ touched_periods_filter() }}
                or project is null or grain is null or period_start is null
        )
    {%- else -%}
        {{ model }}
    {%- endif -%}
{%- endmacro %}

{#- post-hook of every incremental model: drop the temporary table that held this run's new rows.
    dbt-duckdb drops it only when it is a table of the warehouse (a DuckLake's); a temporary table
    stays in the thread's connection until dbt exits, where the data tests run next on that
    connection would share dbt's memory limit with it. -#}
{% macro drop_new_rows_table() -%}
    {%- if execute and is_incremental() and not adapter.is_ducklake(this) -%}
        {%- set found = run_query(
            "select table_name from duckdb_tables() where temporary and starts_with(table_name, '"
            ~ this.identifier ~ "__dbt_tmp')"
        ).columns[0].values() -%}
        {%- for name in found -%}
            drop table if exists temp.main."{{ name }}";
        {% endfor -%}
    {%- endif -%}
{%- endmacro %}

{#- on-run-end: the inputs each incremental model was built from; and what this build saw, when
    every incremental period model built -#}
{% macro record_period_state(results) -%}
    {%- if execute -%}
        {%- set built = [] -%}
        {%- for result in results -%}
            {%- if result.status == 'success' -%}{%- do built.append(result.node.unique_id) -%}{%- endif -%}
        {%- endfor -%}
        {%- set models = [] -%}
        {%- for node in incremental_models() if node.unique_id in built -%}
            {%- do models.append(node.unique_id) -%}
        {%- endfor -%}
        {%- if models and flags.WHICH in ('run', 'build') -%}
            {%- set schema = incremental_state_schema() -%}
            {%- set inputs_hash = period_inputs_hash() -%}
            {%- call statement('record_model_inputs') -%}
                create schema if not exists {{ schema }};
                create table if not exists {{ schema }}.model_inputs (model varchar, inputs_hash varchar);
                delete from {{ schema }}.model_inputs where model in ('{{ models | join("', '") }}');
                insert into {{ schema }}.model_inputs
                select unnest(['{{ models | join("', '") }}']), '{{ inputs_hash }}';
            {%- endcall -%}
            {%- do adapter.commit() -%}
        {%- endif -%}
        {%- set state = namespace(complete=state_relation('current_event_fingerprints') is not none) -%}
        {%- for node in incremental_period_models() -%}
            {%- if node.unique_id not in built -%}{%- set state.complete = false -%}{%- endif -%}
        {%- endfor -%}
        {%- if state.complete -%}
            {%- set schema = incremental_state_schema() -%}
            {%- set periods = namespace(relation=none) -%}
            {%- for node in graph.nodes.values() -%}
                {%- if node.resource_type == 'model' and node.package_name == project_name
                    and node.name == 'int_periods' -%}
                    {%- set periods.relation = api.Relation.create(
                        database=node.database, schema=node.schema, identifier=node.alias) -%}
                {%- endif -%}
            {%- endfor -%}
            {%- call statement('record_period_state') -%}
                create or replace table {{ schema }}.event_fingerprints as
                select * from {{ schema }}.current_event_fingerprints;
                create or replace table {{ schema }}.periods as
                select project, grain, period_start, period_end from {{ periods.relation }};
            {%- endcall -%}
            {%- do adapter.commit() -%}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- post-hook of person_activity: display names come from marts.people, which is rebuilt whole,
    so rows of untouched periods take a changed name too -#}
{% macro refresh_display_names() -%}
    {%- if is_incremental() -%}
        update {{ this }} as t
        set display_name = p.display_name
        from {{ ref('people') }} as p
        where t.person_id = p.person_id and t.display_name is distinct from p.display_name;
        update {{ this }}
        set display_name = null
        where display_name is not null and person_id not in (select person_id from {{ ref('people') }})
    {%- endif -%}
{%- endmacro %}
