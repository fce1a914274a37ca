"""Writes documented_schema.json: the documented columns of every system object l4agent's T-SQL
reads (plus those upcoming work needs). Column lists transcribed from Microsoft's documentation
(MicrosoftDocs/sql-docs markdown, rendered at learn.microsoft.com). One line per column:
"name type [since] [; note]"; since defaults to "2016" (present at the floor, SQL Server 2016 RTM).
Version tokens, oldest first: 2016 < 2016SP1 < 2016SP2 < 2017 < 2019 < 2022; "azure" = not in boxed
SQL Server (Azure SQL Database / Hyperscale / Synapse only); "mi" = Managed Instance only."""
import json
from pathlib import Path

DMV = "https://learn.microsoft.com/sql/relational-databases/system-dynamic-management-views/{}"
CAT = "https://learn.microsoft.com/sql/relational-databases/system-catalog-views/{}"
TAB = "https://learn.microsoft.com/sql/relational-databases/system-tables/{}"
SD = "MicrosoftDocs/sql-docs"

# provenance: "read" = the sql-docs markdown was read in this session (commit given);
# "recalled" = transcribed from the current learn.microsoft.com page as known to the author, NOT
# re-read here (time box): re-verify before relying on its "since" values.
OBJECTS = {}


def obj(name, kind, slug, scope, columns, read=None, note="", base=DMV, mi="", args=None, checked=None):
    cols = {}
    for line in columns.strip().splitlines():
        line = line.strip()
        if not line:
            continue
        text, _, cnote = line.partition(";")
        parts = text.split()
        entry = {"type": parts[1], "since": parts[2] if len(parts) > 2 else "2016"}
        if cnote.strip():
            entry["note"] = cnote.strip()
        cols[parts[0].lower()] = entry
    OBJECTS[name] = {"kind": kind, "doc": base.format(slug), "scope": scope,
               "provenance": {"source": f"{SD}:docs/.../{slug}.md", "read_commit": read} if read else
                             {"source": f"learn.microsoft.com page, re-read {checked}"} if checked else
                             {"source": "learn.microsoft.com page (recalled, not re-read in this session)"},
               **({"arguments": args} if args else {}), **({"note": note} if note else {}),
               **({"managed_instance": mi} if mi else {}), "columns": cols}


SESSIONS_COMMON = ""
obj("sys.dm_exec_sessions", "dmv", "sys-dm-exec-sessions-transact-sql", "server", """
session_id smallint
login_time datetime ; 1900-01-01 while the login is incomplete
host_name nvarchar(128)
program_name nvarchar(128)
host_process_id int
client_version int
client_interface_name nvarchar(32)
security_id varbinary(85)
login_name nvarchar(128)
nt_domain nvarchar(128)
nt_user_name nvarchar(128)
status nvarchar(30)
context_info varbinary(128)
cpu_time int
memory_usage int
total_scheduled_time int
total_elapsed_time int ; milliseconds in an int: wraps negative after ~24.8 days
endpoint_id int
last_request_start_time datetime ; 1900-01-01 when the session never ran a request
last_request_end_time datetime ; 1900-01-01 when the session never ran a request (nullable)
reads bigint
writes bigint
logical_reads bigint
is_user_process bit
text_size int
language nvarchar(128)
date_format nvarchar(3)
date_first smallint
quoted_identifier bit
arithabort bit
ansi_null_dflt_on bit
ansi_defaults bit
ansi_warnings bit
ansi_padding bit
ansi_nulls bit
concat_null_yields_null bit
transaction_isolation_level smallint
lock_timeout int
deadlock_priority int
row_count bigint
prev_error int
original_security_id varbinary(85)
original_login_name nvarchar(128)
last_successful_logon datetime
last_unsuccessful_logon datetime
unsuccessful_logons bigint
group_id int
database_id smallint ; SQL Server 2012+
authenticating_database_id int
open_transaction_count int ; SQL Server 2012+
pdw_node_id int azure ; Synapse / PDW only
page_server_reads bigint azure ; Azure SQL Database Hyperscale only
""", read="067d6a0d6f3494babdbf5882648932a48cb0253b")

obj("sys.dm_exec_requests", "dmv", "sys-dm-exec-requests-transact-sql", "server", """
session_id smallint
request_id int
start_time datetime
status nvarchar(30)
command nvarchar(32)
sql_handle varbinary(64)
statement_start_offset int
statement_end_offset int
plan_handle varbinary(64)
database_id smallint
user_id int
connection_id uniqueidentifier
blocking_session_id smallint ; -2 orphaned DTC, -3 deferred recovery, -4 latch owner unknown, -5 async-I/O/latch (newer doc); 0/NULL = not blocked
wait_type nvarchar(60)
wait_time int ; milliseconds
last_wait_type nvarchar(60)
wait_resource nvarchar(256)
open_transaction_count int
open_resultset_count int
transaction_id bigint
context_info varbinary(128)
percent_complete real
estimated_completion_time bigint
cpu_time int
total_elapsed_time int ; milliseconds in an int
scheduler_id int
task_address varbinary(8)
reads bigint
writes bigint
logical_reads bigint
text_size int
language nvarchar(128)
date_format nvarchar(3)
date_first smallint
quoted_identifier bit
arithabort bit
ansi_null_dflt_on bit
ansi_defaults bit
ansi_warnings bit
ansi_padding bit
ansi_nulls bit
concat_null_yields_null bit
transaction_isolation_level smallint
lock_timeout int
deadlock_priority int
row_count bigint
prev_error int
nest_level int
granted_query_memory int
executing_managed_code bit
group_id int
query_hash binary(8)
query_plan_hash binary(8)
statement_sql_handle varbinary(64) ; 2014+
statement_context_id bigint ; 2014+
dop int
parallel_worker_count int
external_script_request_id uniqueidentifier
is_resumable bit 2017
page_resource binary(8) 2019 ; recalled from the current page, not in the stored copy
page_server_reads bigint azure ; Hyperscale only; recalled
dist_statement_id uniqueidentifier 2022 ; recalled
label nvarchar(255) 2022 ; recalled
""", read="01aa880b1f1f11e9a433bce5c2a689d53ea3314a")

obj("sys.dm_exec_connections", "dmv", "sys-dm-exec-connections-transact-sql", "server", """
session_id int
most_recent_session_id int
connect_time datetime
net_transport nvarchar(40)
protocol_type nvarchar(40)
protocol_version int
endpoint_id int
encrypt_option nvarchar(40) ; 'TRUE' / 'FALSE'
auth_scheme nvarchar(40)
node_affinity smallint
num_reads int
num_writes int
last_read datetime
last_write datetime
net_packet_size int
client_net_address varchar(48)
client_tcp_port int
local_net_address varchar(48)
local_tcp_port int
connection_id uniqueidentifier
parent_connection_id uniqueidentifier
most_recent_sql_handle varbinary(64)
pdw_node_id int azure
""", read="02f15b1ee4c3fee26d98663faa04c0e8b4ef2e37")

qs = """
sql_handle varbinary(64)
statement_start_offset int ; bytes
statement_end_offset int ; bytes, -1 = end of batch
plan_generation_num bigint
plan_handle varbinary(64)
creation_time datetime
last_execution_time datetime
execution_count bigint
"""
for stem in ("worker_time", "physical_reads", "logical_writes", "logical_reads", "clr_time", "elapsed_time"):
    for p in ("total", "last", "min", "max"):
        qs += f"{p}_{stem} bigint ; microseconds for *_time\n"
qs += """query_hash binary(8)
query_plan_hash binary(8)
total_rows bigint
last_rows bigint
min_rows bigint
max_rows bigint
statement_sql_handle varbinary(64)
statement_context_id bigint
"""
for stem in ("dop", "grant_kb", "used_grant_kb", "ideal_grant_kb", "reserved_threads", "used_threads"):
    for p in ("total", "last", "min", "max"):
        qs += f"{p}_{stem} bigint\n"
for stem, since in (("columnstore_segment_reads", "2016SP2"), ("columnstore_segment_skips", "2016SP2"),
                    ("spills", "2016SP2"), ("num_physical_reads", "2022"), ("page_server_reads", "azure"),
                    ("num_page_server_reads", "azure")):
    for p in ("total", "last", "min", "max"):
        qs += f"{p}_{stem} bigint {since} ; recalled for version (stored copy truncated at 16000 chars)\n"
obj("sys.dm_exec_query_stats", "dmv", "sys-dm-exec-query-stats-transact-sql", "server", qs,
    read="029fcf15926c7e56d5b132b6a1818ad8d3dcd12a")

obj("sys.dm_exec_sql_text", "dmf", "sys-dm-exec-sql-text-transact-sql", "server", """
dbid smallint ; NULL for ad hoc and prepared statements
objectid int
number smallint
encrypted bit
text nvarchar(max)
""", args=["sql_handle | plan_handle"], read="0655f762e3ee950c67657811b7b249c2e93e939c")
obj("sys.dm_exec_query_plan", "dmf", "sys-dm-exec-query-plan-transact-sql", "server", """
dbid smallint
objectid int
number smallint
encrypted bit
query_plan xml ; NULL when the plan XML is nested 128 levels or deeper
""", args=["plan_handle"], read="07a65d0d50f4372d4a4af019b733c7b04ad04091")
obj("sys.dm_exec_plan_attributes", "dmf", "sys-dm-exec-plan-attributes-transact-sql", "server", """
attribute varchar(128) ; e.g. 'dbid', 'set_options'
value sql_variant
is_cache_key bit
""", args=["plan_handle"], read="00e01244edabb266fbdde9727001a4f3d2272fd4")
obj("sys.dm_exec_cached_plans", "dmv", "sys-dm-exec-cached-plans-transact-sql", "server", """
bucketid int
refcounts int
usecounts int
size_in_bytes int
memory_object_address varbinary(8)
cacheobjtype nvarchar(34)
objtype nvarchar(16)
plan_handle varbinary(64)
pool_id int
parent_plan_handle varbinary(64) ; recalled: not in the read copies (02f15b1, 09a0bb1)
pdw_node_id int azure
""", read="02f15b1ee4c3fee26d98663faa04c0e8b4ef2e37")
obj("sys.dm_os_wait_stats", "dmv", "sys-dm-os-wait-stats-transact-sql", "server", """
wait_type nvarchar(60)
waiting_tasks_count bigint
wait_time_ms bigint
max_wait_time_ms bigint
signal_wait_time_ms bigint
pdw_node_id int azure
""", read="02f15b1ee4c3fee26d98663faa04c0e8b4ef2e37", mi="Same columns; MI adds many HADR/PWAIT background waits that must be filtered as benign.")
obj("sys.dm_os_sys_info", "dmv", "sys-dm-os-sys-info-transact-sql", "server", """
cpu_ticks bigint
ms_ticks bigint
cpu_count int
hyperthread_ratio int
physical_memory_kb bigint
virtual_memory_kb bigint
committed_kb int
committed_target_kb int
visible_target_kb int
stack_size_in_bytes int
os_quantum bigint
os_error_mode int
os_priority_class int
max_workers_count int
scheduler_count int
scheduler_total_count int
deadlock_monitor_serial_number int
sqlserver_start_time_ms_ticks bigint
sqlserver_start_time datetime ; server local time
affinity_type int
affinity_type_desc varchar(60)
process_kernel_time_ms bigint
process_user_time_ms bigint
time_source int
time_source_desc nvarchar(60)
virtual_machine_type int
virtual_machine_type_desc nvarchar(60)
softnuma_configuration int
softnuma_configuration_desc nvarchar(60)
process_physical_affinity nvarchar(3072) 2017
sql_memory_model int 2016SP1
sql_memory_model_desc nvarchar(120) 2016SP1
pdw_node_id int azure
socket_count int 2016SP2
cores_per_socket int 2016SP2
numa_node_count int 2016SP2
container_type int 2019 ; recalled, not in the stored copy
container_type_desc nvarchar(60) 2019 ; recalled, not in the stored copy
""", read="00823cf4cae602824bef8d107865a8bf169ac048",
    note="physical_memory_in_bytes, virtual_memory_in_bytes, bpool_* exist only in 2008-2008 R2 and are left out.")
obj("sys.dm_os_performance_counters", "dmv", "sys-dm-os-performance-counters-transact-sql", "server", """
object_name nchar(128) ; 'SQLServer:...' or 'MSSQL$INSTANCE:...', blank-padded
counter_name nchar(128)
instance_name nchar(128)
cntr_value bigint
cntr_type int
pdw_node_id int azure
""", read="029873b7fed8f9feab8c605110db59bcb8b54bb4")
obj("sys.dm_os_volume_stats", "dmf", "sys-dm-os-volume-stats-transact-sql", "server", """
database_id int
file_id int
volume_mount_point nvarchar(512)
volume_id nvarchar(512)
logical_volume_name nvarchar(512)
file_system_type nvarchar(512)
total_bytes bigint
available_bytes bigint
supports_compression tinyint ; bit in the stored copy
supports_alternate_streams tinyint
supports_sparse_files tinyint
is_read_only tinyint
is_compressed tinyint
incurs_seek_penalty tinyint 2019 ; recalled from the current page, not in the stored copy
""", read="0730a54c013867c3d8214917943d7ca4d45f0f9c", args=["database_id", "file_id"],
    mi="Returns the MI's virtual volume; free space there is not the instance's limit (use sys.server_resource_stats).")
obj("sys.dm_tran_active_transactions", "dmv", "sys-dm-tran-active-transactions-transact-sql", "server", """
transaction_id bigint
name nvarchar(32)
transaction_begin_time datetime
transaction_type int
transaction_uow uniqueidentifier
transaction_state int
transaction_status int
transaction_status2 int
dtc_state int ; the read copy tags it "Applies to: Azure SQL Database"
dtc_status int
dtc_isolation_level int
filestream_transaction_id varbinary(128) ; the read copy tags it "Applies to: Azure SQL Database"
pdw_node_id int azure
""", read="02f15b1ee4c3fee26d98663faa04c0e8b4ef2e37")
obj("sys.dm_tran_session_transactions", "dmv", "sys-dm-tran-session-transactions-transact-sql", "server", """
session_id int
transaction_id bigint
transaction_descriptor binary(8)
enlist_count int
is_user_transaction bit
is_local bit
is_enlisted bit
is_bound bit
open_transaction_count int ; the read copy gives no data type; int recalled
pdw_node_id int azure
""", read="02d7f50dea000c65eb707d4dacd21836e2e61fc8")
obj("sys.dm_db_index_physical_stats", "dmf", "sys-dm-db-index-physical-stats-transact-sql", "database", """
database_id smallint
object_id int
index_id int
partition_number int
index_type_desc nvarchar(60)
alloc_unit_type_desc nvarchar(60) ; IN_ROW_DATA, LOB_DATA, ROW_OVERFLOW_DATA
index_depth tinyint
index_level tinyint
avg_fragmentation_in_percent float
fragment_count bigint
avg_fragment_size_in_pages float
page_count bigint
avg_page_space_used_in_percent float ; NULL in LIMITED mode
record_count bigint
ghost_record_count bigint
version_ghost_record_count bigint
min_record_size_in_bytes int
max_record_size_in_bytes int
avg_record_size_in_bytes float
forwarded_record_count bigint
compressed_page_count bigint
hobt_id bigint
columnstore_delete_buffer_state tinyint ; the read copy (067d6a0) misspells it column_store_delete_buffer_state; a newer sql-docs copy and public scripts use this name
columnstore_delete_buffer_state_desc nvarchar(60) ; the read copy misspells it column_store_delete_buff_state_desc with no type; nvarchar(60) per the newer copy
version_record_count bigint 2019
inrow_version_record_count bigint 2019
inrow_diff_version_record_count bigint 2019
total_inrow_version_payload_size_in_bytes bigint 2019
offrow_regular_version_record_count bigint 2019
offrow_long_term_version_record_count bigint 2019
""", args=["database_id", "object_id", "index_id", "partition_number", "mode"],
    read="067d6a0d6f3494babdbf5882648932a48cb0253b",
    note="Takes IS locks on the objects scanned (can block redo on a readable secondary).")
obj("sys.dm_db_index_usage_stats", "dmv", "sys-dm-db-index-usage-stats-transact-sql", "server", """
database_id smallint
object_id int
index_id int
user_seeks bigint
user_scans bigint
user_lookups bigint
user_updates bigint
last_user_seek datetime
last_user_scan datetime
last_user_lookup datetime
last_user_update datetime
system_seeks bigint
system_scans bigint
system_lookups bigint
system_updates bigint
last_system_seek datetime
last_system_scan datetime
last_system_lookup datetime
last_system_update datetime
pdw_node_id int azure
""", read="02d7f50dea000c65eb707d4dacd21836e2e61fc8",
    note="Emptied at service start; a database's rows vanish when it is detached or shut down (AUTO_CLOSE, OFFLINE), and on restore.")
obj("sys.dm_db_partition_stats", "dmv", "sys-dm-db-partition-stats-transact-sql", "database", """
partition_id bigint
object_id int
index_id int
partition_number int
in_row_data_page_count bigint
in_row_used_page_count bigint
in_row_reserved_page_count bigint
lob_used_page_count bigint
lob_reserved_page_count bigint
row_overflow_used_page_count bigint
row_overflow_reserved_page_count bigint
used_page_count bigint
reserved_page_count bigint
row_count bigint
pdw_node_id int azure
distribution_id int azure
""", read="00e01244edabb266fbdde9727001a4f3d2272fd4")
obj("sys.dm_db_stats_properties", "dmf", "sys-dm-db-stats-properties-transact-sql", "database", """
object_id int
stats_id int
last_updated datetime2
rows bigint
rows_sampled bigint
steps int
unfiltered_rows bigint
modification_counter bigint
persisted_sample_percent float 2016SP1 ; SP1 CU4
""", args=["object_id", "stats_id"], read="02d7f50dea000c65eb707d4dacd21836e2e61fc8")
obj("sys.dm_db_missing_index_details", "dmv", "sys-dm-db-missing-index-details-transact-sql", "server", """
index_handle int
database_id smallint
object_id int
equality_columns nvarchar(4000)
inequality_columns nvarchar(4000)
included_columns nvarchar(4000)
statement nvarchar(4000)
""", read="02f15b1ee4c3fee26d98663faa04c0e8b4ef2e37")
obj("sys.dm_db_missing_index_groups", "dmv", "sys-dm-db-missing-index-groups-transact-sql", "server", """
index_group_handle int
index_handle int
""", read="00e01244edabb266fbdde9727001a4f3d2272fd4")
obj("sys.dm_db_missing_index_group_stats", "dmv", "sys-dm-db-missing-index-group-stats-transact-sql", "server", """
group_handle int
unique_compiles bigint
user_seeks bigint
user_scans bigint
last_user_seek datetime
last_user_scan datetime
avg_total_user_cost float
avg_user_impact float
system_seeks bigint
system_scans bigint
last_system_seek datetime
last_system_scan datetime
avg_total_system_cost float
avg_system_impact float
""", read="02d7f50dea000c65eb707d4dacd21836e2e61fc8")
obj("sys.dm_hadr_database_replica_states", "dmv", "sys-dm-hadr-database-replica-states-transact-sql", "server", """
database_id int
group_id uniqueidentifier
replica_id uniqueidentifier
group_database_id uniqueidentifier
is_local bit
is_primary_replica bit
synchronization_state tinyint
synchronization_state_desc nvarchar(60)
is_commit_participant bit
synchronization_health tinyint
synchronization_health_desc nvarchar(60)
database_state tinyint
database_state_desc nvarchar(60)
is_suspended bit
suspend_reason tinyint
suspend_reason_desc nvarchar(60)
recovery_lsn numeric(25,0)
truncation_lsn numeric(25,0)
last_sent_lsn numeric(25,0)
last_sent_time datetime
last_received_lsn numeric(25,0)
last_received_time datetime
last_hardened_lsn numeric(25,0)
last_hardened_time datetime
last_redone_lsn numeric(25,0)
last_redone_time datetime
log_send_queue_size bigint ; KB
log_send_rate bigint
redo_queue_size bigint ; KB
redo_rate bigint
filestream_send_rate bigint
end_of_log_lsn numeric(25,0)
last_commit_lsn numeric(25,0)
last_commit_time datetime
low_water_mark_for_ghosts bigint
secondary_lag_seconds bigint 2016 ; 2016+ per the page
quorum_commit_lsn numeric(25,0) 2019 ; recalled; version to re-verify
quorum_commit_time datetime 2019 ; recalled; version to re-verify
""", mi="On MI Business Critical the built-in AG is visible here; General Purpose has no rows.",
    read="00e01244edabb266fbdde9727001a4f3d2272fd4")
obj("sys.dm_hadr_availability_replica_states", "dmv", "sys-dm-hadr-availability-replica-states-transact-sql", "server", """
replica_id uniqueidentifier
group_id uniqueidentifier
is_local bit
role tinyint ; 0 resolving, 1 primary, 2 secondary
role_desc nvarchar(60)
operational_state tinyint
operational_state_desc nvarchar(60)
connected_state tinyint
connected_state_desc nvarchar(60)
recovery_health tinyint
recovery_health_desc nvarchar(60)
synchronization_health tinyint
synchronization_health_desc nvarchar(60)
last_connect_error_number int
last_connect_error_description nvarchar(1024)
last_connect_error_timestamp datetime
write_lease_remaining_ticks bigint 2017 ; recalled: not in the read copies (07a65d0, d13225b); version to re-verify
current_configuration_commit_start_time_utc datetime 2017 ; recalled: not in the read copies; version to re-verify
""", read="07a65d0d50f4372d4a4af019b733c7b04ad04091")
obj("sys.availability_replicas", "catalog", "sys-availability-replicas-transact-sql", "server", """
replica_id uniqueidentifier
group_id uniqueidentifier
replica_metadata_id int
replica_server_name nvarchar(256)
owner_sid varbinary(85)
endpoint_url nvarchar(128)
availability_mode tinyint
availability_mode_desc nvarchar(60)
failover_mode tinyint
failover_mode_desc nvarchar(60)
session_timeout int
primary_role_allow_connections tinyint ; 2 = ALL, 3 = READ_WRITE
primary_role_allow_connections_desc nvarchar(60)
secondary_role_allow_connections tinyint
secondary_role_allow_connections_desc nvarchar(60)
create_date datetime
modify_date datetime
backup_priority int
read_only_routing_url nvarchar(256)
seeding_mode tinyint ; recalled: not in the read copies (02d7f50, 4a082dd)
seeding_mode_desc nvarchar(60) ; recalled: not in the read copies
read_write_routing_url nvarchar(256) 2019 ; recalled: not in the read copies
""", base=CAT, read="02d7f50dea000c65eb707d4dacd21836e2e61fc8")
obj("sys.availability_groups", "catalog", "sys-availability-groups-transact-sql", "server", """
group_id uniqueidentifier
name sysname
resource_id nvarchar(40)
resource_group_id nvarchar(40)
failure_condition_level int
health_check_timeout int
automated_backup_preference tinyint ; 0 primary, 1 secondary only, 2 prefer secondary, 3 none
automated_backup_preference_desc nvarchar(60)
version smallint
basic_features bit
dtc_support bit
db_failover bit
is_distributed bit
cluster_type tinyint 2017
cluster_type_desc nvarchar(60) 2017
required_synchronized_secondaries_to_commit int 2017
sequence_number bigint 2017
is_contained bit 2022 ; the read copy lists it without a version (big data cluster master instance); 2022 recalled
""", base=CAT, read="00e01244edabb266fbdde9727001a4f3d2272fd4",
    note="The read copy gives no version for cluster_type .. sequence_number; 2017 is recalled (features of SQL Server 2017).")
obj("sys.availability_databases_cluster", "catalog", "sys-availability-databases-cluster-transact-sql", "server", """
group_id uniqueidentifier
group_database_id uniqueidentifier
database_name sysname
""", base=CAT, read="d6db352cbc7b9f7aa9ccf8e1fc00ee251de2e37c",
    note="The documentation lists only these three columns (truncation_lsn, recalled earlier, is not documented).")

db = """
name sysname
database_id int
source_database_id int ; non-NULL = database snapshot
owner_sid varbinary(85)
create_date datetime ; created or renamed (not restored: use msdb.dbo.restorehistory)
compatibility_level tinyint
collation_name sysname
user_access tinyint ; 0 MULTI_USER, 1 SINGLE_USER, 2 RESTRICTED_USER
user_access_desc nvarchar(60)
is_read_only bit
is_auto_close_on bit
is_auto_shrink_on bit
state tinyint ; 0 ONLINE, 1 RESTORING, 2 RECOVERING, 3 RECOVERY_PENDING, 4 SUSPECT, 5 EMERGENCY, 6 OFFLINE
state_desc nvarchar(60)
is_in_standby bit
is_cleanly_shutdown bit
is_supplemental_logging_enabled bit
snapshot_isolation_state tinyint
snapshot_isolation_state_desc nvarchar(60)
is_read_committed_snapshot_on bit
recovery_model tinyint
recovery_model_desc nvarchar(60)
page_verify_option tinyint
page_verify_option_desc nvarchar(60)
is_auto_create_stats_on bit
is_auto_create_stats_incremental_on bit
is_auto_update_stats_on bit
is_auto_update_stats_async_on bit
is_ansi_null_default_on bit
is_ansi_nulls_on bit
is_ansi_padding_on bit
is_ansi_warnings_on bit
is_arithabort_on bit
is_concat_null_yields_null_on bit
is_numeric_roundabort_on bit
is_quoted_identifier_on bit
is_recursive_triggers_on bit
is_cursor_close_on_commit_on bit
is_local_cursor_default bit
is_fulltext_enabled bit
is_trustworthy_on bit
is_db_chaining_on bit
is_parameterization_forced bit
is_master_key_encrypted_by_server bit
is_query_store_on bit
is_published bit
is_subscribed bit
is_merge_published bit
is_distributor bit
is_sync_with_backup bit
service_broker_guid uniqueidentifier
is_broker_enabled bit
log_reuse_wait tinyint
log_reuse_wait_desc nvarchar(60)
is_date_correlation_on bit
is_cdc_enabled bit
is_encrypted bit
is_honor_broker_priority_on bit
replica_id uniqueidentifier ; NULL = not in an availability group
group_database_id uniqueidentifier
resource_pool_id int
default_language_lcid smallint
default_language_name nvarchar(128)
default_fulltext_language_lcid int
default_fulltext_language_name nvarchar(128)
is_nested_triggers_on bit
is_transform_noise_words_on bit
two_digit_year_cutoff smallint
containment tinyint
containment_desc nvarchar(60)
target_recovery_time_in_seconds int
delayed_durability int
delayed_durability_desc nvarchar(60)
is_memory_optimized_elevate_to_snapshot_on bit
is_federation_member bit azure
is_remote_data_archive_enabled bit
is_mixed_page_allocation_on bit
is_temporal_history_retention_enabled bit 2017 ; stored copy names it is_temporal_retention_enabled (Azure); recalled: 2017+
catalog_collation_type int 2019 ; stored copy: Azure only; recalled: 2019+
catalog_collation_type_desc nvarchar(60) 2019
physical_database_name nvarchar(128) 2019 ; recalled: 2019+; on MI the GUID name that msdb.dbo.backupset.database_name can hold
is_result_set_caching_on bit azure
is_accelerated_database_recovery_on bit 2019
is_tempdb_spill_to_remote_store bit azure
is_stale_page_detection_on bit azure
is_memory_optimized_enabled bit 2019
is_data_retention_enabled bit 2022
is_ledger_on bit 2022
is_change_feed_enabled bit 2022
is_data_lake_replication_enabled bit azure
is_event_stream_enabled bit azure
is_vorder_enabled bit azure
is_optimized_locking_on bit 2025
"""
obj("sys.databases", "catalog", "sys-databases-transact-sql", "server", db, base=CAT,
    read="0012fba8a0bfa66945bf77c1329dde07e9e582e3",
    note="Rows of OFFLINE databases are hidden from logins without ALTER ANY DATABASE / CREATE DATABASE. "
         "Columns after is_mixed_page_allocation_on are recalled from the current page (the stored copy is from 2017).",
    mi="physical_database_name holds the GUID file-level name used by MI's automated backups.")

files_common = """
file_id int
file_guid uniqueidentifier
type tinyint ; 0 ROWS, 1 LOG, 2 FILESTREAM, 4 FULLTEXT
type_desc nvarchar(60)
data_space_id int
name sysname
physical_name nvarchar(260)
state tinyint
state_desc nvarchar(60)
size int ; 8-KB pages
max_size int ; -1 unlimited, 268435456 = 2 TB log limit
growth int ; 0 = no autogrowth; pages or percent
is_media_read_only bit
is_read_only bit
is_sparse bit
is_percent_growth bit
is_name_reserved bit
is_persistent_log_buffer bit 2017 ; recalled: not in the read copies of either page
create_lsn numeric(25,0)
drop_lsn numeric(25,0)
read_only_lsn numeric(25,0)
read_write_lsn numeric(25,0)
differential_base_lsn numeric(25,0)
differential_base_guid uniqueidentifier
differential_base_time datetime
redo_start_lsn numeric(25,0)
redo_start_fork_guid uniqueidentifier
redo_target_lsn numeric(25,0)
redo_target_fork_guid uniqueidentifier
backup_lsn numeric(25,0)
"""
obj("sys.master_files", "catalog", "sys-master-files-transact-sql", "server",
    "database_id int\n" + files_common + "credential_id int\n", base=CAT,
    read="01aa880b1f1f11e9a433bce5c2a689d53ea3314a",
    note="The read copy spells is_media_read_only as 'is_media_read_onlyF' (a typo).",
    mi="Physical names are MI-internal paths (http URLs on General Purpose).")
obj("sys.database_files", "catalog", "sys-database-files-transact-sql", "database", files_common, base=CAT,
    read="0448eab4ffff0f0d0b6943f47edff2711a26318d")
obj("sys.configurations", "catalog", "sys-configurations-transact-sql", "server", """
configuration_id int
name nvarchar(35)
value sql_variant
minimum sql_variant
maximum sql_variant
value_in_use sql_variant
description nvarchar(255)
is_dynamic bit
is_advanced bit
""", base=CAT, read="07a65d0d50f4372d4a4af019b733c7b04ad04091")
sp = """
name sysname
principal_id int
sid varbinary(85)
type char(1)
type_desc nvarchar(60)
is_disabled int
create_date datetime
modify_date datetime
default_database_name sysname
default_language_name sysname
credential_id int
owning_principal_id int
is_fixed_role bit
"""
obj("sys.server_principals", "catalog", "sys-server-principals-transact-sql", "server", sp, base=CAT,
    read="0448eab4ffff0f0d0b6943f47edff2711a26318d")
obj("sys.sql_logins", "catalog", "sys-sql-logins-transact-sql", "server",
    sp + "is_policy_checked bit\nis_expiration_checked bit\npassword_hash varbinary(256) ; NULL without CONTROL SERVER\n",
    base=CAT, read="0012fba8a0bfa66945bf77c1329dde07e9e582e3", note="Inherits the columns of sys.server_principals.")
obj("sys.server_role_members", "catalog", "sys-server-role-members-transact-sql", "server", """
role_principal_id int
member_principal_id int
""", base=CAT, read="01aa880b1f1f11e9a433bce5c2a689d53ea3314a")
obj("sys.database_principals", "catalog", "sys-database-principals-transact-sql", "database", """
name sysname
principal_id int
type char(1)
type_desc nvarchar(60)
default_schema_name sysname
create_date datetime
modify_date datetime
owning_principal_id int
sid varbinary(85)
is_fixed_role bit
authentication_type int
authentication_type_desc nvarchar(60)
default_language_name sysname
default_language_lcid int
allow_encrypted_value_modifications bit
""", base=CAT, read="01aa880b1f1f11e9a433bce5c2a689d53ea3314a")
obj("sys.database_permissions", "catalog", "sys-database-permissions-transact-sql", "database", """
class tinyint
class_desc nvarchar(60)
major_id int
minor_id int
grantee_principal_id int
grantor_principal_id int
type char(4)
permission_name nvarchar(128)
state char(1)
state_desc nvarchar(60)
""", base=CAT, read="0fe212fae4faf671610b0b7ba39758e8e1f2cd2e")
objects = """
name sysname
object_id int
principal_id int
schema_id int
parent_object_id int
type char(2)
type_desc nvarchar(60)
create_date datetime
modify_date datetime ; also changes on index create/alter and some DDL
is_ms_shipped bit
is_published bit
is_schema_published bit
"""
obj("sys.objects", "catalog", "sys-objects-transact-sql", "database", objects, base=CAT,
    read="00e01244edabb266fbdde9727001a4f3d2272fd4")
obj("sys.tables", "catalog", "sys-tables-transact-sql", "database", objects + """
lob_data_space_id int
filestream_data_space_id int
max_column_id_used int
lock_on_bulk_load bit
uses_ansi_nulls bit
is_replicated bit
has_replication_filter bit
is_merge_published bit
is_sync_tran_subscribed bit
has_unchecked_assembly_data bit
text_in_row_limit int
large_value_types_out_of_row bit
is_tracked_by_cdc bit
lock_escalation tinyint
lock_escalation_desc nvarchar(60)
is_filetable bit
is_memory_optimized bit
durability tinyint
durability_desc nvarchar(60)
temporal_type tinyint
temporal_type_desc nvarchar(60)
history_table_id int
is_remote_data_archive_enabled bit
is_external bit
history_retention_period int 2017 ; the read copy (067d6a0) says Azure SQL Database only; 2017 recalled
history_retention_period_unit int 2017 ; as history_retention_period
history_retention_period_unit_desc nvarchar(10) 2017 ; as history_retention_period
is_node bit 2017
is_edge bit 2017
data_retention_period int 2022 ; recalled: not in the read copy
data_retention_period_unit int 2022 ; recalled
data_retention_period_unit_desc nvarchar(10) 2022 ; recalled
ledger_type tinyint 2022 ; recalled
ledger_type_desc nvarchar(60) 2022 ; recalled
ledger_view_id int 2022 ; recalled
is_dropped_ledger_table bit 2022 ; recalled
""", base=CAT, read="067d6a0d6f3494babdbf5882648932a48cb0253b", note="Inherits the columns of sys.objects.")
obj("sys.schemas", "catalog", "schemas-catalog-views-sys-schemas", "database", """
name sysname
schema_id int
principal_id int
""", base=CAT, read="0012fba8a0bfa66945bf77c1329dde07e9e582e3")
obj("sys.partitions", "catalog", "sys-partitions-transact-sql", "database", """
partition_id bigint
object_id int
index_id int
partition_number int
hobt_id bigint
rows bigint ; approximate
filestream_filegroup_id smallint
data_compression tinyint
data_compression_desc nvarchar(60)
xml_compression bit 2022 ; recalled: not in the read copy
xml_compression_desc varchar(3) 2022 ; recalled: not in the read copy
""", base=CAT, read="0012fba8a0bfa66945bf77c1329dde07e9e582e3")
columns = """
object_id int
name sysname
column_id int
system_type_id tinyint
user_type_id int
max_length smallint ; bytes, -1 = max
precision tinyint
scale tinyint
collation_name sysname
is_nullable bit
is_ansi_padded bit
is_rowguidcol bit
is_identity bit
is_computed bit
is_filestream bit
is_replicated bit
is_non_sql_subscribed bit
is_merge_published bit
is_dts_replicated bit
is_xml_document bit
xml_collection_id int
default_object_id int
rule_object_id int
is_sparse bit
is_column_set bit
generated_always_type tinyint
generated_always_type_desc nvarchar(60)
encryption_type int
encryption_type_desc nvarchar(64)
encryption_algorithm_name sysname
column_encryption_key_id int
column_encryption_key_database_name sysname
is_hidden bit
is_masked bit
graph_type int 2017 ; recalled: not in the read copy (067d6a0)
graph_type_desc nvarchar(60) 2017 ; recalled
is_data_deletion_filter_column bit 2022 ; recalled
ledger_view_column_type int 2022 ; recalled
ledger_view_column_type_desc nvarchar(60) 2022 ; recalled
is_dropped_ledger_column bit 2022 ; recalled
"""
obj("sys.columns", "catalog", "sys-columns-transact-sql", "database", columns, base=CAT,
    read="067d6a0d6f3494babdbf5882648932a48cb0253b")
obj("sys.types", "catalog", "sys-types-transact-sql", "database", """
name sysname
system_type_id tinyint
user_type_id int
schema_id int
principal_id int
max_length smallint
precision tinyint
scale tinyint
collation_name sysname
is_nullable bit
is_user_defined bit
is_assembly_type bit
default_object_id int
rule_object_id int
is_table_type bit
""", base=CAT, read="029873b7fed8f9feab8c605110db59bcb8b54bb4")
obj("sys.indexes", "catalog", "sys-indexes-transact-sql", "database", """
object_id int
name sysname
index_id int
type tinyint
type_desc nvarchar(60)
is_unique bit
data_space_id int
ignore_dup_key bit
is_primary_key bit
is_unique_constraint bit
fill_factor tinyint
is_padded bit
is_disabled bit
is_hypothetical bit
is_ignored_in_optimization bit 2017 ; recalled: not in the stored copy; documented 2017+ (to re-verify)
allow_row_locks bit
allow_page_locks bit
has_filter bit
filter_definition nvarchar(max)
compression_delay int ; recalled: 2016+ (columnstore)
suppress_dup_key_messages bit 2017 ; recalled
auto_created bit 2019 ; stored copy lists it (automatic tuning); recalled: 2019+
optimize_for_sequential_key bit 2019
""", base=CAT, read="01aa880b1f1f11e9a433bce5c2a689d53ea3314a")
obj("sys.index_columns", "catalog", "sys-index-columns-transact-sql", "database", """
object_id int
index_id int
index_column_id int
column_id int
key_ordinal tinyint ; 0 = INCLUDE or columnstore column
partition_ordinal tinyint
is_descending_key bit
is_included_column bit
column_store_order_ordinal tinyint 2022 ; the read copy says Azure SQL Data Warehouse (preview) only; 2022 recalled
""", base=CAT, read="02d7f50dea000c65eb707d4dacd21836e2e61fc8")
obj("sys.foreign_keys", "catalog", "sys-foreign-keys-transact-sql", "database", objects + """
referenced_object_id int
key_index_id int
is_disabled bit
is_not_for_replication bit
is_not_trusted bit
delete_referential_action tinyint
delete_referential_action_desc nvarchar(60)
update_referential_action tinyint
update_referential_action_desc nvarchar(60)
is_system_named bit
""", base=CAT, read="0012fba8a0bfa66945bf77c1329dde07e9e582e3", note="Inherits the columns of sys.objects.")
obj("sys.foreign_key_columns", "catalog", "sys-foreign-key-columns-transact-sql", "database", """
constraint_object_id int
constraint_column_id int
parent_object_id int
parent_column_id int
referenced_object_id int
referenced_column_id int
""", base=CAT, read="0012fba8a0bfa66945bf77c1329dde07e9e582e3")
obj("sys.stats", "catalog", "sys-stats-transact-sql", "database", """
object_id int
name sysname
stats_id int
auto_created bit
user_created bit
no_recompute bit
has_filter bit
filter_definition nvarchar(max)
is_temporary bit
is_incremental bit
has_persisted_sample bit 2019 ; recalled (2016 SP1 CU4 per some revisions; to re-verify)
stats_generation_method int 2019 ; recalled
stats_generation_method_desc varchar(255) 2019 ; recalled
auto_drop bit 2022 ; recalled
""", base=CAT, read="0012fba8a0bfa66945bf77c1329dde07e9e582e3")

bs_cols = """
backup_set_id int
backup_set_uuid uniqueidentifier
media_set_id int
first_family_number tinyint
first_media_number smallint
last_family_number tinyint
last_media_number smallint
catalog_family_number tinyint
catalog_media_number smallint
position int
expiration_date datetime
software_vendor_id int
name nvarchar(128)
description nvarchar(255)
user_name nvarchar(128)
software_major_version tinyint
software_minor_version tinyint
software_build_version smallint
time_zone smallint
mtf_minor_version tinyint
first_lsn numeric(25,0)
last_lsn numeric(25,0)
checkpoint_lsn numeric(25,0)
database_backup_lsn numeric(25,0)
database_creation_date datetime
backup_start_date datetime
backup_finish_date datetime ; the only useful index of an unpurged msdb
type char(1) ; D full, I diff, L log, F file, G diff file, P partial, Q diff partial
sort_order smallint
code_page smallint
compatibility_level tinyint
database_version int
backup_size numeric(20,0)
database_name nvarchar(128) ; on MI can be the physical GUID name
server_name nvarchar(128)
machine_name nvarchar(128)
flags int
unicode_locale int
unicode_compare_style int
collation_name nvarchar(128)
is_password_protected bit
recovery_model nvarchar(60)
has_bulk_logged_data bit
is_snapshot bit ; VSS / VM snapshot backups
is_readonly bit
is_single_user bit
has_backup_checksums bit
is_damaged bit
begins_log_chain bit
has_incomplete_metadata bit
is_force_offline bit
is_copy_only bit
first_recovery_fork_guid uniqueidentifier
last_recovery_fork_guid uniqueidentifier
fork_point_lsn numeric(25,0)
database_guid uniqueidentifier
family_guid uniqueidentifier
differential_base_lsn numeric(25,0)
differential_base_guid uniqueidentifier
compressed_backup_size numeric(20,0)
key_algorithm nvarchar(32)
encryptor_thumbprint varbinary(20)
encryptor_type nvarchar(32)
last_valid_restore_time datetime 2022
compression_algorithm nvarchar(32) 2022
"""
obj("msdb.dbo.backupset", "msdb_table", "backupset-transact-sql", "server", bs_cols, base=TAB,
    read="0568b49ce7054efd1b7cb1fd14a0a5b13359fda1",
    mi="Shows only user-initiated COPY_ONLY backups; the service's automatic backups are not in msdb.")
obj("msdb.dbo.backupmediafamily", "msdb_table", "backupmediafamily-transact-sql", "server", """
media_set_id int
family_sequence_number tinyint
media_family_id uniqueidentifier
media_count int
logical_device_name nvarchar(128)
physical_device_name nvarchar(260) ; 'NUL' for backups to nowhere; '{GUID}' for VDI/VSS
device_type tinyint ; 2 disk, 5 tape, 7 virtual device, 9 Azure Storage (recalled), 105 permanent device
physical_block_size int
mirror tinyint
""", base=TAB, read="0b1ee32ba0c0430e575382d68cf0b63409d709d1")
obj("msdb.dbo.restorehistory", "msdb_table", "restorehistory-transact-sql", "server", """
restore_history_id int
restore_date datetime
destination_database_name nvarchar(128)
user_name nvarchar(128)
backup_set_id int
restore_type char(1) ; D database, F file, G filegroup, I differential, L log, V verifyonly
replace bit
recovery bit
restart bit
stop_at datetime
device_count tinyint
stop_at_mark_name nvarchar(128)
stop_before bit
""", base=TAB, read="0b1ee32ba0c0430e575382d68cf0b63409d709d1")
obj("sys.server_resource_stats", "dmv", "sys-server-resource-stats-azure-sql-database", "server", """
start_time datetime2 mi
end_time datetime mi
resource_type nvarchar(128) mi
resource_name nvarchar(128) mi
sku nvarchar(128) mi
hardware_generation nvarchar(128) mi
virtual_core_count int mi
avg_cpu_percent decimal(5,2) mi
reserved_storage_mb bigint mi ; the instance's storage quota
storage_space_used_mb decimal(18,2) mi
io_request bigint mi
io_bytes_read bigint mi
io_bytes_written bigint mi
""", note="Azure SQL Managed Instance only (in master, 15-second rows kept ~14 days). Read in sql-docs "
          "(system-catalog-views/sys-server-resource-stats-azure-sql-database.md): end_time is datetime, "
          "the I/O count io_request.",
    mi="Exists only here.", base=CAT, read="07a65d0d50f4372d4a4af019b733c7b04ad04091")

# Issue 19 (capacity.identity_exhaustion, integrity.disabled_triggers): read in sql-docs like the rest.
obj("sys.identity_columns", "catalog", "sys-identity-columns-transact-sql", "database", columns + """
seed_value sql_variant
increment_value sql_variant
last_value sql_variant ; NULL until the first row is inserted
is_not_for_replication bit
""", base=CAT, read="0012fba8a0bfa66945bf77c1329dde07e9e582e3",
    note="Inherits every column of sys.columns (the documentation says so), plus the four listed last.")
obj("sys.triggers", "catalog", "sys-triggers-transact-sql", "database", """
name sysname
object_id int
parent_class tinyint ; 0 = database (DDL), 1 = object or column (DML)
parent_class_desc nvarchar(60)
parent_id int
type char(2)
type_desc nvarchar(60)
create_date datetime
modify_date datetime
is_ms_shipped bit
is_disabled bit
is_not_for_replication bit
is_instead_of_trigger bit
""", base=CAT, read="04308e132c589683e318666d076c9bf727c2fa66")

FUNCTIONS = {
    "SERVERPROPERTY": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/serverproperty-transact-sql",
                       "returns": "sql_variant",
                       "properties": {"ProductVersion": "2016", "Edition": "2016", "EngineEdition": "2016 (8 = Managed Instance)",
                                      "IsHadrEnabled": "2016", "IsIntegratedSecurityOnly": "2016", "ServerName": "2016",
                                      "MachineName": "2016", "ProductMajorVersion": "2016", "ProductUpdateLevel": "2016",
                                      "IsClustered": "2016", "InstanceDefaultDataPath": "2016",
                                      "IsTempDbMetadataMemoryOptimized": "2019"}},
    "DATABASEPROPERTYEX": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/databasepropertyex-transact-sql",
                           "returns": "sql_variant",
                           "properties": {"Status": "2016", "Updateability": "2016 (READ_ONLY / READ_WRITE)",
                                          "UserAccess": "2016", "Recovery": "2016", "IsAutoClose": "2016"}},
    "HAS_DBACCESS": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/has-dbaccess-transact-sql",
                     "returns": "int (1, 0, NULL for an invalid name)", "since": "2016",
                     "note": "1 = the login has access to the database, 0 = no access, NULL = invalid name; not a state test: combine with sys.databases.state = 0"},
    "DB_NAME": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/db-name-transact-sql", "returns": "nvarchar(128)", "since": "2016"},
    "DB_ID": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/db-id-transact-sql", "returns": "int", "since": "2016"},
    "SUSER_SNAME": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/suser-sname-transact-sql", "returns": "nvarchar(128)", "since": "2016"},
    "IS_SRVROLEMEMBER": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/is-srvrolemember-transact-sql", "returns": "int", "since": "2016"},
    "PWDCOMPARE": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/pwdcompare-transact-sql", "returns": "int", "since": "2016"},
    "DATEDIFF": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/datediff-transact-sql", "returns": "int",
                 "since": "2016", "note": "error 535 when the result overflows int (seconds: ~68 years, e.g. from 1900-01-01)"},
    "DATEDIFF_BIG": {"doc": "https://learn.microsoft.com/sql/t-sql/functions/datediff-big-transact-sql", "returns": "bigint", "since": "2016"},
    "sys.fn_hadr_backup_is_preferred_replica": {
        "doc": "https://learn.microsoft.com/sql/relational-databases/system-functions/sys-fn-hadr-backup-is-preferred-replica-transact-sql",
        "returns": "bit", "since": "2016", "arguments": ["dbname sysname"],
        "note": "1 on the preferred backup replica (recalled: also 1 for a database in no AG); error 41005 on clusterless AGs before 2017 CU17; 0 everywhere when @@SERVERNAME case differs from the replica name (issue 16 item 9)"},
}

Path(__file__).with_name("documented_schema.json").write_text(json.dumps({
    "source_note": ("Columns of every system view, DMV, DMF, catalog view and msdb table l4agent's T-SQL reads, "
                    "transcribed from Microsoft's documentation (learn.microsoft.com; markdown in MicrosoftDocs/sql-docs). "
                    "'since' is the first SQL Server version that has the column: 2016 (floor, RTM), 2016SP1, 2016SP2, "
                    "2017, 2019, 2022, 2025; 'azure' = Azure SQL Database/Synapse only; 'mi' = Managed Instance only. "
                    "provenance.read_commit = the sql-docs commit whose markdown was read for this object; objects "
                    "without it were written from the current learn page as recalled and need one re-read. The stored "
                    "sql-docs copies date from 2017-2022, so columns added later are marked 'recalled' in their note."),
    "floor": "2016",
    "version_order": ["2016", "2016SP1", "2016SP2", "2017", "2019", "2022", "2025", "azure", "mi"],
    "objects": OBJECTS,
    "functions": FUNCTIONS,
}, indent=1, sort_keys=False) + "\n")
print(len(OBJECTS), "objects", sum(len(o["columns"]) for o in OBJECTS.values()), "columns")
