-- Runs record the process that trains them (pid, host, the process's start time in clock ticks
-- since boot, read from /proc where there is one), so a run whose process died without
-- recording an end (kill -9, a power cut) is shown as interrupted instead of running forever.
alter table runs add column if not exists pid integer;
alter table runs add column if not exists host text;
alter table runs add column if not exists pid_started bigint;
