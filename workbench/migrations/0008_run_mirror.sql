-- The MLflow mirror of a finished run, logged after the run is recorded (by the training
-- process, or by a detached background process for the command line):
--   mlflow_state  'pending' until the MLflow run is complete, then 'mirrored'; 'failed' when
--                 the last attempt failed (mlflow_error says why); `workbench mlflow sync`
--                 completes pending and failed ones. Null: no mirror was asked for.
-- Values are checked in the code: DuckDB cannot add a check constraint to a table.
alter table runs add column if not exists mlflow_state text;
alter table runs add column if not exists mlflow_error text;
update runs set mlflow_state = 'mirrored' where mlflow_run_id is not null;
