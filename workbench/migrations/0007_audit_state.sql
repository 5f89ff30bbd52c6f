-- The audit log records who ran the process (the OS account, from its uid), the digests of the
-- governed rows each change wrote (state_json), and an optional HMAC of the entry's hash under a
-- key kept outside the workspace (mac). See workbench/audit.py.
alter table audit_log add column if not exists os_account text;
alter table audit_log add column if not exists state_json text;
alter table audit_log add column if not exists mac text;
