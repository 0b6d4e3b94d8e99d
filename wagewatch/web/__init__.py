"""The officer's page (`wagewatch serve`): server-rendered, Chinese, reached from the link in an alert."""
