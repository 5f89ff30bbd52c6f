"""CI/CD for users' projects: workflow templates, the pipelines' steps, reports."""
