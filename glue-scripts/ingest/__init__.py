"""The batch extract job's steps, importable without AWS Glue so they run on local Spark too."""
